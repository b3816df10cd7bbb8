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

#include "cache.h"
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

/* Tests that compare logits of other step shapes: the kernels whose rounding
 * between shapes stays near 1e-3 of the logits' scale (with a q8_0 K cache and
 * flash attention off, the default on a CPU, it reaches 2e-2 on tiny-qwen3
 * q4_k_m), far below what a wrong row, a missing cut or a missing checkpoint
 * changes (0.25 and more). */
static void pin_rounding(wim_options *o)
{
    o->flash_attn = WIM_FLASH_ATTN_ON;
    o->cache_type_k = WIM_CACHE_F16;
}

static wim_session *session(const wim_options *o)
{
    char err[512];
    wim_session *s = wim_session_new(model, o, err, sizeof err);
    if (!s) fail_msg("%s: %s", model_path, err);
    return s;
}

/* A run of the document with both questions, its events to cb; saved to save_to if given. */
static void read_with(const wim_options *o, wim_event_fn cb, void *user, const char *save_to)
{
    wim_session *s = session(o);
    if (wim_session_run_many(s, document, strlen(document), questions, 2, cb, user) != 0)
        fail_msg("%s (%s): %s", model_path, wim_mode_name(o->mode), wim_session_error(s));
    if (save_to && wim_session_save_doc(s, save_to) != 0)
        fail_msg("save: %s", wim_session_error(s));
    wim_session_free(s);
}

/* A run of the document with both questions; its events in r. */
static void read_document(const wim_options *o, results *r, const char *save_to)
{
    read_with(o, collect, r, save_to);
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
 * Past the context
 * ========================================================================= */

typedef struct windowed {
    wim_session *s;
    results r;
    int n_windows, most_cells;
} windowed;

static int on_windowed(const wim_event *ev, void *user)
{
    windowed *w = user;
    if (ev->type == WIM_EVENT_WINDOW) w->n_windows++;
    if (ev->type == WIM_EVENT_SEGMENT) {
        llama_memory_t mem = llama_get_memory(w->s->ctx);
        llama_pos most = llama_memory_seq_pos_max(mem, WIM_SEQ_DOC) + 1;
        if (most > w->most_cells) w->most_cells = most;
    }
    return collect(ev, &w->r);
}

/* The document read in a window of one or two segments, every margin kept
 * and carried: every memory goes back to its preamble (cut, or read afresh)
 * or, shifted where it can be, lets its oldest segments go, and reads on,
 * sequence 0 never past the window, every margin written. */
static void read_in_a_window(wim_classify classify, wim_schedule schedule, bool shift)
{
    wim_options o;
    options(&o);
    windowed w = {.s = session(&o)};
    const char *q = questions[0];
    if (wim_session_run(w.s, document, strlen(document), q, collect, &w.r) != 0) /* its preamble */
        fail_msg("%s", wim_session_error(w.s));
    o.window = w.s->doc.pre.n + 40 + o.segment_tokens + 4;
    o.carry_tokens = 40;
    o.assume_relevant = true;
    o.classify = classify;
    o.schedule = schedule;
    o.window_shift = shift;
    wim_session_free(w.s);
    results_free(&w.r);
    w.s = session(&o);
    if (wim_session_run_many(w.s, document, strlen(document), questions, 2, on_windowed, &w) != 0)
        fail_msg("%s (window %d): %s", model_path, o.window, wim_session_error(w.s));
    assert_true(w.n_windows >= 1);
    assert_true(w.most_cells <= o.window);
    assert_int_equal(w.r.n_margins, 2 * w.r.n_segments);
    wim_session_free(w.s);
    results_free(&w.r);
}

static void test_reading_in_a_window(void **state)
{
    (void)state;
    read_in_a_window(WIM_CLASSIFY_TWO_PASS, WIM_SCHEDULE_SEQUENTIAL, false);
    read_in_a_window(WIM_CLASSIFY_ONE_PASS, WIM_SCHEDULE_OVERLAP, false);
    read_in_a_window(WIM_CLASSIFY_TWO_PASS, WIM_SCHEDULE_SEQUENTIAL, true);
}

/* ============================================================================
 * Attention settings left to wim
 * ========================================================================= */

static struct llama_context_params sized_params(const wim_model *m, const wim_options *o,
                                                wim_ctx_role role, uint32_t n_ctx)
{
    struct llama_context_params p = llama_context_default_params();
    p.n_ctx = n_ctx;
    wim_memory_params(m, o, role, wim_memory_free(), &p);
    return p;
}

static struct llama_context_params memory_params(const wim_model *m, const wim_options *o,
                                                 wim_ctx_role role)
{
    return sized_params(m, o, role, 512);
}

/* The context whose attention scores (n_ctx x n_ubatch x heads, f32) would take
 * share times the memory free. */
static uint32_t ctx_for_scores(const wim_model *m, double share)
{
    double per_cell = 512.0 * llama_model_n_head(m->model) * 4;
    double n = share * wim_memory_free() / per_cell;
    return n < UINT32_MAX ? (uint32_t)n : UINT32_MAX;
}

/* On a CPU the document's context gets flash attention off and a q8_0 K where
 * the key width allows (the readings above ran with it) while its attention
 * scores fit in a quarter of the memory free, the verdicts' and an
 * offloaded model's contexts llama.cpp's choice in f16; what is given is kept,
 * and a quantized V keeps flash attention possible. */
static void test_attention_settings(void **state)
{
    (void)state;
    wim_options o;
    options(&o);
    struct llama_context_params p = memory_params(model, &o, WIM_CTX_MAIN);
    assert_int_equal(p.flash_attn_type, LLAMA_FLASH_ATTN_TYPE_DISABLED);
    assert_true(p.type_k == GGML_TYPE_Q8_0 || p.type_k == GGML_TYPE_F16);
    assert_int_equal(p.type_v, GGML_TYPE_F16);
    printf("%s: the document's context keeps K in %s\n", model_path, ggml_type_name(p.type_k));
    p = memory_params(model, &o, WIM_CTX_VERDICTS);
    assert_int_equal(p.flash_attn_type, LLAMA_FLASH_ATTN_TYPE_AUTO);
    assert_int_equal(p.type_k, GGML_TYPE_F16);
    wim_model offloaded = *model;
    offloaded.on_cpu = false;
    p = memory_params(&offloaded, &o, WIM_CTX_MAIN);
    assert_int_equal(p.flash_attn_type, LLAMA_FLASH_ATTN_TYPE_AUTO);
    assert_int_equal(p.type_k, GGML_TYPE_F16);

    /* scores that would not fit easily in the memory free: flash attention, as
       llama.cpp chooses it */
    p = sized_params(model, &o, WIM_CTX_MAIN, ctx_for_scores(model, 0.05));
    assert_int_equal(p.flash_attn_type, LLAMA_FLASH_ATTN_TYPE_DISABLED);
    p = sized_params(model, &o, WIM_CTX_MAIN, ctx_for_scores(model, 2.0));
    assert_int_equal(p.flash_attn_type, LLAMA_FLASH_ATTN_TYPE_AUTO);
    assert_int_equal(p.type_k, GGML_TYPE_F16);

    o.flash_attn = WIM_FLASH_ATTN_ON;
    p = memory_params(model, &o, WIM_CTX_MAIN);
    assert_int_equal(p.flash_attn_type, LLAMA_FLASH_ATTN_TYPE_ENABLED);
    assert_int_equal(p.type_k, GGML_TYPE_F16);
    o.flash_attn = WIM_FLASH_ATTN_AUTO;
    o.cache_type_v = WIM_CACHE_Q8_0;
    p = memory_params(model, &o, WIM_CTX_MAIN);
    assert_int_equal(p.flash_attn_type, LLAMA_FLASH_ATTN_TYPE_AUTO);
    assert_int_equal(p.type_v, GGML_TYPE_Q8_0);
    o.cache_type_k = WIM_CACHE_BF16;
    o.flash_attn = WIM_FLASH_ATTN_OFF;
    assert_int_equal(memory_params(model, &o, WIM_CTX_MAIN).type_k, GGML_TYPE_BF16);
}

/* ============================================================================
 * Speculative decoding writes what plain decoding writes
 * ========================================================================= */

typedef struct counted {
    results r;
    wim_stats st; /* the done event's */
} counted;

static int collect_counted(const wim_event *ev, void *user)
{
    counted *c = user;
    if (ev->type == WIM_EVENT_DONE) c->st = *ev->stats;
    return collect(ev, &c->r);
}

static void read_counted(const wim_options *o, counted *c)
{
    read_with(o, collect_counted, c, NULL);
}

/* Greedy margins and answers are the same bytes with drafts verified as
 * without, in both schedules, both verdict passes and the llm baseline. Where
 * the memory can take drafts back, some were made, so the check saw them
 * checked; where it cannot, none. Flash attention is off: the CPU's flash
 * attention takes another kernel for a step of many tokens than for one, which
 * rounds differently (test_drafted_rows_match_single_steps bounds by how
 * much), and random weights write loops that end where two logits cross, so a
 * rounding moves the end by a token (seen on tiny-qwen3 q4_k_m). */
static void test_speculation_writes_the_same(void **state)
{
    (void)state;
    static const struct {
        wim_mode mode;
        wim_classify classify;
        wim_schedule schedule;
    } runs[] = {{WIM_MODE_WIM, WIM_CLASSIFY_TWO_PASS, WIM_SCHEDULE_SEQUENTIAL},
                {WIM_MODE_WIM, WIM_CLASSIFY_ONE_PASS, WIM_SCHEDULE_OVERLAP},
                {WIM_MODE_LLM, WIM_CLASSIFY_TWO_PASS, WIM_SCHEDULE_SEQUENTIAL}};
    int drafted = 0, accepted = 0;
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        wim_options o;
        options(&o);
        o.mode = runs[i].mode;
        o.classify = runs[i].classify;
        o.schedule = runs[i].schedule;
        o.max_margin_tokens = o.max_answer_tokens = 40;
        o.flash_attn = WIM_FLASH_ATTN_OFF;
        counted plain = {0}, drafts = {0};
        o.draft_max = 0;
        read_counted(&o, &plain);
        o.draft_max = 8;
        read_counted(&o, &drafts);
        assert_same_results(&plain.r, &drafts.r);
        assert_int_equal(plain.st.n_draft_tokens, 0);
        assert_int_equal(plain.st.n_decode_tokens, plain.st.n_decode_steps);
        assert_int_equal(drafts.st.n_decode_tokens,
                         drafts.st.n_decode_steps + drafts.st.n_draft_accepted);
        drafted += drafts.st.n_draft_tokens;
        accepted += drafts.st.n_draft_accepted;
        results_free(&plain.r);
        results_free(&drafts.r);
    }
    printf("%s: %d tokens drafted, %d accepted\n", model_path, drafted, accepted);
    if (wim_cache_can_undo(model))
        assert_true(drafted > 0);
    else
        assert_int_equal(drafted, 0);
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

typedef struct rows {
    float *v; /* [n][n_vocab] */
    int n;
} rows;

/* Every row's logits of cont decoded into seq from position at. */
static rows rows_after(wim_session *s, llama_seq_id seq, llama_pos at, const wim_tokens *cont)
{
    int n_vocab = llama_vocab_n_tokens(model->vocab);
    s->batch.n_tokens = 0;
    for (int i = 0; i < cont->n; i++)
        wim_batch_add(&s->batch, cont->v[i], at + i, seq, true);
    assert_int_equal(wim_decode_batch(s, s->ctx), 0);
    rows r = {malloc((size_t)cont->n * (size_t)n_vocab * sizeof(float)), cont->n};
    for (int i = 0; i < cont->n; i++)
        memcpy(r.v + (size_t)i * (size_t)n_vocab, llama_get_logits_ith(s->ctx, i),
               (size_t)n_vocab * sizeof(float));
    return r;
}

/* The largest difference of any row, against that row's largest logit. */
static float rows_difference(rows a, rows b)
{
    int n_vocab = llama_vocab_n_tokens(model->vocab);
    assert_int_equal(a.n, b.n);
    float worst = 0;
    for (int i = 0; i < a.n; i++) {
        const float *x = a.v + (size_t)i * (size_t)n_vocab, *y = b.v + (size_t)i * (size_t)n_vocab;
        float e = largest_difference(x, y) / logit_scale(x);
        if (e > worst) worst = e;
    }
    return worst;
}

/* ============================================================================
 * A drafted step gives each token the logits a step of its own gives it
 * ========================================================================= */

enum { PREFIX = 24, DRAFTED = 4 };

/* Logits of the batch's output row i; a malloc'd copy. */
static float *row_logits(wim_session *s, int i)
{
    int n_vocab = llama_vocab_n_tokens(model->vocab);
    float *l = malloc((size_t)n_vocab * sizeof *l);
    memcpy(l, llama_get_logits_ith(s->ctx, i), (size_t)n_vocab * sizeof *l);
    return l;
}

static void decode_one(wim_session *s, llama_token t, llama_pos pos, llama_seq_id seq)
{
    s->batch.n_tokens = 0;
    wim_batch_add(&s->batch, t, pos, seq, true);
    assert_int_equal(wim_decode_batch(s, s->ctx), 0);
}

/* How far this model's kernels round apart between step shapes on this CPU:
 * the prefix's rows decoded in one step against one step each, each in a
 * sequence of its own (seq and seq + 1). Quantized weights on CPUs with
 * repacked kernels take another path for several rows than for one, and
 * another CPU rounds otherwise, so no bound fixed on one machine holds. */
static float shape_noise(wim_session *s, const wim_tokens *t, llama_seq_id seq)
{
    wim_tokens prefix = {t->v, PREFIX, PREFIX};
    rows together = rows_after(s, seq, 0, &prefix);
    float worst = 0;
    for (int i = 0; i < PREFIX; i++) {
        decode_one(s, t->v[i], i, seq + 1);
        float *alone = row_logits(s, -1);
        float e = largest_difference(
                      alone, together.v + (size_t)i * (size_t)llama_vocab_n_tokens(model->vocab)) /
                  logit_scale(alone);
        worst = e > worst ? e : worst;
        free(alone);
    }
    free(together.v);
    return worst;
}

/* What verifying drafts rests on (jobs.c): a token decoded with the drafts
 * after it in one step gets the logits it gets alone, step by step; and once
 * rejected drafts are cut off, the sequence goes on as if they never were.
 * Both within 4 times the rounding between step shapes measured here (at
 * least 1e-3), which must stay well below what a wrong row gives: a row
 * checked against its neighbour's logits, as a verification one off would. */
static void test_drafted_rows_match_single_steps(void **state)
{
    (void)state;
    if (!wim_cache_can_undo(model)) {
        printf("%s: its memory cannot take tokens back; no drafts\n", model_path);
        return;
    }
    wim_options o;
    options(&o);
    pin_rounding(&o);
    wim_session *s = session(&o);
    assert_int_equal(wim_session_reserve(s, 256, 6, 0), 0);
    wim_tokens t = {0};
    assert_int_equal(wim_tokens_add_text(model, &t, document, strlen(document), true, false), 0);
    assert_true(t.n > PREFIX + DRAFTED + 1);
    float noise = shape_noise(s, &t, 4);
    float bound = 4 * noise > 1e-3f ? 4 * noise : 1e-3f;
    assert_int_equal(wim_decode(s, s->ctx, t.v, PREFIX, 0, 0, false, -1), 0);
    llama_memory_t mem = llama_get_memory(s->ctx);
    for (llama_seq_id q = 1; q <= 3; q++)
        llama_memory_seq_cp(mem, 0, q, -1, -1);

    float *alone[DRAFTED], *together[DRAFTED];
    for (int i = 0; i < DRAFTED; i++) {
        decode_one(s, t.v[PREFIX + i], PREFIX + i, 1);
        alone[i] = row_logits(s, -1);
    }
    s->batch.n_tokens = 0;
    for (int i = 0; i < DRAFTED; i++)
        wim_batch_add(&s->batch, t.v[PREFIX + i], PREFIX + i, 2, true);
    assert_int_equal(wim_decode_batch(s, s->ctx), 0);
    for (int i = 0; i < DRAFTED; i++)
        together[i] = row_logits(s, i);
    float worst = 0, wrong = INFINITY;
    for (int i = 0; i < DRAFTED; i++) {
        float err = largest_difference(alone[i], together[i]) / logit_scale(alone[i]);
        worst = err > worst ? err : worst;
        if (i + 1 < DRAFTED) {
            float off = largest_difference(alone[i + 1], together[i]) / logit_scale(alone[i + 1]);
            wrong = off < wrong ? off : wrong;
        }
    }
    printf("%s: drafted rows differ by %g, bound %g (4 x the step-shape noise %g, at least 1e-3), "
           "a row off %g\n",
           model_path, worst, bound, noise, wrong);
    assert_true(worst <= bound);
    assert_true(wrong > 2 * bound);

    /* the first kept, the other drafts rejected: another token follows it */
    llama_token other = t.v[PREFIX + DRAFTED];
    assert_true(wim_cache_cut(s, s->ctx, 2, PREFIX + 1));
    decode_one(s, other, PREFIX + 1, 2);
    float *after_cut = row_logits(s, -1);
    decode_one(s, t.v[PREFIX], PREFIX, 3);
    decode_one(s, other, PREFIX + 1, 3);
    float *fresh = row_logits(s, -1);
    assert_true(largest_difference(after_cut, fresh) / logit_scale(fresh) <= bound);

    for (int i = 0; i < DRAFTED; i++) {
        free(alone[i]);
        free(together[i]);
    }
    free(after_cut);
    free(fresh);
    wim_tokens_free(&t);
    wim_session_free(s);
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
    pin_rounding(&o);
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
 * A stored document holds the state a fresh reading had after each segment
 * ========================================================================= */

/* Greedy text from random weights is no oracle across CPUs: a loop ends where
 * two logits cross, and another kernel (another batch shape, another CPU's
 * path through ggml) rounds that tie the other way. So a stored document is
 * compared with a fresh reading on logits, teacher-forced: after each segment,
 * the fresh reading's own margin is decoded in a fork of the loaded document
 * and after a fresh prefill of the same prefix, and every row's logits must
 * agree within the noise of that prefill done in two other batch shapes. A
 * fork of the wrong prefix must miss by far more, or the test could not fail.
 * The reader model, whose logits are decisive, compares the text itself
 * (test_reader). */

/* seq afresh, beside the loaded document: the preamble, then the document's
 * first n tokens in decodes of chunk tokens (0: a segment a decode, as the
 * reading does). */
static void prefill(wim_session *s, llama_seq_id seq, int n, int chunk)
{
    wim_doc *d = &s->doc;
    wim_cache_drop(s, s->ctx, seq);
    assert_int_equal(wim_decode(s, s->ctx, d->pre.v, d->pre.n, seq, 0, false, -1), 0);
    for (int at = 0; at < n;) {
        int k = n - at;
        if (chunk > 0 && k > chunk) k = chunk;
        for (int i = 0; chunk == 0 && i < d->n; i++)
            if (d->tok_off[i] == at) k = d->tok_off[i + 1] - at;
        assert_int_equal(wim_decode(s, s->ctx, d->tok.v + at, k, seq, d->pre.n + at, false, -1), 0);
        at += k;
    }
}

/* The fresh reading's margin for question q after segment i, as tokens (a
 * probe where it wrote none), so that the rows cover what it wrote. */
static wim_tokens margin_tokens(const results *fresh, int q, int i)
{
    const wim_strbuf *m = &fresh->margin[q][i];
    const char *text = m->len ? wim_strbuf_str(m) : probe;
    wim_tokens t = {0};
    assert_int_equal(wim_tokens_add_text(model, &t, text, strlen(text), false, false), 0);
    if (t.n > 16) t.n = 16;
    return t;
}

static void expect_stored_state(wim_classify classify)
{
    wim_options o;
    options(&o);
    o.classify = classify;
    results fresh = {0}, loaded = {0};
    read_document(&o, &fresh, doc_path);
    wim_session *s = session(&o);
    if (wim_session_load_doc(s, doc_path) != 0) fail_msg("load: %s", wim_session_error(s));
    /* the margins from the stored document: one for every segment and question */
    if (wim_session_ask(s, questions, 2, collect, &loaded) != 0)
        fail_msg("ask: %s", wim_session_error(s));
    assert_int_equal(loaded.n_segments, fresh.n_segments);
    assert_int_equal(loaded.n_margins, fresh.n_margins);
    wim_session_free(s);

    s = session(&o);
    if (wim_session_load_doc(s, doc_path) != 0) fail_msg("load: %s", wim_session_error(s));
    wim_doc *d = &s->doc;
    assert_true(d->n >= 3 && s->n_seq >= 3);
    float worst = 0, noise = 0, wrong = INFINITY;
    for (int i = 0; i < d->n; i++) {
        wim_tokens cont = margin_tokens(&fresh, 0, i);
        llama_pos n = d->pre.n + d->tok_off[i + 1];
        rows forked[2];
        for (int k = 0; k < 2 && k <= i; k++) { /* this segment, and the one before: wrong */
            llama_pos at = d->pre.n + d->tok_off[i + 1 - k];
            assert_int_equal(wim_cache_fork(s, 1, at), 0);
            forked[k] = rows_after(s, 1, at, &cont);
            wim_cache_drop(s, s->ctx, 1);
        }
        rows shape[3];
        for (int k = 0; k < 3; k++) { /* a segment a decode; 5 tokens; all at once */
            prefill(s, 2, d->tok_off[i + 1], (int[]){0, 5, d->tok_off[i + 1]}[k]);
            shape[k] = rows_after(s, 2, n, &cont);
        }
        wim_cache_drop(s, s->ctx, 2);
        float e = rows_difference(shape[0], forked[0]);
        worst = e > worst ? e : worst;
        for (int k = 1; k < 3; k++) {
            float x = rows_difference(shape[0], shape[k]);
            noise = x > noise ? x : noise;
        }
        if (i > 0) {
            float w = rows_difference(shape[0], forked[1]);
            wrong = w < wrong ? w : wrong;
            free(forked[1].v);
        }
        free(forked[0].v);
        for (int k = 0; k < 3; k++)
            free(shape[k].v);
        wim_tokens_free(&cont);
    }
    float bound = 4 * noise > 2e-3f ? 4 * noise : 2e-3f;
    printf("%s: stored against fresh %g, bound %g (4 x the batch-shape noise %g, at least 2e-3), "
           "a segment off %g\n",
           model_path, worst, bound, noise, wrong);
    assert_true(worst <= bound);
    assert_true(wrong > 4 * bound);
    wim_session_free(s);
    results_free(&fresh);
    results_free(&loaded);
}

static void test_stored_document_two_pass(void **state)
{
    (void)state;
    expect_stored_state(WIM_CLASSIFY_TWO_PASS);
}

static void test_stored_document_one_pass(void **state)
{
    (void)state;
    expect_stored_state(WIM_CLASSIFY_ONE_PASS);
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
        cmocka_unit_test(test_reading_in_a_window),
        cmocka_unit_test(test_attention_settings),
        cmocka_unit_test(test_speculation_writes_the_same),
        cmocka_unit_test(test_fork_from_a_prefix),
        cmocka_unit_test(test_drafted_rows_match_single_steps),
        cmocka_unit_test(test_stored_document_two_pass),
        cmocka_unit_test(test_stored_document_one_pass),
    };
    return cmocka_run_group_tests_name(model_path, tests, setup, teardown);
}
