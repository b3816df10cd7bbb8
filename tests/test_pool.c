/*
 * test_pool.c - sessions in a pool share its two contexts: readings run at
 * the same time in threads of their own write what each writes alone (greedy,
 * one thread), whichever of their micro-batches were decoded together, and
 * with drafts checked in them as without; a slot
 * is taken and given back; a reading larger than a slot, a session beyond the
 * slots and saving a pooled document are refused with a reason.
 *
 * Whether two readings' steps were merged depends on timing, so the test does
 * not assert it; bench and the server's load test print how often they were.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tiny.h"

#include "barges.h"
#include "results.h"

#include <pthread.h>
#include <stdio.h>

enum { SEGMENT_TOKENS = 64 };

static wim_options options(wim_schedule schedule)
{
    wim_options o;
    wim_options_default(&o);
    o.schedule = schedule;
    o.n_threads = 1;
    o.n_batch = 16; /* many steps, so the readings' steps meet */
    o.segment_tokens = SEGMENT_TOKENS;
    o.max_margin_tokens = 12;
    o.max_answer_tokens = 8;
    return o;
}

/* One reading: its document, question and options, and what it wrote. */
typedef struct reading {
    char *doc;
    const char *query;
    wim_options o;
    wim_session *s;
    int rc;
    results r;
} reading;

static void *run_reading(void *arg)
{
    reading *g = arg;
    g->rc = wim_session_run(g->s, g->doc, strlen(g->doc), g->query, collect, &g->r);
    return NULL;
}

/* The reading alone, in a session of its own, without speculative decoding. */
static void run_alone(reading *g, results *r)
{
    char err[256];
    wim_options o = g->o;
    o.draft_max = 0;
    wim_session *s = wim_session_new(model, &o, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(wim_session_run(s, g->doc, strlen(g->doc), g->query, collect, r), 0);
    wim_session_free(s);
}

static wim_pool *new_pool(int n_slots, int n_ctx)
{
    wim_options o = options(WIM_SCHEDULE_SEQUENTIAL);
    char err[256];
    wim_pool *p = wim_pool_new(model, &o, n_slots, n_ctx, err, sizeof err);
    if (!p) fprintf(stderr, "%s\n", err);
    assert_non_null(p);
    return p;
}

static void test_readings_together_write_what_they_write_alone(void **state)
{
    (void)state;
    enum { N = 3 };
    reading g[N] = {
        {.doc = barges_document(3, SEGMENT_TOKENS),
         .query = "Where did barge 4 go?",
         .o = options(WIM_SCHEDULE_OVERLAP)},
        {.doc = barges_document(2, SEGMENT_TOKENS),
         .query = "How many sacks in all?",
         .o = options(WIM_SCHEDULE_SEQUENTIAL)},
        {.doc = barges_document(1, SEGMENT_TOKENS),
         .query = "Which mill?",
         .o = options(WIM_SCHEDULE_SEQUENTIAL)},
    };
    g[2].o.mode = WIM_MODE_RAG;
    g[0].o.draft_max = 4; /* drafts checked in the shared steps write what plain decoding writes */
    wim_pool *p = new_pool(N, 0);
    pthread_t t[N];
    char err[256];
    for (int i = 0; i < N; i++) {
        g[i].s = wim_session_new_in_pool(p, &g[i].o, err, sizeof err);
        assert_non_null(g[i].s);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_create(&t[i], NULL, run_reading, &g[i]), 0);
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);

    wim_pool_stats st;
    wim_pool_get_stats(p, &st);
    assert_true(st.rounds > 0);
    assert_true(st.tokens >= st.rounds);
    fprintf(stderr, "pool: %ld steps, %ld of them merged, %ld tokens\n", st.rounds,
            st.merged_rounds, st.tokens);
    for (int i = 0; i < N; i++) {
        assert_int_equal(g[i].rc, 0);
        results alone = {0};
        run_alone(&g[i], &alone);
        assert_same_results(&alone, &g[i].r);
        results_free(&alone);
        results_free(&g[i].r);
        wim_session_free(g[i].s);
        free(g[i].doc);
    }
    wim_pool_free(p);
}

static void test_a_second_reading_in_the_slot_writes_the_same(void **state)
{
    (void)state;
    reading g = {.doc = barges_document(2, SEGMENT_TOKENS),
                 .query = "Where did barge 1 go?",
                 .o = options(WIM_SCHEDULE_OVERLAP)};
    wim_pool *p = new_pool(2, 0);
    char err[256];
    g.s = wim_session_new_in_pool(p, &g.o, err, sizeof err);
    assert_non_null(g.s);
    run_reading(&g);
    assert_int_equal(g.rc, 0);
    results first = g.r;
    memset(&g.r, 0, sizeof g.r);
    run_reading(&g);
    assert_int_equal(g.rc, 0);
    assert_same_results(&first, &g.r);
    results_free(&first);
    results_free(&g.r);
    wim_session_free(g.s);
    wim_pool_free(p);
    free(g.doc);
}

static void test_slots_are_taken_and_given_back(void **state)
{
    (void)state;
    wim_pool *p = new_pool(1, 0);
    wim_options o = options(WIM_SCHEDULE_SEQUENTIAL);
    char err[256] = "";
    wim_session *a = wim_session_new_in_pool(p, &o, err, sizeof err);
    assert_non_null(a);
    assert_null(wim_session_new_in_pool(p, &o, err, sizeof err));
    assert_string_equal(err, "all 1 slots of the pool are taken");
    wim_session_free(a);
    wim_session *b = wim_session_new_in_pool(p, &o, err, sizeof err);
    assert_non_null(b);
    wim_session_free(b);
    wim_pool_free(p);
}

/* The window a reading was read in (DONE's), into *user. */
static int window_of(const wim_event *ev, void *user)
{
    if (ev->type == WIM_EVENT_DONE) *(int *)user = ev->stats->n_window;
    return WIM_CONTINUE;
}

static void test_refusals(void **state)
{
    (void)state;
    char err[256] = "";
    wim_options o = options(WIM_SCHEDULE_SEQUENTIAL);
    assert_null(wim_pool_new(model, &o, 0, 0, err, sizeof err));
    assert_string_equal(err, "a pool has 1 to 128 slots, not 0");
    assert_null(wim_pool_new(model, &o, 129, 0, err, sizeof err));
    assert_string_equal(err, "a pool has 1 to 128 slots, not 129");

    /* 1024 cells for two readings: 512 each, less than five segments need;
     * read in a window of the slot's share, or refused with no window */
    wim_pool *p = new_pool(2, 1024);
    char *doc = barges_document(5, SEGMENT_TOKENS);
    o.window = WIM_WINDOW_OFF;
    wim_session *s = wim_session_new_in_pool(p, &o, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(wim_session_run(s, doc, strlen(doc), "Which mill?", NULL, NULL), -1);
    assert_non_null(strstr(wim_session_error(s), "more than the context limit of 512 tokens"));
    wim_session_free(s);
    o.window = WIM_WINDOW_AUTO;
    s = wim_session_new_in_pool(p, &o, err, sizeof err);
    assert_non_null(s);
    int window = 0;
    assert_int_equal(wim_session_run(s, doc, strlen(doc), "Which mill?", window_of, &window), 0);
    assert_true(window > 0 && window < 512);
    free(doc);

    doc = barges_document(1, SEGMENT_TOKENS);
    assert_int_equal(wim_session_run(s, doc, strlen(doc), "Which mill?", NULL, NULL), 0);
    assert_int_equal(wim_session_save_doc(s, "/tmp/wim-test-pool.wimdoc"), -1);
    assert_string_equal(wim_session_error(s), "a session in a pool cannot save documents");
    assert_int_equal(wim_session_load_doc(s, "/tmp/wim-test-pool.wimdoc"), -1);
    assert_string_equal(wim_session_error(s), "a session in a pool cannot load documents");
    free(doc);
    wim_session_free(s);
    wim_pool_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readings_together_write_what_they_write_alone),
        cmocka_unit_test(test_a_second_reading_in_the_slot_writes_the_same),
        cmocka_unit_test(test_slots_are_taken_and_given_back),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
