/*
 * test_cache.c - writing a margin leaves the KV cache as if it never happened:
 * the logits after the next segment match a run that wrote no margin.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static wim_model *model;

static int setup(void **state)
{
    (void)state;
    char err[512];
    model = wim_model_load(WIM_TEST_MODELS "/tiny-qwen2.gguf", NULL, err, sizeof err);
    if (!model) fprintf(stderr, "%s\n", err);
    return model ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    wim_model_free(model);
    return 0;
}

static wim_session *new_session(void)
{
    wim_options o;
    wim_options_default(&o);
    o.n_threads = 1;
    o.n_batch = 64; /* several micro-batches per segment */
    o.max_margin_tokens = 24;
    char err[256];
    wim_session *s = wim_session_new(model, &o, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(wim_session_reserve(s, 2048, 0), 0);
    return s;
}

static void tokens(wim_tokens *t, const char *text)
{
    assert_int_equal(wim_tokens_add_text(model, t, text, strlen(text), false, false), 0);
}

static const char *const segments[] = {
    "The harbour master logged forty ships in March, most of them carrying salt and timber "
    "from the northern coast. Two were turned away for want of papers. ",
    "In April the breakwater was repaired with stone from the quarry at Hollin, and the tolls "
    "rose by a tenth to pay for it. The keeper of the light asked for a second lamp. ",
    "By May the fishing fleet had returned, and the market sold herring at four coins a crate, "
    "the lowest price in a decade, much to the merchants' dismay. ",
};
enum { N_SEGMENTS = 3 };

/* Logits after reading every segment, writing a margin after each but the
 * last when with_margins. */
static float *read_all(wim_session *s, bool with_margins)
{
    llama_memory_t mem = llama_get_memory(s->ctx);
    llama_memory_clear(mem, true);
    wim_tokens prompt = {0}, seg = {0};
    tokens(&prompt, "\n\nWrite down what the text says about the lighthouse.");
    llama_pos n_past = 0;
    for (int i = 0; i < N_SEGMENTS; i++) {
        seg.n = 0;
        tokens(&seg, segments[i]);
        bool last = i == N_SEGMENTS - 1;
        assert_int_equal(wim_decode(s, s->ctx, seg.v, seg.n, WIM_SEQ_DOC, n_past, last, -1), 0);
        n_past += seg.n;
        if (!with_margins || last) continue;
        wim_strbuf margin = {0};
        int n = wim_margin_in_fork(s, &prompt, n_past, false, &margin);
        assert_true(n > 0); /* a margin really was written into the cache */
        assert_int_equal(llama_memory_seq_pos_max(mem, WIM_SEQ_MARGIN), -1);
        assert_int_equal(llama_memory_seq_pos_max(mem, WIM_SEQ_DOC), n_past - 1);
        wim_strbuf_free(&margin);
    }
    int n_vocab = llama_vocab_n_tokens(model->vocab);
    float *logits = malloc((size_t)n_vocab * sizeof *logits);
    memcpy(logits, llama_get_logits_ith(s->ctx, -1), (size_t)n_vocab * sizeof *logits);
    wim_tokens_free(&prompt);
    wim_tokens_free(&seg);
    return logits;
}

static void test_margin_leaves_no_trace(void **state)
{
    (void)state;
    wim_session *s = new_session();
    float *plain = read_all(s, false);
    float *margins = read_all(s, true);
    int n_vocab = llama_vocab_n_tokens(model->vocab);
    float worst = 0;
    for (int i = 0; i < n_vocab; i++) {
        assert_true(isfinite(margins[i]));
        float d = fabsf(plain[i] - margins[i]);
        if (d > worst) worst = d;
    }
    printf("max |logit difference| = %g over %d logits\n", worst, n_vocab);
    assert_true(worst <= 1e-3f);
    free(plain);
    free(margins);
    wim_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_margin_leaves_no_trace),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
