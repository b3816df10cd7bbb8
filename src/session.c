/*
 * session.c - a session's life: the two llama contexts, events, and
 * decoding a run of tokens into one sequence.
 */
#include "cache.h"
#include "pool.h"
#include "quote.h"
#include "seam.h"
#include "text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double wim_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ============================================================================
 * Session life
 * ========================================================================= */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static struct llama_sampler *make_sampler(const wim_options *o)
{
    struct llama_sampler_chain_params p = llama_sampler_chain_default_params();
    p.no_perf = true;
    struct llama_sampler *chain = llama_sampler_chain_init(p);
    if (o->temp <= 0) {
        llama_sampler_chain_add(chain, llama_sampler_init_greedy());
        return chain;
    }
    llama_sampler_chain_add(chain, llama_sampler_init_top_p(o->top_p, 1));
    llama_sampler_chain_add(chain, llama_sampler_init_temp(o->temp));
    llama_sampler_chain_add(chain, llama_sampler_init_dist(o->seed));
    return chain;
}

/* The first token of each word, as the model writes it starting a reply. */
static void first_tokens(const wim_model *m, const char *const *words, llama_token *out, int n)
{
    for (int i = 0; i < n; i++) {
        wim_tokens t = {0};
        out[i] = wim_tokens_add_text(m, &t, words[i], strlen(words[i]), false, false) == 0 && t.n
                     ? t.v[0]
                     : -1;
        wim_tokens_free(&t);
    }
}

wim_session *wim_session_new(wim_model *m, const wim_options *o, char *err, size_t errlen)
{
    if (wim_options_check(o, err, errlen) != 0) return NULL;
    wim_session *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->m = m;
    s->o = *o;
    s->o.templates_dir = s->templates_dir = dup_or_null(o->templates_dir);
    s->o.user_header = s->user_header = dup_or_null(o->user_header);
    s->o.generation_header = s->generation_header = dup_or_null(o->generation_header);
    if (s->o.n_threads == 0) s->o.n_threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    s->trace = getenv("WIM_TRACE") != NULL;
    s->test_slow_ms = wim_seam_slow_ms();
    if (wim_templates_load(&s->tpl, o->templates_dir, err, errlen) != 0 ||
        wim_chat_init(&s->chat, m->model, o->think, s->tpl.text[WIM_TPL_SYSTEM], o->user_header,
                      o->generation_header, err, errlen) != 0) {
        wim_session_free(s);
        return NULL;
    }
    s->batch = llama_batch_init(s->o.n_batch, 0, 1);
    s->smpl = make_sampler(&s->o);
    first_tokens(m, (const char *const[]){"YES", "NO"}, s->yes_no, 2);
    return s;
}

void wim_doc_free(wim_doc *d)
{
    free(d->text);
    free(d->spans);
    free(d->tok_off);
    wim_tokens_free(&d->tok);
    wim_tokens_free(&d->pre);
    wim_checkpoints_free(d->cp, d->n);
    memset(d, 0, sizeof *d);
}

void wim_session_free(wim_session *s)
{
    if (!s) return;
    /* no job outlives the run that started it (engine.c's conduct ends them) */
    if (s->pool) {
        wim_pool_leave(s);
    } else {
        if (s->ctx) llama_free(s->ctx);
        if (s->cls) llama_free(s->cls);
    }
    wim_outputs_free(&s->out[0]);
    wim_outputs_free(&s->out[1]);
    free(s->cand);
    if (s->smpl) llama_sampler_free(s->smpl);
    wim_pieces_free(s->pieces);
    if (s->batch.token) llama_batch_free(s->batch);
    wim_doc_free(&s->doc);
    wim_tokens_free(&s->reply);
    wim_tokens_free(&s->cls_cached);
    wim_templates_free(&s->tpl);
    wim_chat_free(&s->chat);
    free(s->templates_dir);
    free(s->user_header);
    free(s->generation_header);
    free(s);
}

const char *wim_session_error(const wim_session *s)
{
    return s->err;
}

const wim_options *wim_session_options(const wim_session *s)
{
    return &s->o;
}

/* ============================================================================
 * Contexts
 * ========================================================================= */

/* The width of one attention head's keys or values (which: "key_length" or
 * "value_length"): the model's own where it sets one (Qwen3, Gemma 3 and gpt-oss
 * have heads wider or narrower than n_embd / n_head), else n_embd / n_head. */
static int head_width(const wim_model *m, const char *which)
{
    char arch[64], key[128], val[32];
    if (llama_model_meta_val_str(m->model, "general.architecture", arch, sizeof arch) > 0) {
        snprintf(key, sizeof key, "%s.attention.%s", arch, which);
        if (llama_model_meta_val_str(m->model, key, val, sizeof val) > 0) return atoi(val);
    }
    int heads = llama_model_n_head(m->model);
    return heads > 0 ? llama_model_n_embd(m->model) / heads : 0;
}

/* The width of the model's attention keys, which a quantized cache's blocks must divide. */
static int key_width(const wim_model *m)
{
    return head_width(m, "key_length");
}

/* Bytes of memory free to take now (MemAvailable and free swap), 0 if unknown. */
double wim_memory_free(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[128];
    double kib = 0, v;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &v) == 1 ||
            sscanf(line, "SwapFree: %lf kB", &v) == 1)
            kib += v;
    if (f) fclose(f);
    return kib * 1024;
}

/* Without flash attention llama.cpp keeps a micro-batch's attention scores,
 * n_ctx x n_ubatch x heads in f32: about 250 MB for Qwen2.5-0.5B at 8k, 1 GB at
 * 32k. Flash attention off is as fast or faster on both CPUs measured
 * (docs/schedule.md), so it is kept off while those scores fit easily: within a
 * quarter of the memory free (or when that is unknown). */
static bool scores_fit(const wim_model *m, const struct llama_context_params *p, double have)
{
    double scores = (double)p->n_ctx * p->n_ubatch * llama_model_n_head(m->model) * 4;
    return have <= 0 || scores <= have / 4;
}

void wim_memory_params(const wim_model *m, const wim_options *o, wim_ctx_role role, double mem_free,
                       struct llama_context_params *p)
{
    static const enum ggml_type types[] = {
        GGML_TYPE_F16,  GGML_TYPE_F16,  GGML_TYPE_F32,    GGML_TYPE_BF16, GGML_TYPE_Q8_0,
        GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_IQ4_NL, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1};
    static const enum llama_flash_attn_type fa[] = {
        LLAMA_FLASH_ATTN_TYPE_AUTO, LLAMA_FLASH_ATTN_TYPE_ENABLED, LLAMA_FLASH_ATTN_TYPE_DISABLED};
    static const enum llama_rope_scaling_type rope[] = {
        LLAMA_ROPE_SCALING_TYPE_UNSPECIFIED, LLAMA_ROPE_SCALING_TYPE_NONE,
        LLAMA_ROPE_SCALING_TYPE_LINEAR, LLAMA_ROPE_SCALING_TYPE_YARN};
    p->type_k = types[o->cache_type_k];
    p->type_v = types[o->cache_type_v];
    p->flash_attn_type = fa[o->flash_attn];
    /* Auto, on a CPU, for the document's context: its kernel for one token deep
       in the cache costs 2-4x the plain path's on a Xeon, drafts of k tokens
       cost k steps on both CPUs measured, and a q8_0 K then costs a third of
       f16's; the verdicts' shallow context prefills faster with it on. A
       quantized V needs it on, and so does a context whose scores would not
       fit. */
    bool v_quantized = ggml_is_quantized(p->type_v);
    if (o->flash_attn == WIM_FLASH_ATTN_AUTO && m->on_cpu && role == WIM_CTX_MAIN && !v_quantized &&
        scores_fit(m, p, mem_free))
        p->flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    if (o->cache_type_k == WIM_CACHE_AUTO && m->on_cpu && role == WIM_CTX_MAIN &&
        p->flash_attn_type == LLAMA_FLASH_ATTN_TYPE_DISABLED &&
        key_width(m) % ggml_blck_size(GGML_TYPE_Q8_0) == 0)
        p->type_k = GGML_TYPE_Q8_0;
    p->rope_scaling_type = rope[o->rope_scaling];
    /* llama.cpp's --rope-scale N is a frequency scale of 1/N */
    if (o->rope_scale > 0) p->rope_freq_scale = 1.0f / o->rope_scale;
}

/* True, with the reason recorded as llama.cpp's last error, when the KV cache
 * of these parameters alone cannot fit in the memory free: llama.cpp would
 * allocate it page by page and fail (or be killed) many gigabytes later. A
 * lower bound, so only for plain attention on the CPU (a sliding window or a
 * recurrent state holds less; offloaded layers hold it elsewhere). */
static bool kv_too_big(const wim_model *m, const struct llama_context_params *p, double have)
{
    const struct llama_model *lm = m->model;
    if (!m->on_cpu || llama_model_is_recurrent(lm) || llama_model_is_hybrid(lm) ||
        llama_model_n_swa(lm) > 0)
        return false;
    double per_head = key_width(m) * (double)ggml_type_size(p->type_k) / ggml_blck_size(p->type_k) +
                      head_width(m, "value_length") * (double)ggml_type_size(p->type_v) /
                          ggml_blck_size(p->type_v);
    double need = (double)p->n_ctx * llama_model_n_layer(lm) * llama_model_n_head_kv(lm) * per_head;
    if (have <= 0 || need <= have) return false;
    char why[200];
    snprintf(why, sizeof why,
             "its KV cache alone would take %.1f GiB, more than the %.1f GiB of memory free: give "
             "a smaller -c",
             need / (1 << 30), have / (1 << 30));
    wim_llama_set_error(why);
    return true;
}

long long wim_round_up(long long n)
{
    enum { CTX_ROUND = 256 };
    return (n + CTX_ROUND - 1) / CTX_ROUND * CTX_ROUND;
}

/* n_batch tokens a decode, in micro-batches of o->n_batch (more only for a pool's merged steps). */
struct llama_context *wim_context_new(wim_model *m, const wim_options *o, wim_ctx_role role,
                                      int n_ctx, int n_batch, int n_seq)
{
    struct llama_context_params p = llama_context_default_params();
    p.n_ctx = (uint32_t)n_ctx;
    p.n_batch = (uint32_t)n_batch;
    int ub = o->n_ubatch && o->n_ubatch < o->n_batch ? o->n_ubatch : o->n_batch;
    p.n_ubatch = (uint32_t)ub;
    p.n_seq_max = (uint32_t)n_seq;
    /* llama.cpp keeps room for one output per sequence in every micro-batch */
    p.n_outputs_max = (uint32_t)(n_seq > n_batch ? n_seq : n_batch);
    p.kv_unified = true;
    p.n_threads = p.n_threads_batch = o->n_threads;
    p.no_perf = true;
    double mem_free = wim_memory_free(); /* read once: both rules see the same figure */
    wim_memory_params(m, o, role, mem_free, &p);
    return kv_too_big(m, &p, mem_free) ? NULL : llama_init_from_model(m->model, p);
}

static bool abort_asked(void *data);

/* One context, recreated only when its size must change: 0 kept, 1 new, -1 failed. */
static int reserve_one(wim_session *s, struct llama_context **ctx, wim_ctx_role role, int *size,
                       int want, int n_seq)
{
    if (*ctx && *size == want && (int)llama_n_seq_max(*ctx) == n_seq) return 0;
    if (*ctx) llama_free(*ctx);
    *ctx = wim_context_new(s->m, &s->o, role, want, s->o.n_batch, n_seq);
    *size = *ctx ? want : 0;
    if (*ctx) llama_set_abort_callback(*ctx, abort_asked, s);
    if (*ctx) return 1;
    snprintf(s->err, sizeof s->err, "cannot create a context of %d tokens%s%s", want,
             wim_llama_last_error()[0] ? ": " : "", wim_llama_last_error());
    return -1;
}

int wim_session_reserve(wim_session *s, int ctx_size, int n_seq, int cls_size)
{
    if (s->pool) return wim_pool_reserve(s, ctx_size, n_seq, cls_size);
    if (n_seq > WIM_MAX_SEQ) n_seq = WIM_MAX_SEQ;
    int made = reserve_one(s, &s->ctx, WIM_CTX_MAIN, &s->ctx_size, ctx_size, n_seq);
    if (made < 0) return -1;
    if (made) s->doc_whole = false; /* the cache went with the old context */
    s->n_seq = n_seq;
    made = cls_size > 0 ? reserve_one(s, &s->cls, WIM_CTX_VERDICTS, &s->cls_size, cls_size, 1) : 0;
    if (made < 0) return -1;
    if (made) s->cls_cached.n = 0;
    return 0;
}

/* ============================================================================
 * Events
 * ========================================================================= */

/* Sends ev to the callback with the common fields filled, and a segment's or
 * margin's pages (the one place they are found); keeps the strongest stop. */
void wim_emit(wim_session *s, wim_event ev)
{
    ev.elapsed_ms = wim_now_ms() - s->t0_ms;
    if ((ev.type == WIM_EVENT_SEGMENT || ev.type == WIM_EVENT_MARGIN) && ev.segment >= 0 &&
        ev.segment < s->doc.n)
        wim_span_pages(s->doc.text, s->doc.len, s->doc.spans[ev.segment], &ev.first_page,
                       &ev.last_page);
    ev.n_segments = s->doc.n;
    ev.n_queries = s->n_queries;
    ev.stats = &s->st;
    ev.queries = s->queries;
    if (!s->cb) return;
    int rc = s->cb(&ev, s->user);
    if (rc > s->stop) s->stop = rc;
    wim_poll(s);
}

int wim_poll(wim_session *s)
{
    int asked = atomic_load(&s->interrupt);
    if (asked > s->stop) s->stop = asked;
    return s->stop;
}

void wim_session_interrupt(wim_session *s, int how)
{
    if (how != WIM_STOP && how != WIM_ABORT) return;
    int was = atomic_load(&s->interrupt);
    while (was < how && !atomic_compare_exchange_weak(&s->interrupt, &was, how))
        ;
}

/* llama.cpp asks between the parts of a decode whether to give up on it. */
static bool abort_asked(void *data)
{
    wim_session *s = data;
    return atomic_load(&s->interrupt) == WIM_ABORT;
}

/* ============================================================================
 * Decoding
 * ========================================================================= */

void wim_batch_add(struct llama_batch *b, llama_token t, llama_pos pos, llama_seq_id seq,
                   bool logits)
{
    int i = b->n_tokens++;
    b->token[i] = t;
    b->pos[i] = pos;
    b->n_seq_id[i] = 1;
    b->seq_id[i][0] = seq;
    b->logits[i] = logits;
}

int wim_pooled(const wim_session *s, const struct llama_context *ctx)
{
    return ctx == s->ctx ? WIM_POOL_MAIN : WIM_POOL_CLS;
}

void wim_test_pause(const wim_session *s)
{
    if (s->test_slow_ms > 0)
        nanosleep(
            &(struct timespec){s->test_slow_ms / 1000, (long)(s->test_slow_ms % 1000) * 1000000L},
            NULL);
}

int wim_decode_batch(wim_session *s, struct llama_context *ctx)
{
    int rc;
    wim_test_pause(s);
    if (s->pool) {
        rc = wim_pool_decode(s, wim_pooled(s, ctx));
    } else {
        rc = llama_decode(ctx, s->batch);
        /* a GPU decodes after llama_decode returns: wait, so time is charged where spent */
        if (rc == 0) llama_synchronize(ctx);
    }
    if (rc == 0) return 0;
    if (rc == 2 && wim_poll(s) == WIM_ABORT) { /* abort_asked ended it */
        snprintf(s->err, sizeof s->err, "aborted");
        return -1;
    }
    snprintf(s->err, sizeof s->err, "llama_decode failed (%d)%s", rc,
             rc == 1 ? ": no room left in the KV cache" : "");
    return -1;
}

int wim_decode(wim_session *s, struct llama_context *ctx, const llama_token *t, int n,
               llama_seq_id seq, llama_pos pos, bool logits_last, int seg)
{
    /* llama.cpp caps a context's batch at its size: the small verdict one may be under n_batch */
    int most = (int)llama_n_batch(ctx) < s->o.n_batch ? (int)llama_n_batch(ctx) : s->o.n_batch;
    for (int done = 0; done < n;) {
        if (seg >= 0 && wim_poll(s) != WIM_CONTINUE) return 1;
        int k = n - done < most ? n - done : most;
        s->batch.n_tokens = 0;
        for (int i = 0; i < k; i++)
            wim_batch_add(&s->batch, t[done + i], pos + done + i, seq,
                          logits_last && done + i == n - 1);
        double t0 = wim_now_ms();
        if (wim_decode_batch(s, ctx) != 0) return -1;
        s->st.prefill_ms += wim_now_ms() - t0;
        s->st.n_prefill_tokens += k;
        done += k;
        if (seg >= 0) {
            s->st.n_read_tokens += k;
            wim_emit(s, (wim_event){.type = WIM_EVENT_PROGRESS, .segment = seg});
        }
    }
    return 0;
}

int wim_generate_alone(wim_session *s, struct llama_context *ctx, llama_seq_id seq, llama_pos pos,
                       int max, wim_strbuf *out)
{
    llama_sampler_reset(s->smpl);
    int n = 0;
    while (n < max && wim_poll(s) <= s->stop_floor) {
        llama_token tok = wim_sample(s, s->smpl, ctx, -1);
        if (llama_vocab_is_eog(s->m->vocab, tok) && !s->o.fixed_length) break;
        char piece[256];
        int len = wim_token_piece(s->m, tok, piece, sizeof piece);
        if (len < 0 || !wim_strbuf_append(out, piece, (size_t)len)) return -1;
        if (++n == max) break; /* the last token needs no decode */
        s->batch.n_tokens = 0;
        wim_batch_add(&s->batch, tok, pos++, seq, true);
        double t0 = wim_now_ms();
        if (wim_decode_batch(s, ctx) != 0) return -1;
        s->st.decode_ms += wim_now_ms() - t0;
    }
    s->st.n_decode_tokens += n;
    s->st.n_decode_steps += n; /* a token a step */
    return n;
}

/* ============================================================================
 * Sampling, alone or in a pool
 * ========================================================================= */

/* The logits of batch index idx (-1: the last output) of ctx. */
static const float *logits_of(wim_session *s, struct llama_context *ctx, int idx)
{
    if (!s->pool) return llama_get_logits_ith(ctx, idx);
    const wim_outputs *out = &s->out[wim_pooled(s, ctx)];
    int n_vocab = llama_vocab_n_tokens(s->m->vocab);
    return out->logits + (size_t)(idx < 0 ? out->last : out->row_of[idx]) * n_vocab;
}

float wim_yes_prob(wim_session *s, struct llama_context *ctx, int idx)
{
    const float *l = logits_of(s, ctx, idx);
    if (!l || s->yes_no[0] < 0 || s->yes_no[1] < 0) return 0.5f;
    /* 1 / (1 + e^(no - yes)): the softmax over the two alone */
    return 1.0f / (1.0f + expf(l[s->yes_no[1]] - l[s->yes_no[0]]));
}

/* What llama_sampler_sample does, on the logits the pool copied back. */
llama_token wim_sample(wim_session *s, struct llama_sampler *smpl, struct llama_context *ctx,
                       int idx)
{
    if (!s->pool) return llama_sampler_sample(smpl, ctx, idx);
    int n_vocab = llama_vocab_n_tokens(s->m->vocab);
    const float *logits = logits_of(s, ctx, idx);
    for (llama_token t = 0; t < n_vocab; t++)
        s->cand[t] = (llama_token_data){t, logits[t], 0.0f};
    llama_token_data_array a = {s->cand, (size_t)n_vocab, -1, false};
    llama_sampler_apply(smpl, &a);
    llama_token tok = a.data[a.selected].id;
    llama_sampler_accept(smpl, tok);
    return tok;
}

void wim_outputs_free(wim_outputs *out)
{
    free(out->logits);
    free(out->row_of);
    memset(out, 0, sizeof *out);
}
