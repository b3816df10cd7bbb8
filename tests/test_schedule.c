/*
 * test_schedule.c - the overlapped schedule writes the same margins, verdicts
 * and answers as the sequential one (greedy, one thread), for 1, 2 and 5
 * segments, with one question and with two at once.
 *
 * Margins riding in a prefill micro-batch are computed in larger batches than
 * alone, so a different rounding could in principle flip a greedy choice; on
 * these models and llama.cpp's CPU kernels the texts match exactly, and the
 * test holds them to that.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tiny.h"

#include "barges.h"
#include "results.h"

#include <stdio.h>

enum { SEGMENT_TOKENS = 64 };

static void run(wim_schedule schedule, const char *doc, const char *const *queries, int nq,
                results *r)
{
    wim_options o;
    wim_options_default(&o);
    o.schedule = schedule;
    o.n_threads = 1;
    o.n_batch = 16; /* many micro-batches per segment, so margins ride */
    o.segment_tokens = SEGMENT_TOKENS;
    o.max_margin_tokens = 20;
    o.max_answer_tokens = 10;
    char err[256];
    wim_session *s = wim_session_new(model, &o, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(wim_session_run_many(s, doc, strlen(doc), queries, nq, collect, r), 0);
    wim_session_free(s);
}

static void compare(int segments, int nq)
{
    static const char *const queries[] = {"Where did barge 3 go?", "How many sacks in all?"};
    char *doc = barges_document(segments, SEGMENT_TOKENS);
    results seq = {0}, ovl = {0};
    run(WIM_SCHEDULE_SEQUENTIAL, doc, queries, nq, &seq);
    run(WIM_SCHEDULE_OVERLAP, doc, queries, nq, &ovl);
    assert_int_equal(seq.n_segments, segments);
    assert_int_equal(seq.n_margins, segments * nq);
    assert_same_results(&seq, &ovl);
    results_free(&seq);
    results_free(&ovl);
    free(doc);
}

static void test_one_segment(void **state)
{
    (void)state;
    compare(1, 1);
}

static void test_two_segments(void **state)
{
    (void)state;
    compare(2, 1);
}

static void test_five_segments(void **state)
{
    (void)state;
    compare(5, 1);
}

static void test_two_questions(void **state)
{
    (void)state;
    compare(2, 2);
    compare(5, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_segment),
        cmocka_unit_test(test_two_segments),
        cmocka_unit_test(test_five_segments),
        cmocka_unit_test(test_two_questions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
