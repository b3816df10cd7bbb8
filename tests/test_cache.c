/*
 * test_cache.c - writing margins and answers leaves the KV cache as if they
 * never happened: after a real run, sequence 0 holds exactly preamble +
 * document, no other sequence holds a cell, and the logits after a further
 * segment match a context that only ever read the document.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tiny.h"

#include "session.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char document[] =
    "The harbour master logged forty ships in March, most of them carrying salt and timber "
    "from the northern coast. Two were turned away for want of papers. In April the "
    "breakwater was repaired with stone from the quarry at Hollin, and the tolls rose by a "
    "tenth to pay for it. The keeper of the light asked for a second lamp. By May the fishing "
    "fleet had returned, and the market sold herring at four coins a crate, the lowest price "
    "in a decade. The merchants complained to the council, which did nothing. ";
static const char next_segment[] = "In June a storm closed the harbour for nine days.";

static int count_margins(const wim_event *ev, void *user)
{
    if (ev->type == WIM_EVENT_MARGIN) ++*(int *)user;
    return WIM_CONTINUE;
}

static float *copy_logits(wim_session *s)
{
    int n_vocab = llama_vocab_n_tokens(model->vocab);
    float *logits = malloc((size_t)n_vocab * sizeof *logits);
    memcpy(logits, llama_get_logits_ith(s->ctx, -1), (size_t)n_vocab * sizeof *logits);
    return logits;
}

/* Logits of next_segment read after the cache a run left behind. */
static float *after_run(wim_session *s, wim_tokens *next)
{
    int margins = 0;
    assert_int_equal(wim_session_run(s, document, strlen(document), "Who asked for a lamp?",
                                     count_margins, &margins),
                     0);
    assert_true(s->doc.n >= 3);
    assert_int_equal(margins, s->doc.n); /* margins really were written */
    llama_memory_t mem = llama_get_memory(s->ctx);
    assert_int_equal(s->doc.n_past, s->doc.pre.n + s->doc.tok.n);
    assert_int_equal(llama_memory_seq_pos_min(mem, WIM_SEQ_DOC), 0);
    assert_int_equal(llama_memory_seq_pos_max(mem, WIM_SEQ_DOC), s->doc.n_past - 1);
    for (llama_seq_id q = 1; q < WIM_MAX_SEQ; q++)
        assert_int_equal(llama_memory_seq_pos_max(mem, q), -1);
    assert_int_equal(wim_decode(s, s->ctx, next->v, next->n, WIM_SEQ_DOC, s->doc.n_past, true, -1),
                     0);
    return copy_logits(s);
}

/* The same tokens read into an empty cache, with no margin ever written. */
static float *plain_reading(wim_session *s, wim_tokens *next)
{
    wim_tokens all = {0};
    wim_tokens_add_tokens(&all, s->doc.pre.v, s->doc.pre.n);
    wim_tokens_add_tokens(&all, s->doc.tok.v, s->doc.tok.n);
    wim_tokens_add_tokens(&all, next->v, next->n);
    llama_memory_clear(llama_get_memory(s->ctx), true);
    assert_int_equal(wim_decode(s, s->ctx, all.v, all.n, WIM_SEQ_DOC, 0, true, -1), 0);
    wim_tokens_free(&all);
    return copy_logits(s);
}

static void check_schedule(wim_schedule schedule)
{
    wim_options o;
    wim_options_default(&o);
    o.schedule = schedule;
    o.n_threads = 1;
    o.n_batch = 32; /* several micro-batches per segment, for margins to ride in */
    o.segment_tokens = 40;
    o.max_margin_tokens = 16;
    o.max_answer_tokens = 8;
    char err[256];
    wim_session *s = wim_session_new(model, &o, err, sizeof err);
    assert_non_null(s);
    wim_tokens next = {0};
    wim_tokens_add_text(model, &next, next_segment, strlen(next_segment), false, false);
    float *run = after_run(s, &next);
    float *plain = plain_reading(s, &next);
    int n_vocab = llama_vocab_n_tokens(model->vocab);
    float worst = 0;
    for (int i = 0; i < n_vocab; i++) {
        assert_true(isfinite(run[i]));
        float d = fabsf(plain[i] - run[i]);
        if (d > worst) worst = d;
    }
    printf("%s: max |logit difference| = %g over %d logits\n", wim_schedule_name(schedule), worst,
           n_vocab);
    assert_true(worst <= 1e-3f);
    free(run);
    free(plain);
    wim_tokens_free(&next);
    wim_session_free(s);
}

static void test_sequential_leaves_no_trace(void **state)
{
    (void)state;
    check_schedule(WIM_SCHEDULE_SEQUENTIAL);
}

static void test_overlap_leaves_no_trace(void **state)
{
    (void)state;
    check_schedule(WIM_SCHEDULE_OVERLAP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequential_leaves_no_trace),
        cmocka_unit_test(test_overlap_leaves_no_trace),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
