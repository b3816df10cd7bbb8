/*
 * test_models.c - one made model (argv[1]), every way wim reads with it.
 *
 * CTest runs this once per architecture and weight type that wim-mkmodel
 * makes (tests/CMakeLists.txt: the matrix), so a model whose memory is
 * sliding-window or recurrent, or whose quantized weights take another
 * kernel (AMX), is read in every mode and schedule, with several questions;
 * a fork from a prefix of the document must see exactly that prefix, and a
 * stored document must write the margins a fresh reading writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine.h"
#include "results.h"

#include <math.h>
#include <stdio.h>
#include <unistd.h>

static const char *model_path;
static wim_model *model;
static char doc_path[] = "/tmp/wim-models-XXXXXX";

static const char document[] =
    "The harbour master logged forty ships in March. Two were turned away for want of papers. "
    "In April the breakwater was repaired with stone from Hollin. The tolls rose by a tenth. "
    "The keeper of the light, Mara Quill, asked for a second lamp. By May the fleet was back. "
    "Herring sold at four coins a crate. The council did nothing about the merchants. "
    "In June a storm broke the pier, and the harbour master wrote to the duke for timber. ";
static const char *const questions[] = {"Who asked for a lamp?", "What did herring cost?"};

static void options(wim_options *o)
{
    wim_options_default(o);
    o->n_threads = 1; /* greedy results compare exactly on one thread */
    o->segment_tokens = 32;
    o->max_margin_tokens = 10;
    o->max_verdict_tokens = 6;
    o->max_answer_tokens = 6;
}

static wim_session *session(const wim_options *o)
{
    char err[512];
    wim_session *s = wim_session_new(model, o, err, sizeof err);
    if (!s) fail_msg("%s: %s", model_path, err);
    return s;
}

/* A run of the document with both questions; its events in r. */
static void read_document(const wim_options *o, results *r, const char *save_to)
{
    wim_session *s = session(o);
    if (wim_session_run_many(s, document, strlen(document), questions, 2, collect, r) != 0)
        fail_msg("%s (%s): %s", model_path, wim_mode_name(o->mode), wim_session_error(s));
    if (save_to && wim_session_save_doc(s, save_to) != 0)
        fail_msg("save: %s", wim_session_error(s));
    wim_session_free(s);
}

static int setup(void **state)
{
    (void)state;
    char err[512];
    model = wim_model_load(model_path, NULL, err, sizeof err);
    if (!model) fprintf(stderr, "%s\n", err);
    int fd = mkstemp(doc_path);
    if (fd >= 0) close(fd);
    return model && fd >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    wim_model_free(model);
    unlink(doc_path);
    return 0;
}

/* ============================================================================
 * Every mode and schedule
 * ========================================================================= */

static void expect_wim(wim_classify classify, wim_schedule schedule)
{
    wim_options o;
    options(&o);
    o.classify = classify;
    o.schedule = schedule;
    results r = {0};
    read_document(&o, &r, NULL);
    assert_true(r.n_segments >= 3);
    assert_int_equal(r.n_queries, 2);
    assert_int_equal(r.n_margins, 2 * r.n_segments);
    for (int q = 0; q < 2; q++)
        for (int i = 0; i < r.n_segments; i++)
            if (classify == WIM_CLASSIFY_TWO_PASS) /* every margin got its verdict */
                assert_true(r.verdict[q][i].len > 0 || r.margin[q][i].len == 0);
    results_free(&r);
}

static void test_wim_two_pass_sequential(void **state)
{
    (void)state;
    expect_wim(WIM_CLASSIFY_TWO_PASS, WIM_SCHEDULE_SEQUENTIAL);
}

static void test_wim_two_pass_overlap(void **state)
{
    (void)state;
    expect_wim(WIM_CLASSIFY_TWO_PASS, WIM_SCHEDULE_OVERLAP);
}

static void test_wim_one_pass_overlap(void **state)
{
    (void)state;
    expect_wim(WIM_CLASSIFY_ONE_PASS, WIM_SCHEDULE_OVERLAP);
}

static void test_baselines(void **state)
{
    (void)state;
    for (wim_mode mode = WIM_MODE_LLM; mode <= WIM_MODE_RAG; mode++) {
        wim_options o;
        options(&o);
        o.mode = mode;
        results r = {0};
        read_document(&o, &r, NULL);
        assert_true(r.n_segments >= 3);
        assert_int_equal(r.n_margins, 0);
        results_free(&r);
    }
}

/* ============================================================================
 * A fork from a prefix of the document sees that prefix and nothing else
 * ========================================================================= */

static const char probe[] = " The";

/* Logits after the probe, decoded into seq from position at; a malloc'd copy. */
static float *probe_logits(wim_session *s, llama_seq_id seq, llama_pos at)
{
    wim_tokens t = {0};
    assert_int_equal(wim_tokens_add_text(model, &t, probe, strlen(probe), false, false), 0);
    if (wim_decode(s, s->ctx, t.v, t.n, seq, at, true, -1) != 0) fail_msg("%s", s->err);
    wim_tokens_free(&t);
    int n_vocab = llama_vocab_n_tokens(model->vocab);
    float *l = malloc((size_t)n_vocab * sizeof *l);
    memcpy(l, llama_get_logits_ith(s->ctx, -1), (size_t)n_vocab * sizeof *l);
    return l;
}

static float largest_difference(const float *a, const float *b)
{
    float worst = 0;
    for (int i = 0, n = llama_vocab_n_tokens(model->vocab); i < n; i++) {
        assert_true(isfinite(a[i]) && isfinite(b[i]));
        if (fabsf(a[i] - b[i]) > worst) worst = fabsf(a[i] - b[i]);
    }
    return worst;
}

/* largest |logit| of a, the scale differences are measured against. */
static float logit_scale(const float *a)
{
    float most = 0;
    for (int i = 0, n = llama_vocab_n_tokens(model->vocab); i < n; i++)
        if (fabsf(a[i]) > most) most = fabsf(a[i]);
    return most;
}

/* A stored document, loaded into a new session: a fork of its first segment
 * (wim_cache_fork, with the checkpoint where the memory needs one) gives the
 * probe the logits of a context that read the first segment alone. Where a
 * checkpoint is needed, a fork of the attention cells alone must give other
 * logits: that proves this test sees a missing or wrong checkpoint. */
static void test_fork_from_a_prefix(void **state)
{
    (void)state;
    wim_options o;
    options(&o);
    o.mode = WIM_MODE_LLM;
    results r = {0};
    read_document(&o, &r, doc_path);
    results_free(&r);
    wim_session *s = session(&o);
    if (wim_session_load_doc(s, doc_path) != 0) fail_msg("load: %s", wim_session_error(s));
    wim_doc *d = &s->doc;
    assert_true(d->n >= 3 && s->n_seq >= 3);
    llama_pos n = d->pre.n + d->tok_off[1];
    assert_int_equal(wim_cache_fork(s, 1, n), 0);
    float *forked = probe_logits(s, 1, n);
    llama_memory_seq_cp(llama_get_memory(s->ctx), WIM_SEQ_DOC, 2, 0, n);
    float *cells_only = probe_logits(s, 2, n);

    /* the preamble, then the segment: the micro-batches of the reading, so that
       quantized kernels round as they did */
    wim_cache_drop(s, s->ctx, -1);
    assert_int_equal(wim_decode(s, s->ctx, d->pre.v, d->pre.n, WIM_SEQ_DOC, 0, false, -1), 0);
    assert_int_equal(
        wim_decode(s, s->ctx, d->tok.v, d->tok_off[1], WIM_SEQ_DOC, d->pre.n, false, -1), 0);
    float *alone = probe_logits(s, WIM_SEQ_DOC, n);

    float scale = logit_scale(alone);
    float fork_error = largest_difference(forked, alone) / scale;
    float cells_error = largest_difference(cells_only, alone) / scale;
    printf("%s: fork %g, attention cells alone %g (max |logit difference| / max |logit| %g)\n",
           model_path, fork_error, cells_error, scale);
    assert_true(fork_error <= 1e-3f);
    if (wim_cache_needs_checkpoints(model)) assert_true(cells_error > 5e-2f);
    free(forked);
    free(cells_only);
    free(alone);
    wim_session_free(s);
}

/* ============================================================================
 * A stored document writes the margins of a fresh reading
 * ========================================================================= */

static void expect_stored_equals_fresh(wim_classify classify)
{
    wim_options o;
    options(&o);
    o.classify = classify;
    results fresh = {0}, loaded = {0};
    read_document(&o, &fresh, doc_path);
    wim_session *s = session(&o);
    if (wim_session_load_doc(s, doc_path) != 0) fail_msg("load: %s", wim_session_error(s));
    if (wim_session_ask(s, questions, 2, collect, &loaded) != 0)
        fail_msg("ask: %s", wim_session_error(s));
    wim_session_free(s);
    assert_same_results(&fresh, &loaded);
    results_free(&fresh);
    results_free(&loaded);
}

static void test_stored_document_two_pass(void **state)
{
    (void)state;
    expect_stored_equals_fresh(WIM_CLASSIFY_TWO_PASS);
}

static void test_stored_document_one_pass(void **state)
{
    (void)state;
    expect_stored_equals_fresh(WIM_CLASSIFY_ONE_PASS);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_models MODEL.gguf\n");
        return 2;
    }
    model_path = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wim_two_pass_sequential),
        cmocka_unit_test(test_wim_two_pass_overlap),
        cmocka_unit_test(test_wim_one_pass_overlap),
        cmocka_unit_test(test_baselines),
        cmocka_unit_test(test_fork_from_a_prefix),
        cmocka_unit_test(test_stored_document_two_pass),
        cmocka_unit_test(test_stored_document_one_pass),
    };
    return cmocka_run_group_tests_name(model_path, tests, setup, teardown);
}
