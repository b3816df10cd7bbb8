/*
 * engine.c - the WiM pipeline and its two baselines on llama.cpp.
 *
 * One main context holds the document in sequence 0: a preamble, then the
 * segments as they are read. A margin is written in sequence 1, forked from
 * sequence 0 (kv_unified, so the fork shares the document's cells) and removed
 * afterwards, so the cache again holds only preamble + segments so far.
 * Verdicts never need the document, so they run in a second, small context on
 * the same model, where they pay attention over their own few tokens only.
 */
#include "engine.h"
#include "segment.h"
#include "text.h"
#include "verdict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Extra cells beyond the counted prompt sizes: margins are re-tokenized text. */
enum { SLACK_TOKENS = 64, CTX_ROUND = 256 };

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ============================================================================
 * Options and session life
 * ========================================================================= */

void wim_options_default(wim_options *o)
{
    *o = (wim_options){
        .mode = WIM_MODE_WIM,
        .classify = WIM_CLASSIFY_TWO_PASS,
        .segment_tokens = 4096,
        .max_margin_tokens = 100,
        .max_verdict_tokens = 10,
        .max_answer_tokens = 100,
        .temp = 0.0f,
        .top_p = 1.0f,
        .seed = 42,
        .n_batch = 512,
    };
}

static int check_options(const wim_options *o, char *err, size_t errlen)
{
    const char *bad = o->segment_tokens < 1           ? "segment tokens must be at least 1"
                      : o->max_margin_tokens < 1      ? "max margin tokens must be at least 1"
                      : o->max_verdict_tokens < 1     ? "max verdict tokens must be at least 1"
                      : o->max_answer_tokens < 1      ? "max answer tokens must be at least 1"
                      : o->temp < 0                   ? "temperature must not be negative"
                      : o->top_p <= 0 || o->top_p > 1 ? "top-p must be in (0, 1]"
                      : o->n_threads < 0              ? "threads must not be negative"
                      : o->n_ctx < 0                  ? "context size must not be negative"
                      : o->n_batch < 1                ? "batch size must be at least 1"
                                                      : NULL;
    if (bad) snprintf(err, errlen, "%s", bad);
    return bad ? -1 : 0;
}

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

wim_session *wim_session_new(wim_model *m, const wim_options *o, char *err, size_t errlen)
{
    if (check_options(o, err, errlen) != 0) return NULL;
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
    if (wim_templates_load(&s->tpl, o->templates_dir, err, errlen) != 0 ||
        wim_chat_init(&s->chat, llama_model_chat_template(m->model, NULL),
                      s->tpl.text[WIM_TPL_SYSTEM], o->user_header, o->generation_header, err,
                      errlen) != 0) {
        wim_session_free(s);
        return NULL;
    }
    s->batch = llama_batch_init(s->o.n_batch, 0, 1);
    s->smpl = make_sampler(&s->o);
    return s;
}

void wim_session_free(wim_session *s)
{
    if (!s) return;
    if (s->ctx) llama_free(s->ctx);
    if (s->cls) llama_free(s->cls);
    if (s->smpl) llama_sampler_free(s->smpl);
    if (s->batch.token) llama_batch_free(s->batch);
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

static struct llama_context *new_context(wim_session *s, int n_ctx, int n_seq)
{
    struct llama_context_params p = llama_context_default_params();
    p.n_ctx = (uint32_t)n_ctx;
    p.n_batch = p.n_ubatch = (uint32_t)s->o.n_batch;
    p.n_seq_max = (uint32_t)n_seq;
    p.kv_unified = true;
    p.n_threads = p.n_threads_batch = s->o.n_threads;
    p.no_perf = true;
    return llama_init_from_model(s->m->model, p);
}

/* One context, recreated only when its size must change. */
static int reserve_one(wim_session *s, struct llama_context **ctx, int *size, int want, int n_seq)
{
    if (*ctx && *size == want) return 0;
    if (*ctx) llama_free(*ctx);
    *ctx = new_context(s, want, n_seq);
    *size = *ctx ? want : 0;
    if (*ctx) return 0;
    snprintf(s->err, sizeof s->err, "cannot create a context of %d tokens%s%s", want,
             wim_llama_last_error()[0] ? ": " : "", wim_llama_last_error());
    return -1;
}

int wim_session_reserve(wim_session *s, int ctx_size, int cls_size)
{
    if (reserve_one(s, &s->ctx, &s->ctx_size, ctx_size, 2) != 0) return -1;
    if (cls_size > 0 && reserve_one(s, &s->cls, &s->cls_size, cls_size, 1) != 0) return -1;
    return 0;
}

/* ============================================================================
 * Events
 * ========================================================================= */

/* Sends ev to the callback with the common fields filled; keeps the strongest stop. */
static void emit(wim_session *s, wim_event ev)
{
    ev.elapsed_ms = now_ms() - s->t0_ms;
    ev.n_segments = s->n_segments;
    ev.stats = &s->st;
    if (ev.type != WIM_EVENT_START) ev.options = NULL;
    if (!s->cb) return;
    int rc = s->cb(&ev, s->user);
    if (rc > s->stop) s->stop = rc;
}

/* ============================================================================
 * Decoding and generation
 * ========================================================================= */

static void batch_fill(struct llama_batch *b, const llama_token *t, int n, llama_seq_id seq,
                       llama_pos pos, bool logits_last)
{
    b->n_tokens = n;
    for (int i = 0; i < n; i++) {
        b->token[i] = t[i];
        b->pos[i] = pos + i;
        b->n_seq_id[i] = 1;
        b->seq_id[i][0] = seq;
        b->logits[i] = logits_last && i == n - 1;
    }
}

static int decode_batch(wim_session *s, struct llama_context *ctx)
{
    int rc = llama_decode(ctx, s->batch);
    if (rc == 0) return 0;
    snprintf(s->err, sizeof s->err, "llama_decode failed (%d)%s%s", rc,
             rc == 1 ? ": no room left in the KV cache" : "", rc == 2 ? ": aborted" : "");
    return -1;
}

int wim_decode(wim_session *s, struct llama_context *ctx, const llama_token *t, int n,
               llama_seq_id seq, llama_pos pos, bool logits_last, int seg)
{
    for (int done = 0; done < n;) {
        if (seg >= 0 && s->stop != WIM_CONTINUE) return 1;
        int k = n - done < s->o.n_batch ? n - done : s->o.n_batch;
        batch_fill(&s->batch, t + done, k, seq, pos + done, logits_last && done + k == n);
        double t0 = now_ms();
        if (decode_batch(s, ctx) != 0) return -1;
        s->st.prefill_ms += now_ms() - t0;
        s->st.n_prefill_tokens += k;
        done += k;
        if (seg >= 0) {
            s->st.n_read_tokens += k;
            emit(s, (wim_event){.type = WIM_EVENT_PROGRESS, .segment = seg});
        }
    }
    return 0;
}

/* What generation is for: decides when it stops and who sees the pieces. */
typedef enum gen_kind { GEN_MARGIN, GEN_MARGIN_ONE_PASS, GEN_VERDICT, GEN_ANSWER } gen_kind;

/* Sends the answer's complete UTF-8 characters from *sent on; keeps a split one for later. */
static void stream_answer(wim_session *s, const wim_strbuf *out, size_t *sent, bool final)
{
    size_t end = final ? out->len : wim_utf8_floor(out->s, out->len, out->len);
    if (end <= *sent) return;
    wim_strbuf piece = {0};
    wim_strbuf_append_utf8(&piece, out->s + *sent, end - *sent);
    emit(s, (wim_event){.type = WIM_EVENT_ANSWER_TOKEN, .text = wim_strbuf_str(&piece)});
    wim_strbuf_free(&piece);
    *sent = end;
}

static bool should_stop(wim_session *s, gen_kind kind, const wim_strbuf *out)
{
    if (kind == GEN_ANSWER) return s->stop == WIM_ABORT;
    return kind == GEN_MARGIN_ONE_PASS && wim_verdict_prefix(wim_strbuf_str(out)) == 0;
}

/* Samples up to max tokens on seq from pos; the logits of the token before pos
 * must be ready. Appends the raw bytes to out. Returns tokens generated, or -1. */
static int generate(wim_session *s, struct llama_context *ctx, llama_seq_id seq, llama_pos pos,
                    int max, gen_kind kind, wim_strbuf *out)
{
    llama_sampler_reset(s->smpl);
    size_t sent = 0;
    int n = 0;
    while (n < max && !should_stop(s, kind, out)) {
        llama_token tok = llama_sampler_sample(s->smpl, ctx, -1);
        if (llama_vocab_is_eog(s->m->vocab, tok)) break;
        char piece[256];
        int len = wim_token_piece(s->m, tok, piece, sizeof piece);
        if (len < 0 || !wim_strbuf_append(out, piece, (size_t)len)) return -1;
        n++;
        if (kind == GEN_ANSWER) stream_answer(s, out, &sent, false);
        if (n == max) break; /* the last token needs no decode */
        batch_fill(&s->batch, &tok, 1, seq, pos++, true);
        double t0 = now_ms();
        if (decode_batch(s, ctx) != 0) return -1;
        s->st.decode_ms += now_ms() - t0;
    }
    if (kind == GEN_ANSWER) stream_answer(s, out, &sent, true);
    s->st.n_decode_tokens += n;
    return n;
}

int wim_margin_in_fork(wim_session *s, const wim_tokens *prompt, llama_pos n_past, bool one_pass,
                       wim_strbuf *out)
{
    llama_memory_t mem = llama_get_memory(s->ctx);
    llama_memory_seq_cp(mem, WIM_SEQ_DOC, WIM_SEQ_MARGIN, -1, -1);
    int n = wim_decode(s, s->ctx, prompt->v, prompt->n, WIM_SEQ_MARGIN, n_past, true, -1);
    if (n == 0)
        n = generate(s, s->ctx, WIM_SEQ_MARGIN, n_past + prompt->n, s->o.max_margin_tokens,
                     one_pass ? GEN_MARGIN_ONE_PASS : GEN_MARGIN, out);
    llama_memory_seq_rm(mem, WIM_SEQ_MARGIN, -1, -1);
    return n;
}

/* ============================================================================
 * Prompts
 * ========================================================================= */

enum { MAX_PIECES = 64 };

/* tokens += template id filled with vals, optionally closed by the generation header. */
static int add_prompt(wim_session *s, wim_tokens *t, wim_template_id id, const wim_value *vals,
                      size_t n_vals, bool close_turn)
{
    wim_piece pieces[MAX_PIECES];
    int n = wim_template_fill(s->tpl.text[id], vals, n_vals, pieces, MAX_PIECES);
    if (n < 0 || wim_tokens_add_pieces(s->m, t, pieces, n) != 0) return -1;
    if (!close_turn) return 0;
    const char *gh = s->chat.generation_header;
    return wim_tokens_add_text(s->m, t, gh, strlen(gh), false, true);
}

/* The user header, with BOS where the model wants one (and only once). */
static int add_user_header(wim_session *s, wim_tokens *t)
{
    const char *uh = s->chat.user_header;
    if (wim_tokens_add_text(s->m, t, uh, strlen(uh), true, true) != 0) return -1;
    llama_token bos = llama_vocab_bos(s->m->vocab);
    if (t->n >= 2 && t->v[0] == bos && t->v[1] == bos) {
        memmove(t->v, t->v + 1, (size_t)(t->n - 1) * sizeof *t->v);
        t->n--;
    }
    return 0;
}

static wim_value query_value(wim_session *s)
{
    return (wim_value){"query", s->query, strlen(s->query)};
}

/* The verdict prompt for one margin or raw segment, alone in its conversation. */
static int classify_prompt(wim_session *s, wim_tokens *t, const char *text, size_t len,
                           bool segment)
{
    const wim_value vals[2] = {query_value(s), {segment ? "segment" : "margin", text, len}};
    t->n = 0;
    if (add_user_header(s, t) != 0) return -1;
    return add_prompt(s, t, segment ? WIM_TPL_CLASSIFY_SEGMENT : WIM_TPL_CLASSIFY, vals, 2, true);
}

/* ============================================================================
 * The document
 * ========================================================================= */

typedef struct wim_doc {
    const char *text;
    wim_span *spans;  /* [n] byte ranges of the segments */
    int n;            /* segments */
    wim_tokens tok;   /* all document tokens, segment after segment */
    int *tok_off;     /* [n + 1] where each segment's tokens start in tok */
    wim_tokens pre;   /* user header + context intro: the cached preamble */
    llama_pos n_past; /* cells of sequence 0 in use */
} wim_doc;

static void doc_free(wim_doc *d)
{
    free(d->spans);
    free(d->tok_off);
    wim_tokens_free(&d->tok);
    wim_tokens_free(&d->pre);
}

static int check_text(wim_session *s, const char *what, const char *text, size_t len)
{
    size_t bad;
    const char *nul = memchr(text, '\0', len);
    size_t blank = 0;
    while (blank < len && strchr(" \t\r\n\f\v", text[blank]))
        blank++;
    if (blank == len)
        snprintf(s->err, sizeof s->err, "%s is empty", what);
    else if (nul)
        snprintf(s->err, sizeof s->err, "%s contains a NUL byte at offset %zu", what,
                 (size_t)(nul - text));
    else if (!wim_utf8_valid(text, len, &bad))
        snprintf(s->err, sizeof s->err, "%s is not valid UTF-8 at byte offset %zu", what, bad);
    else
        return 0;
    return -1;
}

static int doc_tokenize(wim_session *s, wim_doc *d)
{
    d->tok_off = malloc(((size_t)d->n + 1) * sizeof *d->tok_off);
    if (!d->tok_off) return -1;
    for (int i = 0; i < d->n; i++) {
        d->tok_off[i] = d->tok.n;
        if (wim_tokens_add_text(s->m, &d->tok, d->text + d->spans[i].start, d->spans[i].len, false,
                                false) != 0)
            return -1;
    }
    d->tok_off[d->n] = d->tok.n;
    if (add_user_header(s, &d->pre) != 0) return -1;
    return add_prompt(s, &d->pre, WIM_TPL_CONTEXT, NULL, 0, false);
}

static int doc_open(wim_session *s, wim_doc *d, const char *text, size_t len)
{
    memset(d, 0, sizeof *d);
    d->text = text;
    if (check_text(s, "document", text, len) != 0) return -1;
    size_t n = 0;
    if (wim_segment(text, len, s->o.segment_tokens, wim_count_tokens, s->m, &d->spans, &n, s->err,
                    sizeof s->err) != 0)
        return -1;
    d->n = (int)n;
    if (doc_tokenize(s, d) != 0) {
        snprintf(s->err, sizeof s->err, "cannot tokenize the document");
        return -1;
    }
    return 0;
}

static int seg_tokens(const wim_doc *d, int i)
{
    return d->tok_off[i + 1] - d->tok_off[i];
}

/* Prefills segment i into sequence 0 after what is cached; counts it as read
 * unless rag's classifier already did. 0, 1 if stopped, -1. */
static int read_segment(wim_session *s, wim_doc *d, int i, bool count_read)
{
    int rc = wim_decode(s, s->ctx, d->tok.v + d->tok_off[i], seg_tokens(d, i), WIM_SEQ_DOC,
                        d->n_past, false, count_read ? i : -1);
    if (rc == 1) /* stopped inside: what was read of it stays, and is answered from */
        d->n_past = llama_memory_seq_pos_max(llama_get_memory(s->ctx), WIM_SEQ_DOC) + 1;
    if (rc != 0) return rc;
    d->n_past += seg_tokens(d, i);
    if (count_read) s->st.n_segments_read++;
    emit(s, (wim_event){.type = WIM_EVENT_SEGMENT, .segment = i, .n_tokens = seg_tokens(d, i)});
    return 0;
}

/* ============================================================================
 * Sizing the contexts
 * ========================================================================= */

static int round_up(int n)
{
    return (n + CTX_ROUND - 1) / CTX_ROUND * CTX_ROUND;
}

/* Tokens of a prompt with its slot left empty, to size what will be put in it. */
static int prompt_size(wim_session *s, wim_template_id id, const char *slot)
{
    wim_tokens t = {0};
    const wim_value vals[2] = {query_value(s), {slot, "", 0}};
    int rc = add_prompt(s, &t, id, vals, 2, true);
    int n = rc == 0 ? t.n : -1;
    wim_tokens_free(&t);
    return n;
}

/* Main context: preamble, document, then the largest thing appended to it. */
static int main_need(wim_session *s, const wim_doc *d)
{
    const wim_options *o = &s->o;
    int answer = prompt_size(s, WIM_TPL_ANSWER_LLM, "-") + o->max_answer_tokens;
    if (o->mode == WIM_MODE_WIM) {
        wim_template_id ex =
            o->classify == WIM_CLASSIFY_ONE_PASS ? WIM_TPL_EXTRACT_ONEPASS : WIM_TPL_EXTRACT;
        int margin = prompt_size(s, ex, "-") + o->max_margin_tokens;
        int margins = d->n * (o->max_margin_tokens + 8);
        answer = prompt_size(s, WIM_TPL_ANSWER, "margins") + margins + o->max_answer_tokens;
        if (margin > answer) answer = margin;
    }
    return d->pre.n + d->tok.n + answer + SLACK_TOKENS;
}

/* Verdict context: one classification prompt with the largest margin or segment. */
static int cls_need(wim_session *s, const wim_doc *d)
{
    const wim_options *o = &s->o;
    if (o->mode == WIM_MODE_LLM ||
        (o->mode == WIM_MODE_WIM && o->classify == WIM_CLASSIFY_ONE_PASS))
        return 0;
    int largest = o->max_margin_tokens;
    if (o->mode == WIM_MODE_RAG)
        for (int i = 0; i < d->n; i++)
            if (seg_tokens(d, i) > largest) largest = seg_tokens(d, i);
    bool seg = o->mode == WIM_MODE_RAG;
    wim_tokens t = {0};
    int header = add_user_header(s, &t) == 0 ? t.n : 0;
    wim_tokens_free(&t);
    int prompt = prompt_size(s, seg ? WIM_TPL_CLASSIFY_SEGMENT : WIM_TPL_CLASSIFY,
                             seg ? "segment" : "margin");
    return round_up(header + prompt + largest + o->max_verdict_tokens + SLACK_TOKENS);
}

static int size_contexts(wim_session *s, const wim_doc *d)
{
    int need = main_need(s, d);
    int limit = s->o.n_ctx ? s->o.n_ctx : s->m->n_ctx_train;
    if (need > limit) {
        snprintf(s->err, sizeof s->err,
                 "document is %d tokens; with prompts%s it needs %d, more than the context "
                 "limit of %d tokens (%s)",
                 d->tok.n, s->o.mode == WIM_MODE_WIM ? " and margins" : "", need, limit,
                 s->o.n_ctx ? "set by -c" : "the model's trained context");
        return -1;
    }
    int ctx = s->o.n_ctx ? s->o.n_ctx : round_up(need);
    if (ctx > limit) ctx = limit;
    s->st.n_ctx = ctx;
    return wim_session_reserve(s, ctx, cls_need(s, d));
}

/* ============================================================================
 * Verdicts
 * ========================================================================= */

/* Classifies a margin or raw segment in the small context; reports a VERDICT. */
static int classify(wim_session *s, int seg, const char *text, size_t len, bool segment,
                    bool *relevant)
{
    wim_tokens prompt = {0};
    wim_strbuf raw = {0}, shown = {0};
    int rc = classify_prompt(s, &prompt, text, len, segment);
    llama_memory_clear(llama_get_memory(s->cls), true);
    if (rc == 0) rc = wim_decode(s, s->cls, prompt.v, prompt.n, 0, 0, true, -1);

    if (rc == 0 && generate(s, s->cls, 0, prompt.n, s->o.max_verdict_tokens, GEN_VERDICT, &raw) < 0)
        rc = -1;
    if (rc == 0) {
        wim_strbuf_append_utf8(&shown, raw.s ? raw.s : "", raw.len);
        wim_verdict v = wim_verdict_parse(wim_strbuf_str(&shown));
        *relevant = v.relevant;
        emit(s, (wim_event){.type = WIM_EVENT_VERDICT,
                            .segment = seg,
                            .text = wim_strbuf_str(&shown),
                            .relevant = v.relevant,
                            .parsed = v.parsed,
                            .reason = v.reason});
    }
    wim_tokens_free(&prompt);
    wim_strbuf_free(&raw);
    wim_strbuf_free(&shown);
    return rc;
}

/* ============================================================================
 * The three modes
 * ========================================================================= */

/* Appends the closing prompt to sequence 0 and streams the answer into out. */
static int answer(wim_session *s, wim_doc *d, const wim_tokens *prompt, wim_strbuf *out)
{
    if (wim_decode(s, s->ctx, prompt->v, prompt->n, WIM_SEQ_DOC, d->n_past, true, -1) != 0)
        return -1;
    wim_strbuf raw = {0};
    int n = generate(s, s->ctx, WIM_SEQ_DOC, d->n_past + prompt->n, s->o.max_answer_tokens,
                     GEN_ANSWER, &raw);
    wim_strbuf_append_utf8(out, raw.s ? raw.s : "", raw.len);
    wim_strbuf_free(&raw);
    return n < 0 ? -1 : 0;
}

static int answer_question(wim_session *s, wim_doc *d, wim_template_id id, const char *margins,
                           wim_strbuf *out)
{
    const wim_value vals[2] = {query_value(s), {"margins", margins, strlen(margins)}};
    wim_tokens prompt = {0};
    int rc = add_prompt(s, &prompt, id, vals, 2, true);
    if (rc == 0) rc = answer(s, d, &prompt, out);
    wim_tokens_free(&prompt);
    return rc;
}

/* Writes, reports and classifies the margin of the segment just read. */
static int take_margin(wim_session *s, wim_doc *d, int i, const wim_tokens *prompt,
                       wim_strbuf *kept)
{
    bool one_pass = s->o.classify == WIM_CLASSIFY_ONE_PASS;
    wim_strbuf raw = {0}, margin = {0};
    int n = wim_margin_in_fork(s, prompt, d->n_past, one_pass, &raw);
    wim_strbuf_append_utf8(&margin, raw.s ? raw.s : "", raw.len);
    wim_strbuf_free(&raw);
    if (n < 0) return -1;
    s->st.n_margins++;
    emit(s, (wim_event){.type = WIM_EVENT_MARGIN,
                        .segment = i,
                        .n_tokens = n,
                        .text = wim_strbuf_str(&margin)});
    bool relevant = false;
    const char *note = wim_strbuf_str(&margin);
    int rc = 0;
    if (one_pass) {
        wim_verdict v = wim_verdict_parse(note);
        relevant = v.relevant;
        note = v.reason;
        emit(s, (wim_event){.type = WIM_EVENT_VERDICT,
                            .segment = i,
                            .text = margin.s ? margin.s : "",
                            .relevant = v.relevant,
                            .parsed = v.parsed,
                            .reason = v.reason});
    } else {
        rc = classify(s, i, note, strlen(note), false, &relevant);
    }
    if (rc == 0 && relevant) {
        s->st.n_relevant++;
        wim_strbuf_puts(kept, "- ");
        wim_strbuf_puts(kept, note);
        wim_strbuf_puts(kept, "\n");
    }
    wim_strbuf_free(&margin);
    return rc;
}

static int run_wim(wim_session *s, wim_doc *d, wim_strbuf *out)
{
    wim_template_id ex =
        s->o.classify == WIM_CLASSIFY_ONE_PASS ? WIM_TPL_EXTRACT_ONEPASS : WIM_TPL_EXTRACT;
    const wim_value q = query_value(s);
    wim_tokens prompt = {0};
    wim_strbuf kept = {0};
    int rc = add_prompt(s, &prompt, ex, &q, 1, true);
    for (int i = 0; rc == 0 && i < d->n && s->stop == WIM_CONTINUE; i++) {
        rc = read_segment(s, d, i, true);
        if (rc == 0) rc = take_margin(s, d, i, &prompt, &kept);
    }
    if (rc >= 0 && s->stop != WIM_ABORT) {
        if (kept.len == 0) wim_strbuf_puts(&kept, "(none)\n");
        kept.s[--kept.len] = '\0'; /* the last newline */
        rc = answer_question(s, d, WIM_TPL_ANSWER, kept.s, out);
    }
    wim_tokens_free(&prompt);
    wim_strbuf_free(&kept);
    return rc < 0 ? -1 : 0;
}

static int run_llm(wim_session *s, wim_doc *d, wim_strbuf *out)
{
    int rc = 0;
    for (int i = 0; rc == 0 && i < d->n && s->stop == WIM_CONTINUE; i++)
        rc = read_segment(s, d, i, true);
    if (rc >= 0 && s->stop != WIM_ABORT) rc = answer_question(s, d, WIM_TPL_ANSWER_LLM, "", out);
    return rc < 0 ? -1 : 0;
}

/* Classifies raw segments; kept ones go into sequence 0 in document order. */
static int run_rag(wim_session *s, wim_doc *d, wim_strbuf *out)
{
    int rc = 0;
    for (int i = 0; rc == 0 && i < d->n && s->stop == WIM_CONTINUE; i++) {
        bool keep = false;
        const wim_span *sp = &d->spans[i];
        rc = classify(s, i, d->text + sp->start, sp->len, true, &keep);
        if (rc != 0) break;
        s->st.n_segments_read++;
        s->st.n_read_tokens += seg_tokens(d, i);
        emit(s, (wim_event){.type = WIM_EVENT_PROGRESS, .segment = i});
        if (keep) {
            s->st.n_relevant++;
            rc = read_segment(s, d, i, false);
        }
    }
    if (rc >= 0 && s->stop != WIM_ABORT) rc = answer_question(s, d, WIM_TPL_ANSWER_LLM, "", out);
    return rc < 0 ? -1 : 0;
}

/* ============================================================================
 * A run
 * ========================================================================= */

static int start(wim_session *s, wim_doc *d, const char *doc, size_t doc_len)
{
    if (check_text(s, "query", s->query, strlen(s->query)) != 0) return -1;
    if (doc_open(s, d, doc, doc_len) != 0) return -1;
    s->n_segments = d->n;
    s->st.n_doc_tokens = d->tok.n;
    s->st.n_segments = d->n;
    if (size_contexts(s, d) != 0) return -1;
    llama_memory_clear(llama_get_memory(s->ctx), true);
    emit(s, (wim_event){.type = WIM_EVENT_START, .options = &s->o, .query = s->query});
    if (s->stop == WIM_ABORT) return 0;
    if (wim_decode(s, s->ctx, d->pre.v, d->pre.n, WIM_SEQ_DOC, 0, false, -1) != 0) return -1;
    d->n_past = d->pre.n;
    return 0;
}

int wim_session_run(wim_session *s, const char *doc, size_t doc_len, const char *query,
                    wim_event_fn cb, void *user)
{
    s->cb = cb;
    s->user = user;
    s->query = query ? query : "";
    s->t0_ms = now_ms();
    s->st = (wim_stats){0};
    s->stop = WIM_CONTINUE;
    s->n_segments = 0;
    s->err[0] = '\0';
    wim_doc d = {0};
    wim_strbuf out = {0};
    int rc = start(s, &d, doc ? doc : "", doc ? doc_len : 0);
    if (rc == 0 && s->stop != WIM_ABORT) {
        rc = s->o.mode == WIM_MODE_WIM   ? run_wim(s, &d, &out)
             : s->o.mode == WIM_MODE_LLM ? run_llm(s, &d, &out)
                                         : run_rag(s, &d, &out);
    }
    if (rc == 0 && s->stop != WIM_ABORT) {
        s->st.stopped_early = s->stop == WIM_STOP;
        s->st.total_ms = now_ms() - s->t0_ms;
        emit(s, (wim_event){.type = WIM_EVENT_DONE, .answer = wim_strbuf_str(&out)});
    }
    doc_free(&d);
    wim_strbuf_free(&out);
    if (rc != 0) return -1;
    return s->stop == WIM_ABORT ? 1 : 0;
}
