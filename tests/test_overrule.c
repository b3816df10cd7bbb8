/*
 * test_overrule.c - the person's word on margins (wim_session_overrule):
 * keeping every margin by hand answers exactly as keeping every margin by
 * option; taking the word back answers as if it was never given; and it is
 * refused where it cannot count (greedy, one thread, so answers compare exactly).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tiny.h"

#include "results.h"

#include <stdio.h>
#include <string.h>

static const char doc[] = "The pier was closed in May. The keeper moved north to Orrin. "
                          "Barges still came with salt and rye. The mill at Tessaly burned. "
                          "A new keeper arrived in June and opened the pier again. ";

/* What the callback does besides recording: at START it sets every margin to
 * at_start (unless -2); at each MARGIN it sets that margin to at_margin (unless
 * -2); at the first answer token it tries once more and keeps the refusal. */
typedef struct plan {
    results r;
    int used[MAX_SEG], n_used; /* the ANSWER event's */
    wim_session *s;
    int at_start, at_margin;
    int late_rc;
    char late_err[128];
} plan;

static int act(const wim_event *ev, void *user)
{
    plan *p = user;
    char err[128];
    collect(ev, &p->r);
    if (ev->type == WIM_EVENT_ANSWER) {
        p->n_used = ev->n_used;
        memcpy(p->used, ev->used, (size_t)ev->n_used * sizeof *ev->used);
    }
    if (ev->type == WIM_EVENT_START && p->at_start != -2)
        for (int i = 0; i < ev->n_segments; i++)
            assert_int_equal(wim_session_overrule(p->s, 0, i, p->at_start, err, sizeof err), 0);
    if (ev->type == WIM_EVENT_MARGIN && p->at_margin != -2)
        assert_int_equal(wim_session_overrule(p->s, 0, ev->segment, p->at_margin, err, sizeof err),
                         0);
    if (ev->type == WIM_EVENT_ANSWER_TOKEN && p->late_rc == 0)
        p->late_rc = wim_session_overrule(p->s, 0, 0, 1, p->late_err, sizeof p->late_err) - 1;
    return WIM_CONTINUE;
}

static void run(plan *p, bool assume_relevant)
{
    wim_options o;
    wim_options_default(&o);
    o.n_threads = 1;
    o.segment_tokens = 16;
    o.max_margin_tokens = 12;
    o.max_answer_tokens = 12;
    o.assume_relevant = assume_relevant;
    char err[256];
    p->s = wim_session_new(model, &o, err, sizeof err);
    assert_non_null(p->s);
    assert_int_equal(wim_session_run(p->s, doc, sizeof doc - 1, "Who opened the pier?", act, p), 0);
    assert_true(p->r.n_segments >= 3);
    wim_session_free(p->s);
}

static void test_keep_all_by_hand_is_keep_all_by_option(void **state)
{
    (void)state;
    plan by_option = {.at_start = -2, .at_margin = -2};
    plan by_hand = {.at_start = 1, .at_margin = -2};
    run(&by_option, true);
    run(&by_hand, false);
    assert_same_results(&by_option.r, &by_hand.r);
    assert_int_equal(by_hand.n_used, by_hand.r.n_segments); /* every margin fed the answer */
    for (int i = 0; i < by_hand.n_used; i++)
        assert_int_equal(by_hand.used[i], i);
    results_free(&by_option.r);
    results_free(&by_hand.r);
}

static void test_word_taken_back_counts_for_nothing(void **state)
{
    (void)state;
    plan plain = {.at_start = -2, .at_margin = -2};
    plan back = {.at_start = 0, .at_margin = -1};
    run(&plain, false);
    run(&back, false);
    assert_same_results(&plain.r, &back.r);
    assert_int_equal(plain.n_used, back.n_used);
    assert_memory_equal(plain.used, back.used, (size_t)plain.n_used * sizeof *plain.used);
    /* once the answer is being written, a word comes too late */
    assert_int_equal(back.late_rc, -2);
    assert_string_equal(back.late_err, "the answer is already being written");
    results_free(&plain.r);
    results_free(&back.r);
}

typedef struct attempt {
    wim_session *s;
    char err[128];
} attempt;

static void test_drop_all_by_hand(void **state)
{
    (void)state;
    plan dropped = {.at_start = -2, .at_margin = 0};
    run(&dropped, true); /* the person's word beats assume_relevant too */
    assert_int_equal(dropped.n_used, 0);
    results_free(&dropped.r);
}

static int try_in_llm(const wim_event *ev, void *user)
{
    attempt *a = user;
    if (ev->type == WIM_EVENT_START)
        assert_int_equal(wim_session_overrule(a->s, 0, 0, 1, a->err, sizeof a->err), -1);
    return WIM_CONTINUE;
}

static void test_refusals(void **state)
{
    (void)state;
    wim_options o;
    wim_options_default(&o);
    o.n_threads = 1;
    o.segment_tokens = 16;
    o.max_answer_tokens = 2;
    o.mode = WIM_MODE_LLM;
    char err[256];
    wim_session *s = wim_session_new(model, &o, err, sizeof err);
    assert_int_equal(wim_session_overrule(s, 0, 0, 1, err, sizeof err), -1); /* not in a run */
    assert_string_equal(err, "only a wim run has margins");
    attempt a = {s, ""};
    assert_int_equal(wim_session_run(s, doc, sizeof doc - 1, "Who?", try_in_llm, &a), 0);
    assert_string_equal(a.err, "only a wim run has margins");
    wim_session_free(s);
}

static int out_of_range(const wim_event *ev, void *user)
{
    wim_session *s = user;
    char err[128];
    if (ev->type != WIM_EVENT_START) return WIM_ABORT;
    assert_int_equal(wim_session_overrule(s, 0, ev->n_segments, 1, err, sizeof err), -1);
    assert_string_equal(err, "no such margin");
    assert_int_equal(wim_session_overrule(s, 1, 0, 1, err, sizeof err), -1);
    assert_string_equal(err, "no such question");
    assert_int_equal(wim_session_overrule(s, 0, 0, 2, err, sizeof err), -1);
    assert_string_equal(err, "keep must be 1, 0 or -1");
    return WIM_ABORT;
}

static void test_out_of_range(void **state)
{
    (void)state;
    wim_options o;
    wim_options_default(&o);
    o.segment_tokens = 16;
    char err[256];
    wim_session *s = wim_session_new(model, &o, err, sizeof err);
    assert_int_equal(wim_session_run(s, doc, sizeof doc - 1, "Who?", out_of_range, s), 1);
    wim_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keep_all_by_hand_is_keep_all_by_option),
        cmocka_unit_test(test_word_taken_back_counts_for_nothing),
        cmocka_unit_test(test_drop_all_by_hand),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_out_of_range),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
