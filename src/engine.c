/*
 * engine.c - a run: the document, the WiM pipeline and its two baselines.
 *
 * Sequence 0 of the main context holds a preamble, then the segments as they
 * are read. After each segment every question gets a margin job, forked from
 * sequence 0 (jobs.c); a finished margin is classified in a second, small
 * context that never holds the document, so a verdict pays attention over its
 * own few tokens only. Answers are jobs too, forked after the last segment, so
 * sequence 0 is left holding exactly the document: it can be asked again or
 * saved (docfile.c).
 */
#include "chat.h"
#include "cache.h"
#include "engine.h"
#include "jobs.h"
#include "window.h"
#include "seam.h"
#include "text.h"
#include "verdict.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* Extra cells beyond the counted prompt sizes: margins are re-tokenized text. */
enum { SLACK_TOKENS = 64 };

/* ============================================================================
 * Prompts
 * ========================================================================= */

static wim_value query_value(const wim_session *s, int q)
{
    return (wim_value){"query", s->queries[q], strlen(s->queries[q])};
}

int wim_add_prompt(wim_session *s, wim_tokens *t, wim_template_id id, const wim_value *vals,
                   size_t n_vals, bool close_turn)
{
    int n;
    wim_piece *pieces = wim_template_pieces(s->tpl.text[id], vals, n_vals, &n);
    int rc = pieces ? wim_tokens_add_pieces(s->m, t, pieces, n) : -1;
    free(pieces);
    if (rc == 0 && close_turn) {
        const char *gh = s->chat.generation_header;
        rc = wim_tokens_add_text(s->m, t, gh, strlen(gh), false, true);
    }
    if (rc != 0)
        snprintf(s->err, sizeof s->err, "cannot build the %s prompt: out of memory",
                 wim_template_name(id));
    return rc;
}

/* Chat text that opens the context, markers parsed, with BOS where the model
 * wants one (and only once: templates often write it themselves). */
static int add_chat_opening(wim_session *s, wim_tokens *t, const char *text)
{
    if (wim_tokens_add_text(s->m, t, text, strlen(text), true, true) != 0) return -1;
    llama_token bos = llama_vocab_bos(s->m->vocab);
    if (t->n >= 2 && t->v[0] == bos && t->v[1] == bos) {
        memmove(t->v, t->v + 1, (size_t)(t->n - 1) * sizeof *t->v);
        t->n--;
    }
    return 0;
}

static int add_user_header(wim_session *s, wim_tokens *t)
{
    return add_chat_opening(s, t, s->chat.user_header);
}

static wim_template_id extract_template(const wim_session *s)
{
    return s->o.classify == WIM_CLASSIFY_ONE_PASS ? WIM_TPL_EXTRACT_ONEPASS : WIM_TPL_EXTRACT;
}

/* The extractive prompt of every question, appended after a segment. */
static int extract_prompts(wim_session *s, wim_tokens *ex)
{
    for (int q = 0; q < s->n_queries; q++) {
        const wim_value v = query_value(s, q);
        if (wim_add_prompt(s, &ex[q], extract_template(s), &v, 1, true) != 0) return -1;
    }
    return 0;
}

static void free_prompts(wim_tokens *t, int n)
{
    for (int i = 0; i < n; i++)
        wim_tokens_free(&t[i]);
}

/* ============================================================================
 * The document
 * ========================================================================= */

static int check_text(wim_session *s, const char *what, const char *text, size_t len)
{
    return wim_check_text(what, text, len, s->err, sizeof s->err);
}

static int check_queries(wim_session *s)
{
    if (s->n_queries < 1) {
        snprintf(s->err, sizeof s->err, "no question given");
        return -1;
    }
    for (int q = 0; q < s->n_queries; q++) {
        const char *text = s->queries[q] ? s->queries[q] : "";
        if (check_text(s, "query", text, strlen(text)) != 0) return -1;
    }
    return 0;
}

static int doc_tokenize(wim_session *s, wim_doc *d)
{
    d->tok_off = malloc(((size_t)d->n + 1) * sizeof *d->tok_off);
    if (!d->tok_off) return -1;
    for (int i = 0; i < d->n; i++) {
        d->tok_off[i] = d->tok.n;
        if (wim_poll(s) != WIM_CONTINUE) return -1;
        if (wim_tokens_add_text(s->m, &d->tok, d->text + d->spans[i].start, d->spans[i].len, false,
                                false) != 0)
            return -1;
    }
    d->tok_off[d->n] = d->tok.n;
    if (add_user_header(s, &d->pre) != 0) return -1;
    return wim_add_prompt(s, &d->pre, WIM_TPL_CONTEXT, NULL, 0, false);
}

/* The segmenter's counter. Cutting a long document up takes a count per
 * candidate segment, so a stop or an abort (a user, a client that left, a
 * server shutting down) ends it at the next count. */
static int count_unless_interrupted(const char *text, size_t len, void *user)
{
    wim_session *s = user;
    wim_test_pause(s);
    return wim_poll(s) != WIM_CONTINUE ? -1 : wim_count_tokens(text, len, (void *)s->m);
}

/* Checks, copies, segments and tokenizes the document into s->doc. */
static int doc_open(wim_session *s, const char *text, size_t len)
{
    wim_doc *d = &s->doc;
    wim_doc_free(d);
    s->doc_whole = false;
    if (check_text(s, "document", text, len) != 0) return -1;
    d->text = malloc(len + 1);
    if (!d->text) {
        snprintf(s->err, sizeof s->err, "out of memory");
        return -1;
    }
    memcpy(d->text, text, len);
    d->text[len] = '\0';
    d->len = len;
    size_t n = 0;
    if (wim_segment(text, len, s->o.segment_tokens, count_unless_interrupted, s, &d->spans, &n,
                    s->err, sizeof s->err) != 0)
        return -1;
    d->n = (int)n;
    if (doc_tokenize(s, d) != 0) {
        snprintf(s->err, sizeof s->err, "cannot tokenize the document");
        return -1;
    }
    return 0;
}

/* A document that an interrupt kept from being opened: nothing of it is kept. */
static int doc_interrupted(wim_session *s)
{
    wim_doc_free(&s->doc);
    snprintf(s->err, sizeof s->err, "interrupted while the document was being cut up");
    return wim_poll(s);
}

static int seg_tokens(const wim_doc *d, int i)
{
    return d->tok_off[i + 1] - d->tok_off[i];
}

/* Sequence 0 afresh with the preamble alone (every other sequence dropped). */
static int read_preamble(wim_session *s)
{
    wim_doc *d = &s->doc;
    wim_cache_drop(s, s->ctx, -1);
    d->n_past = 0;
    d->n_read = d->win_first = 0;
    if (wim_decode(s, s->ctx, d->pre.v, d->pre.n, WIM_SEQ_DOC, 0, false, -1) != 0) return -1;
    d->n_past = d->win_pre = d->pre.n;
    return 0;
}

static int step(wim_session *s, const llama_token *doc, int n_doc, int seg);

/* Prefills segment i after what is cached, with the jobs in flight riding along.
 * 0, 1 if stopped inside it, -1 on error. */
static int read_segment(wim_session *s, int i)
{
    wim_doc *d = &s->doc;
    const llama_token *t = d->tok.v + d->tok_off[i];
    for (int done = 0, n = seg_tokens(d, i); done < n;) {
        if (wim_poll(s) != WIM_CONTINUE) return 1;
        int k = step(s, t + done, n - done, i);
        if (k < 0) return -1;
        done += k;
    }
    if (wim_cache_checkpoint(s, i) != 0) return -1;
    d->n_read = i + 1;
    s->st.n_segments_read++;
    wim_emit(s, (wim_event){.type = WIM_EVENT_SEGMENT, .segment = i, .n_tokens = seg_tokens(d, i)});
    return 0;
}

/* ============================================================================
 * Sizing the contexts
 * ========================================================================= */

/* The largest over the questions of a prompt's tokens with its slot left empty. */
static int prompt_size(wim_session *s, wim_template_id id, const char *slot)
{
    int most = 0;
    for (int q = 0; q < s->n_queries; q++) {
        wim_tokens t = {0};
        const wim_value vals[2] = {query_value(s, q), {slot, "", 0}};
        if (wim_add_prompt(s, &t, id, vals, 2, true) == 0 && t.n > most) most = t.n;
        wim_tokens_free(&t);
    }
    return most;
}

/* Cells one question's forks need beyond the document, with n segments in
 * the cache, margins of in_flight of them at once (all of them in the
 * overlapped schedule, or asking a stored document) and carried tokens of
 * carried notes. In 64 bits: segments times a margin's limit may pass
 * INT_MAX, and must then be refused, not wrap into a small number that fits. */
static long long forks_per_question(wim_session *s, int n, int in_flight, int carried)
{
    const wim_options *o = &s->o;
    long long answer = prompt_size(s, WIM_TPL_ANSWER_LLM, "-") + (long long)o->max_answer_tokens;
    if (o->mode != WIM_MODE_WIM) return answer;
    long long margin = prompt_size(s, extract_template(s), "-") + (long long)o->max_margin_tokens;
    answer = prompt_size(s, WIM_TPL_ANSWER, "margins") + carried +
             n * (o->max_margin_tokens + 8LL) + o->max_answer_tokens;
    return in_flight * margin + answer;
}

/* Cells past a window of n segments with carried notes: every question's
 * forks. Sequential margins are judged one by one, so one each is in flight. */
static long long beyond_window(wim_session *s, int n, int carried)
{
    int in_flight = s->o.schedule == WIM_SCHEDULE_SEQUENTIAL ? 1 : n;
    return s->n_queries * forks_per_question(s, n, in_flight, carried) + SLACK_TOKENS;
}

/* Sequences: the document, and every margin and answer that may be in flight
 * with n segments in the cache. */
static int seqs_need(const wim_session *s, int n)
{
    return 1 + s->n_queries * (s->o.mode == WIM_MODE_WIM ? n + 1 : 1);
}

/* Verdict context: one classification prompt with the largest margin or segment. */
static long long cls_need(wim_session *s)
{
    const wim_options *o = &s->o;
    if (o->mode == WIM_MODE_LLM ||
        (o->mode == WIM_MODE_WIM && o->classify == WIM_CLASSIFY_ONE_PASS))
        return 0;
    bool seg = o->mode == WIM_MODE_RAG;
    int largest = o->max_margin_tokens;
    for (int i = 0; seg && i < s->doc.n; i++)
        if (seg_tokens(&s->doc, i) > largest) largest = seg_tokens(&s->doc, i);
    wim_tokens t = {0};
    int header = add_user_header(s, &t) == 0 ? t.n : 0;
    wim_tokens_free(&t);
    int prompt = prompt_size(s, seg ? WIM_TPL_CLASSIFY_SEGMENT : WIM_TPL_CLASSIFY,
                             seg ? "segment" : "margin");
    long long need = (long long)header + prompt + largest + o->max_verdict_tokens + SLACK_TOKENS;
    return wim_round_up(need);
}

/* Where the limit of a reading's cells comes from, for messages. */
static const char *limit_source(const wim_session *s)
{
    return s->pool      ? "a pool slot's share"
           : s->o.n_ctx ? "set by -c"
                        : "the model's trained context";
}

/* Past the context limit (or asked to): a window (window.c) and the context
 * it and its forks need. */
static int size_window(wim_session *s, int limit, long long *need, int *n_seg)
{
    if (wim_window_size(s, limit, beyond_window, n_seg, need) != 0) return -1;
    s->st.n_window = s->window;
    return 0;
}

static int size_contexts(wim_session *s)
{
    const wim_doc *d = &s->doc;
    long long need = (long long)d->pre.n + d->tok.n +
                     s->n_queries * forks_per_question(s, d->n, d->n, 0) + SLACK_TOKENS,
              cls = cls_need(s);
    int limit = s->o.n_ctx ? s->o.n_ctx : s->m->n_ctx_train, n_seg = d->n;
    s->window = 0;
    bool windowed = (need > limit || s->o.window > 0) && s->o.mode == WIM_MODE_WIM &&
                    s->o.window != WIM_WINDOW_OFF;
    if (windowed && size_window(s, limit, &need, &n_seg) != 0) {
        if (s->o.window > 0) return -1; /* asked for: why it cannot be */
        windowed = false;               /* no window helps: what the whole would need */
    }
    if (!windowed && need > limit) {
        snprintf(s->err, sizeof s->err,
                 "document is %d tokens; with prompts%s it needs %lld, more than the context "
                 "limit of %d tokens (%s)",
                 d->tok.n, s->o.mode == WIM_MODE_WIM ? " and margins" : "", need, limit,
                 limit_source(s));
        return -1;
    }
    if (cls > limit) {
        snprintf(s->err, sizeof s->err,
                 "a verdict prompt needs %lld tokens, more than the context limit of %d tokens "
                 "(%s): lower --max-verdict-tokens%s",
                 cls, limit, limit_source(s),
                 s->o.mode == WIM_MODE_RAG ? " or --segment-tokens" : "");
        return -1;
    }
    int ctx = s->o.n_ctx ? s->o.n_ctx : (int)wim_round_up(need); /* need <= limit */
    if (ctx > limit) ctx = limit;
    s->st.n_ctx = ctx;
    return wim_session_reserve(s, ctx, seqs_need(s, n_seg), (int)cls);
}

/* ============================================================================
 * Verdicts
 * ========================================================================= */

/* The verdict prompt for one margin or raw segment, alone in its conversation. */
static int classify_prompt(wim_session *s, wim_tokens *t, int q, const char *text, size_t len,
                           bool segment)
{
    const wim_value vals[2] = {query_value(s, q), {segment ? "segment" : "margin", text, len}};
    t->n = 0;
    if (add_user_header(s, t) != 0) return -1;
    return wim_add_prompt(s, t, segment ? WIM_TPL_CLASSIFY_SEGMENT : WIM_TPL_CLASSIFY, vals, 2,
                          true);
}

static void emit_verdict(wim_session *s, int seg, int q, const char *raw, wim_verdict v,
                         float p_yes)
{
    wim_emit(s, (wim_event){.type = WIM_EVENT_VERDICT,
                            .segment = seg,
                            .question = q,
                            .text = raw,
                            .relevant = v.relevant,
                            .parsed = v.parsed,
                            .reason = v.reason,
                            .p_yes = p_yes});
}

/* Decodes a verdict prompt into the small context, keeping what it shares with
 * the last one (header, system turn, question): only the rest is computed.
 * Recurrent memory cannot be cut back to that prefix: it starts afresh. */
static int decode_verdict_prompt(wim_session *s, const wim_tokens *prompt)
{
    wim_tokens *cached = &s->cls_cached;
    int same = 0;
    while (same < cached->n && same < prompt->n - 1 && cached->v[same] == prompt->v[same])
        same++;
    if (!wim_cache_cut(s, s->cls, 0, same)) {
        wim_cache_drop(s, s->cls, 0);
        same = 0;
    }
    cached->n = 0;
    int rc = wim_decode(s, s->cls, prompt->v + same, prompt->n - same, 0, same, true, -1);
    if (rc == 0) wim_tokens_add_tokens(cached, prompt->v, prompt->n);
    return rc;
}

/* Classifies a margin or raw segment in the small context; reports a VERDICT.
 * *p_yes: how sure the model was, from its first token's logits. */
static int classify(wim_session *s, int seg, int q, const char *text, size_t len, bool segment,
                    bool *relevant, float *p_yes)
{
    wim_tokens prompt = {0};
    wim_strbuf raw = {0}, shown = {0};
    int rc = classify_prompt(s, &prompt, q, text, len, segment);
    if (rc == 0) rc = decode_verdict_prompt(s, &prompt);
    if (rc == 0) *p_yes = wim_yes_prob(s, s->cls, -1);
    if (rc == 0 && wim_generate_alone(s, s->cls, 0, prompt.n, s->o.max_verdict_tokens, &raw) < 0)
        rc = -1;
    if (rc == 0) {
        wim_seam_verdict(seg, &raw);
        wim_strbuf_append_utf8(&shown, raw.s ? raw.s : "", raw.len);
        wim_verdict v = wim_verdict_parse(wim_strbuf_str(&shown));
        *relevant = v.relevant;
        emit_verdict(s, seg, q, wim_strbuf_str(&shown), v, *p_yes);
    }
    wim_tokens_free(&prompt);
    wim_strbuf_free(&raw);
    wim_strbuf_free(&shown);
    return rc;
}

/* ============================================================================
 * Finished jobs
 * ========================================================================= */

/* Margin seg of question q goes into the answer. */
static bool feeds_answer(const wim_session *s, int q, int seg)
{
    return wim_note_kept(&s->notes[q * s->doc.n + seg]);
}

/* The longest start of text[0..len) (whole characters) that is at most max
 * tokens as text. A margin of n generated tokens can read back as many more
 * (broken characters become U+FFFD), and the verdict and answer contexts are
 * sized for n. */
static size_t fit_tokens(wim_session *s, const char *text, size_t len, int max)
{
    int n;
    while (len > 0 && (n = wim_count_tokens(text, len, s->m)) > max)
        len = wim_utf8_floor(text, len, (size_t)((double)len * max / n * 0.95));
    return len;
}

/* Where the document text a margin after segment seg was shown (the window's
 * segments through seg) last says t[0..len), less the spaces around it: the
 * byte just past it, or -1. So a margin quotes what it read, not only what
 * the window's notes showed it, and its note sits where the fact does. */
static int64_t said_at(const wim_doc *d, int seg, const char *t, size_t len)
{
    while (len > 0 && isspace((unsigned char)*t))
        t++, len--;
    while (len > 0 && isspace((unsigned char)t[len - 1]))
        len--;
    size_t lo = d->spans[d->win_first].start, hi = d->spans[seg].start + d->spans[seg].len;
    if (len == 0 || hi - lo < len) return -1;
    for (size_t at = hi - len + 1; at-- > lo;)
        if (d->text[at] == *t && memcmp(d->text + at, t, len) == 0) return (int64_t)(at + len);
    return -1;
}

/* A verdict on margin seg of question q that no model gave: with
 * quoted_margins, a margin that does not quote the document is dropped
 * unjudged. */
static void emit_unquoted(wim_session *s, int seg, int q)
{
    emit_verdict(s, seg, q, "", (wim_verdict){.reason = "not quoted from the document"}, 0.0f);
}

/* Reports a margin, classifies it, and keeps its note when relevant. */
static int margin_done(wim_session *s, wim_job *j)
{
    wim_strbuf margin = {0};
    wim_strbuf_append_utf8(&margin, j->raw.s ? j->raw.s : "", j->raw.len);
    const char *text = wim_strbuf_str(&margin);
    /* events show it whole; prompts get the start of it that fits their room */
    size_t fits = fit_tokens(s, text, margin.len, s->o.max_margin_tokens);
    s->st.n_margins++;
    wim_emit(s, (wim_event){.type = WIM_EVENT_MARGIN,
                            .segment = j->seg,
                            .question = j->q,
                            .n_tokens = j->n_gen,
                            .text = text});
    wim_verdict v = {.relevant = true};
    const char *note = text;
    size_t note_len = fits;
    float p_yes = j->p_yes;
    int rc = 0;
    if (j->one_pass) {
        v = wim_verdict_parse(text);
        /* a parsed answer's reason lies inside text; an unparsed one's is "" */
        size_t at = v.parsed ? (size_t)(v.reason - text) : fits;
        note = v.reason;
        note_len = at < fits ? fits - at : 0;
    }
    int64_t said = said_at(&s->doc, j->seg, note, note_len);
    if (v.relevant && s->o.quoted_margins && said < 0) {
        v.relevant = false;
        emit_unquoted(s, j->seg, j->q);
    } else if (j->one_pass) {
        emit_verdict(s, j->seg, j->q, text, v, p_yes);
    } else {
        rc = classify(s, j->seg, j->q, text, fits, false, &v.relevant, &p_yes);
    }
    if (rc == 0 && !v.relevant && s->o.assume_relevant) {
        v.relevant = true;
        note = text;
        note_len = fits;
        said = said_at(&s->doc, j->seg, note, note_len);
    }
    if (rc == 0) {
        wim_note *n = &s->notes[j->q * s->doc.n + j->seg];
        s->st.n_relevant += v.relevant;
        n->verdict = v.relevant;
        n->p_yes = p_yes;
        wim_strbuf_clear(&n->text);
        wim_strbuf_append(&n->text, note, note_len);
        n->said = said;
    }
    wim_strbuf_free(&margin);
    return rc;
}

/* ANSWER, with the segments whose margins fed it (in wim mode). */
static int answer_done(wim_session *s, wim_job *j)
{
    wim_strbuf *a = &s->answers[j->q];
    wim_strbuf_append_utf8(a, j->raw.s ? j->raw.s : "", j->raw.len);
    int *used = calloc((size_t)(s->doc.n ? s->doc.n : 1), sizeof *used), n_used = 0;
    if (!used) {
        snprintf(s->err, sizeof s->err, "out of memory");
        return -1;
    }
    for (int i = 0; s->o.mode == WIM_MODE_WIM && i < s->doc.n; i++)
        if (feeds_answer(s, j->q, i)) used[n_used++] = i;
    wim_emit(s, (wim_event){.type = WIM_EVENT_ANSWER,
                            .question = j->q,
                            .n_tokens = j->n_gen,
                            .text = wim_strbuf_str(a),
                            .used = used,
                            .n_used = n_used});
    free(used);
    return 0;
}

/* One step of the jobs, with document tokens doc[0..n_doc) of segment seg
 * riding along; then what each finished job means: a margin is classified, an
 * answer closed. Returns document tokens decoded, or -1. */
static int step(wim_session *s, const llama_token *doc, int n_doc, int seg)
{
    wim_job done[WIM_MAX_SEQ];
    int n_done, k = wim_step(s, doc, n_doc, seg, done, &n_done);
    for (int i = 0; i < n_done; i++) {
        if (k >= 0 && (done[i].kind == WIM_JOB_MARGIN ? margin_done(s, &done[i])
                                                      : answer_done(s, &done[i])) != 0)
            k = -1;
        wim_job_end(s, &done[i]);
    }
    return k;
}

/* A stop asked for after the jobs in flight began ends them now, within one
 * step: margins not yet written are dropped, answers end where they are. */
static int cut_jobs(wim_session *s)
{
    wim_job done[WIM_MAX_SEQ];
    int n_done, rc = 0;
    wim_jobs_cut(s, done, &n_done);
    for (int i = 0; i < n_done; i++) {
        if (rc == 0 && done[i].kind == WIM_JOB_ANSWER && s->stop != WIM_ABORT)
            rc = answer_done(s, &done[i]);
        wim_job_end(s, &done[i]);
    }
    return rc;
}

/* Steps without document tokens until no job is left. 0, or -1. */
static int drain(wim_session *s)
{
    while (s->n_jobs > 0) {
        if (wim_poll(s) > s->stop_floor) return cut_jobs(s);
        if (step(s, NULL, 0, -1) < 0) return -1;
    }
    return 0;
}

/* ============================================================================
 * Margins and answers
 * ========================================================================= */

/* Starts the margin job of question q after segment seg, making room if needed. */
static int start_margin(wim_session *s, int seg, int q, const wim_tokens *prompt)
{
    llama_pos cells = wim_doc_cells_through(&s->doc, seg);
    int started;
    while ((started = wim_job_start(s, WIM_JOB_MARGIN, seg, q, cells, prompt, NULL,
                                    s->o.max_margin_tokens)) == 0) {
        if (wim_poll(s) > s->stop_floor) return cut_jobs(s);
        if (step(s, NULL, 0, -1) < 0) return -1;
    }
    return started < 0 ? -1 : 0;
}

/* A kept note as listed: where the document says it (or its segment's end
 * where it does not) and the order it came in, which breaks ties. */
typedef struct listed_note {
    int k;       /* the note's index in s->notes */
    int64_t key; /* said, or the end of its segment */
    int order;
} listed_note;

/* The texts listed so far: an open-addressed set of their hashes, so that a
 * note is checked against the earlier ones at once, not against each of them
 * (a long reading keeps thousands). */
typedef struct listed {
    struct listed_text {
        uint64_t hash; /* 0 = empty */
        int entry;     /* its listed_note */
    } * at;            /* [cap] */
    size_t cap;
} listed;

/* The entry of note k's text in l: its own, or a new one (hash 0 until
 * filled); e holds the notes listed so far. */
static struct listed_text *list_entry(const wim_session *s, listed *l, const listed_note *e, int k,
                                      uint64_t *hash)
{
    const wim_note *n = &s->notes[k];
    uint64_t h = XXH3_64bits(n->text.s, n->text.len) | 1;
    size_t i = (size_t)h & (l->cap - 1);
    for (; l->at[i].hash; i = (i + 1) & (l->cap - 1))
        if (l->at[i].hash == h && wim_note_same_text(&s->notes[e[l->at[i].entry].k], n)) break;
    *hash = h;
    return &l->at[i];
}

/* Lists note k of segment seg. once: each text once, moved to where a later
 * note says it again in the document, not where it only repeats the notes
 * carried (the same text, not the same quote). Else every note, but one that
 * says the same text at the same place as an earlier one (a margin quoting
 * an earlier segment's fact again) is that one. */
static void list_note(const wim_session *s, listed *l, bool once, int k, int seg, listed_note *e,
                      int *n)
{
    const wim_note *note = &s->notes[k];
    const wim_span *sp = &s->doc.spans[seg];
    listed_note mine = {k, note->said >= 0 ? note->said : (int64_t)(sp->start + sp->len), *n};
    uint64_t h;
    struct listed_text *t = list_entry(s, l, e, k, &h);
    if (t->hash) {
        listed_note *old = &e[t->entry];
        if (once) { /* the last copy said stands for the text */
            if (note->said >= 0 && mine.key >= old->key) old->key = mine.key, old->k = k;
            return;
        }
        if (old->key == mine.key) return; /* the same quote again */
    }
    *t = (struct listed_text){h, *n};
    e[(*n)++] = mine;
}

static int by_place(const void *a, const void *b)
{
    const listed_note *x = a, *y = b;
    return x->key != y->key ? (x->key > y->key) - (x->key < y->key) : x->order - y->order;
}

int wim_listed_notes(wim_session *s, int q0, int q1, int n_seg, bool once, int **at, int *n)
{
    size_t most = (size_t)(q1 - q0) * (size_t)n_seg, cap = 16;
    while (cap < 2 * most)
        cap *= 2;
    listed l = {calloc(cap, sizeof *l.at), cap};
    listed_note *e = malloc((most + 1) * sizeof *e);
    *n = 0;
    *at = malloc((most + 1) * sizeof **at);
    if (!*at || !l.at || !e) {
        free(l.at);
        free(e);
        free(*at);
        *at = NULL;
        snprintf(s->err, sizeof s->err, "out of memory listing the notes");
        return -1;
    }
    for (int i = 0; i < n_seg; i++)
        for (int q = q0; q < q1; q++)
            if (feeds_answer(s, q, i)) list_note(s, &l, once, q * s->doc.n + i, i, e, n);
    qsort(e, (size_t)*n, sizeof *e, by_place);
    for (int i = 0; i < *n; i++)
        (*at)[i] = e[i].k;
    free(l.at);
    free(e);
    return 0;
}

void wim_format_notes(const wim_session *s, const int *at, int n, wim_strbuf *out)
{
    for (int i = 0; i < n; i++) {
        const wim_strbuf *t = &s->notes[at[i]].text;
        if (out->len) wim_strbuf_puts(out, "\n");
        wim_strbuf_puts(out, "- ");
        wim_strbuf_append(out, t->s, t->len);
    }
}

/* The notes of question q's answer: its kept margins, in document order
 * (wim_listed_notes); past the context each text once, as the carried notes
 * have them (so that they stay within the room sized for them). How many,
 * or -1. */
static int join_notes(wim_session *s, int q, wim_strbuf *out)
{
    int *at, n;
    if (wim_listed_notes(s, q, q + 1, s->doc.n, s->window > 0, &at, &n) != 0) return -1;
    wim_format_notes(s, at, n, out);
    free(at);
    if (out->len > 0) return n;
    wim_strbuf_puts(out, "(none)");
    return 0;
}

int wim_session_overrule(wim_session *s, int question, int segment, int keep, char *err,
                         size_t errlen)
{
    const char *bad = !s->notes || s->o.mode != WIM_MODE_WIM     ? "only a wim run has margins"
                      : question < 0 || question >= s->n_queries ? "no such question"
                      : segment < 0 || segment >= s->doc.n       ? "no such margin"
                      : keep < -1 || keep > 1                    ? "keep must be 1, 0 or -1"
                      : question < s->n_sealed ? "the answer is already being written"
                                               : NULL;
    if (bad) {
        snprintf(err, errlen, "%s", bad);
        return -1;
    }
    s->notes[question * s->doc.n + segment].overrule = (signed char)keep;
    return 0;
}

/* Questions q0..q1-1 answered, each in a fork of what was read, together. */
static int answer_all(wim_session *s, wim_template_id id, int q0, int q1)
{
    int rc = 0;
    s->stop_floor = wim_poll(s); /* a stop that ended the reading still lets them answer */
    for (int q = q0; q < q1 && rc == 0; q++) {
        wim_strbuf notes = {0};
        s->n_sealed = q + 1;
        int n_notes = id == WIM_TPL_ANSWER ? join_notes(s, q, &notes) : 0;
        if (n_notes < 0) rc = -1;
        const wim_value vals[2] = {query_value(s, q),
                                   {"margins", wim_strbuf_str(&notes), notes.len}};
        /* what the answer may quote: the notes it is shown, if any */
        const char *shown = n_notes > 0 ? wim_strbuf_str(&notes) : NULL;
        wim_tokens prompt = {0};
        if (rc == 0) rc = wim_add_prompt(s, &prompt, id, vals, 2, true);
        int started = 0;
        while (rc == 0 && (started = wim_job_start(s, WIM_JOB_ANSWER, -1, q, s->doc.n_past, &prompt,
                                                   shown, s->o.max_answer_tokens)) == 0)
            rc = step(s, NULL, 0, -1) < 0 ? -1 : 0;
        if (started < 0) rc = -1;
        wim_tokens_free(&prompt);
        wim_strbuf_free(&notes);
    }
    return rc == 0 ? drain(s) : -1;
}

/* ============================================================================
 * The three modes
 * ========================================================================= */

/* Reading past the context, restarted: once the margins in flight are
 * judged, sequence 0 goes back to the preamble, then the notes carried
 * (window.c), and segment seg is read next. 0, or -1. */
static int restart_window(wim_session *s, int seg, const wim_tokens *carried)
{
    wim_doc *d = &s->doc;
    int rc = wim_cache_window(s, seg) ? 0 : read_preamble(s);
    if (rc == 0)
        rc = wim_decode(s, s->ctx, carried->v, carried->n, WIM_SEQ_DOC, d->pre.n, false, -1);
    if (rc != 0) return rc;
    d->win_first = d->n_read = seg;
    d->n_past = d->win_pre = d->pre.n + carried->n;
    return 0;
}

/* The first segment of a shifted window that ends with segment seg: the
 * oldest let go, just enough for seg to fit. */
static int shift_first(const wim_session *s, int seg)
{
    const wim_doc *d = &s->doc;
    int first = d->win_first + 1;
    while (first < seg &&
           d->win_pre + d->tok_off[seg + 1] - d->tok_off[first] > (llama_pos)s->window)
        first++;
    return first;
}

/* Reading past the context, shifted: segments before first let go and the
 * rest moved back after the preamble; the notes of those let go go to the
 * answer alone. */
static void shift_window(wim_session *s, int first, int seg)
{
    wim_doc *d = &s->doc;
    wim_cache_shift(s, first);
    d->win_first = first;
    d->n_past = wim_doc_cells_through(d, seg - 1);
}

/* Segment seg would pass the window: the margins in flight are judged, the
 * notes of the segments let go kept within their budget, and the window
 * moves on, shifted where the option and the memory allow, else restarted. */
static int next_window(wim_session *s, int seg)
{
    wim_doc *d = &s->doc;
    bool shift = s->o.window_shift && wim_cache_can_shift(s);
    int first = shift ? shift_first(s, seg) : seg;
    int rc = drain(s);
    wim_tokens carried = {0};
    if (rc == 0 && s->stop == WIM_CONTINUE) rc = wim_window_carry(s, first, &carried);
    if (rc == 0 && s->stop == WIM_CONTINUE) {
        if (shift)
            shift_window(s, first, seg);
        else
            rc = restart_window(s, seg, &carried);
    }
    if (rc == 0 && s->stop == WIM_CONTINUE) {
        s->st.n_segments_let_go = d->win_first;
        wim_emit(s, (wim_event){.type = WIM_EVENT_WINDOW,
                                .segment = d->win_first,
                                .n_tokens = shift ? 0 : carried.n});
    }
    wim_tokens_free(&carried);
    return rc;
}

/* Segment i would pass the window: the window moves on first. */
static bool past_window(const wim_session *s, int i)
{
    const wim_doc *d = &s->doc;
    return s->window && i > d->win_first && d->n_past + seg_tokens(d, i) > s->window;
}

static int run_wim(wim_session *s)
{
    wim_tokens *ex = calloc((size_t)s->n_queries, sizeof *ex);
    int rc = ex ? extract_prompts(s, ex) : -1;
    bool sequential = s->o.schedule == WIM_SCHEDULE_SEQUENTIAL;
    for (int i = 0; rc == 0 && i < s->doc.n && s->stop == WIM_CONTINUE; i++) {
        if (past_window(s, i)) rc = next_window(s, i);
        if (rc != 0 || s->stop != WIM_CONTINUE) break;
        rc = read_segment(s, i);
        for (int q = 0; rc == 0 && q < s->n_queries && s->stop == WIM_CONTINUE; q++)
            rc = start_margin(s, i, q, &ex[q]);
        if (rc == 0 && sequential) rc = drain(s);
    }
    if (rc >= 0) rc = drain(s);
    if (rc >= 0 && s->stop != WIM_ABORT) rc = answer_all(s, WIM_TPL_ANSWER, 0, s->n_queries);
    if (ex) free_prompts(ex, s->n_queries);
    free(ex);
    return rc < 0 ? -1 : 0;
}

static int run_llm(wim_session *s)
{
    int rc = 0;
    for (int i = 0; rc == 0 && i < s->doc.n && s->stop == WIM_CONTINUE; i++)
        rc = read_segment(s, i);
    if (rc >= 0 && s->stop != WIM_ABORT) rc = answer_all(s, WIM_TPL_ANSWER_LLM, 0, s->n_queries);
    return rc < 0 ? -1 : 0;
}

/* Question q over the segments it keeps: they go into sequence 0 in order. */
static int rag_one(wim_session *s, int q)
{
    wim_doc *d = &s->doc;
    int rc = 0;
    if (!wim_cache_cut(s, s->ctx, WIM_SEQ_DOC, d->pre.n)) rc = read_preamble(s);
    d->n_past = d->pre.n;
    for (int i = 0; rc == 0 && i < d->n && s->stop == WIM_CONTINUE; i++) {
        bool keep = false;
        float p_yes;
        const wim_span *sp = &d->spans[i];
        rc = classify(s, i, q, d->text + sp->start, sp->len, true, &keep, &p_yes);
        if (rc != 0) break;
        if (i + 1 > s->st.n_segments_read) s->st.n_segments_read = i + 1;
        s->st.n_read_tokens += seg_tokens(d, i);
        wim_emit(s, (wim_event){.type = WIM_EVENT_PROGRESS, .segment = i});
        if (!keep) continue;
        s->st.n_relevant++;
        rc = wim_decode(s, s->ctx, d->tok.v + d->tok_off[i], seg_tokens(d, i), WIM_SEQ_DOC,
                        d->n_past, false, -1);
        d->n_past += seg_tokens(d, i);
        if (rc == 0)
            wim_emit(s, (wim_event){
                            .type = WIM_EVENT_SEGMENT, .segment = i, .n_tokens = seg_tokens(d, i)});
    }
    if (rc < 0 || s->stop == WIM_ABORT) return rc;
    return answer_all(s, WIM_TPL_ANSWER_LLM, q, q + 1);
}

/* Each question classifies the raw segments for itself. */
static int run_rag(wim_session *s)
{
    int rc = 0;
    for (int q = 0; q < s->n_queries && rc == 0 && s->stop == WIM_CONTINUE; q++) {
        if (q > 0) s->st.n_read_tokens = 0;
        rc = rag_one(s, q);
    }
    return rc < 0 ? -1 : 0;
}

/* ============================================================================
 * A run
 * ========================================================================= */

/* rc, once the run that returns it has let go of any interrupt it was asked for. */
static int ended(wim_session *s, int rc)
{
    atomic_store(&s->interrupt, WIM_CONTINUE);
    return rc;
}

static int begin(wim_session *s, const char *const *queries, int n_queries, wim_event_fn cb,
                 void *user)
{
    s->cb = cb;
    s->user = user;
    s->queries = queries;
    s->n_queries = n_queries;
    s->t0_ms = wim_now_ms();
    s->st = (wim_stats){0};
    /* an interrupt asked for before the run began (a server stopping while the
       reading starts) is kept: it is cleared when a run ends (ended) */
    s->stop = s->stop_floor = WIM_CONTINUE;
    s->err[0] = '\0';
    return check_queries(s);
}

static int alloc_results(wim_session *s)
{
    size_t n = (size_t)s->n_queries * (size_t)(s->doc.n ? s->doc.n : 1);
    s->notes = calloc(n, sizeof *s->notes);
    s->answers = calloc((size_t)s->n_queries, sizeof *s->answers);
    s->n_sealed = 0;
    for (size_t i = 0; s->notes && i < n; i++)
        s->notes[i].verdict = s->notes[i].overrule = -1, s->notes[i].said = -1;
    if (s->notes && s->answers) return 0;
    snprintf(s->err, sizeof s->err, "out of memory");
    return -1;
}

static void free_results(wim_session *s)
{
    for (int i = 0; s->notes && i < s->n_queries * s->doc.n; i++)
        wim_strbuf_free(&s->notes[i].text);
    for (int q = 0; s->answers && q < s->n_queries; q++)
        wim_strbuf_free(&s->answers[q]);
    free(s->notes);
    free(s->answers);
    s->notes = NULL;
    s->answers = NULL;
}

/* DONE with every answer; then the run's results are let go. */
static void finish(wim_session *s)
{
    const char **answers = calloc((size_t)s->n_queries, sizeof *answers);
    for (int q = 0; answers && q < s->n_queries; q++)
        answers[q] = wim_strbuf_str(&s->answers[q]);
    s->st.stopped_early = s->stop == WIM_STOP;
    s->st.total_ms = wim_now_ms() - s->t0_ms;
    wim_emit(s, (wim_event){.type = WIM_EVENT_DONE, .answers = answers});
    free(answers);
}

static int run_mode(wim_session *s)
{
    return s->o.mode == WIM_MODE_WIM   ? run_wim(s)
           : s->o.mode == WIM_MODE_LLM ? run_llm(s)
                                       : run_rag(s);
}

/* The part shared by reading and asking: START, the work, DONE. */
static int conduct(wim_session *s, int (*work)(wim_session *))
{
    int rc = alloc_results(s);
    if (rc == 0) {
        wim_emit(s, (wim_event){.type = WIM_EVENT_START, .options = &s->o});
        if (s->stop != WIM_ABORT) rc = work(s);
    }
    wim_jobs_free(s);
    if (rc != 0 && s->stop == WIM_ABORT) rc = 0; /* a decode cut short by the abort */
    if (rc == 0 && s->stop != WIM_ABORT) finish(s);
    free_results(s);
    if (rc != 0) return -1;
    return s->stop == WIM_ABORT ? 1 : 0;
}

static int read_all(wim_session *s)
{
    wim_doc *d = &s->doc;
    if (read_preamble(s) != 0) return -1;
    int rc = run_mode(s);
    s->doc_whole = rc == 0 && s->o.mode != WIM_MODE_RAG && d->n_read == d->n && !s->window;
    return rc;
}

static int read_nothing(wim_session *s)
{
    (void)s;
    return 0;
}

static int run_many(wim_session *s, const char *doc, size_t doc_len, const char *const *queries,
                    int n_queries, wim_event_fn cb, void *user)
{
    if (begin(s, queries, n_queries, cb, user) != 0) return -1;
    if (doc_open(s, doc ? doc : "", doc ? doc_len : 0) != 0) {
        int how = wim_poll(s) == WIM_CONTINUE ? -1 : doc_interrupted(s);
        /* stopped before anything was read: a run of nothing, stopped early */
        return how == WIM_STOP ? conduct(s, read_nothing) : how == WIM_ABORT ? 1 : -1;
    }
    s->st.n_doc_tokens = s->doc.tok.n;
    s->st.n_segments = s->doc.n;
    if (size_contexts(s) != 0) return -1;
    return conduct(s, read_all);
}

int wim_session_run_many(wim_session *s, const char *doc, size_t doc_len,
                         const char *const *queries, int n_queries, wim_event_fn cb, void *user)
{
    return ended(s, run_many(s, doc, doc_len, queries, n_queries, cb, user));
}

int wim_session_run(wim_session *s, const char *doc, size_t doc_len, const char *query,
                    wim_event_fn cb, void *user)
{
    const char *const queries[1] = {query ? query : ""};
    return wim_session_run_many(s, doc, doc_len, queries, 1, cb, user);
}

/* ============================================================================
 * Asking a document already read
 * ========================================================================= */

/* Questions q0..q1-1: every segment's margin at once, each from its own
 * prefix of the cache, then the answers. */
static int ask_wim(wim_session *s, const wim_tokens *ex, int q0, int q1)
{
    int rc = 0;
    for (int i = 0; rc == 0 && i < s->doc.n && s->stop == WIM_CONTINUE; i++)
        for (int q = q0; rc == 0 && q < q1; q++)
            rc = start_margin(s, i, q, &ex[q]);
    if (rc == 0) rc = drain(s);
    if (rc == 0 && s->stop != WIM_ABORT) rc = answer_all(s, WIM_TPL_ANSWER, q0, q1);
    return rc;
}

/* As many questions at a time as the context has room for. */
static int ask(wim_session *s)
{
    s->st.n_segments_read = s->doc.n;
    s->st.n_read_tokens = s->doc.tok.n;
    int group = (int)((s->ctx_size - s->doc.n_past) / forks_per_question(s, s->doc.n, s->doc.n, 0));
    wim_tokens *ex = calloc((size_t)s->n_queries, sizeof *ex);
    int rc = ex ? extract_prompts(s, ex) : -1;
    for (int q0 = 0; rc == 0 && q0 < s->n_queries && s->stop != WIM_ABORT; q0 += group) {
        int q1 = q0 + group < s->n_queries ? q0 + group : s->n_queries;
        rc = s->o.mode == WIM_MODE_WIM ? ask_wim(s, ex, q0, q1)
                                       : answer_all(s, WIM_TPL_ANSWER_LLM, q0, q1);
    }
    if (ex) free_prompts(ex, s->n_queries);
    free(ex);
    return rc;
}

static int ask_many(wim_session *s, const char *const *queries, int n_queries, wim_event_fn cb,
                    void *user)
{
    if (begin(s, queries, n_queries, cb, user) != 0) return -1;
    if (s->o.mode == WIM_MODE_RAG) {
        snprintf(s->err, sizeof s->err,
                 "rag mode reads only the segments it keeps: it cannot "
                 "ask a document read before");
        return -1;
    }
    if (!s->doc_whole) {
        snprintf(s->err, sizeof s->err, "%s to ask about",
                 s->window ? "the document was read past the context: only its last window is "
                             "in memory, nothing whole"
                           : "no document read to the end");
        return -1;
    }
    s->st.n_doc_tokens = s->doc.tok.n;
    s->st.n_segments = s->doc.n;
    s->st.n_ctx = s->ctx_size;
    long long need = forks_per_question(s, s->doc.n, s->doc.n, 0);
    if (need > s->ctx_size - s->doc.n_past) {
        snprintf(s->err, sizeof s->err,
                 "the document leaves %d tokens of its %d-token context; a question needs %lld",
                 s->ctx_size - s->doc.n_past, s->ctx_size, need);
        return -1;
    }
    /* the cache stays in its context; with fewer sequences jobs wait for one */
    long long cls = cls_need(s);
    if (cls > s->ctx_size) {
        snprintf(s->err, sizeof s->err,
                 "a verdict prompt needs %lld tokens, more than the %d-token context", cls,
                 s->ctx_size);
        return -1;
    }
    if (wim_session_reserve(s, s->ctx_size, s->n_seq, (int)cls) != 0) return -1;
    return conduct(s, ask);
}

/* ============================================================================
 * A conversation, answered as the model's own chat would
 * ========================================================================= */

/* The conversation, rendered by the model's template and tokenized, as a
 * document of no segments: all but its last token are the cached preamble;
 * the last is the answer's prompt, whose logits begin the reply. */
static int chat_open(wim_session *s, const wim_message *msgs, int n, wim_tokens *reply)
{
    wim_doc *d = &s->doc;
    wim_doc_free(d);
    s->doc_whole = false;
    const char **roles = calloc((size_t)n, sizeof *roles);
    const char **texts = calloc((size_t)n, sizeof *texts);
    char *text = NULL;
    int rc = roles && texts && (d->tok_off = calloc(1, sizeof *d->tok_off)) ? 0 : -1;
    if (rc != 0) snprintf(s->err, sizeof s->err, "out of memory");
    for (int i = 0; rc == 0 && i < n; i++) {
        roles[i] = msgs[i].role ? msgs[i].role : "";
        texts[i] = msgs[i].content ? msgs[i].content : "";
        if (!*roles[i] || !wim_utf8_valid(texts[i], strlen(texts[i]), NULL)) {
            snprintf(s->err, sizeof s->err, "message %d needs a role and UTF-8 text", i + 1);
            rc = -1;
        }
    }
    if (rc == 0)
        rc = (text = wim_chat_template_conversation(s->m->model, NULL, roles, texts, n, s->o.think,
                                                    s->err, sizeof s->err))
                 ? 0
                 : -1;
    if (rc == 0 && (add_chat_opening(s, &d->pre, text) != 0 || d->pre.n < 1)) {
        snprintf(s->err, sizeof s->err, "cannot tokenize the conversation");
        rc = -1;
    }
    if (rc == 0) rc = wim_tokens_add_tokens(reply, &d->pre.v[--d->pre.n], 1);
    free(text);
    free(roles);
    free(texts);
    return rc;
}

/* The conversation and its reply must fit the context limit. */
static int chat_fits(wim_session *s)
{
    long long need = s->doc.pre.n + 1LL + s->o.max_answer_tokens + SLACK_TOKENS;
    int limit = s->o.n_ctx ? s->o.n_ctx : s->m->n_ctx_train;
    if (need <= limit) return 0;
    snprintf(s->err, sizeof s->err,
             "the conversation is %d tokens; with the answer it needs %lld, more than the "
             "context limit of %d tokens (%s)",
             s->doc.pre.n + 1, need, limit, limit_source(s));
    return -1;
}

static int run_chat(wim_session *s)
{
    if (read_preamble(s) != 0) return -1;
    s->stop_floor = wim_poll(s);
    s->n_sealed = 1;
    int started;
    while ((started = wim_job_start(s, WIM_JOB_ANSWER, -1, 0, s->doc.n_past, &s->reply, NULL,
                                    s->o.max_answer_tokens)) == 0)
        if (step(s, NULL, 0, -1) < 0) return -1;
    return started < 0 ? -1 : drain(s);
}

int wim_session_ask(wim_session *s, const char *const *queries, int n_queries, wim_event_fn cb,
                    void *user)
{
    return ended(s, ask_many(s, queries, n_queries, cb, user));
}

static int chat(wim_session *s, const wim_message *msgs, int n_msgs, wim_event_fn cb, void *user)
{
    if (!msgs || n_msgs < 1) {
        snprintf(s->err, sizeof s->err, "no messages");
        return -1;
    }
    const char *last = msgs[n_msgs - 1].content;
    const char *const queries[1] = {last ? last : ""};
    if (begin(s, queries, 1, cb, user) != 0) return -1;
    wim_mode mode = s->o.mode;
    s->o.mode = WIM_MODE_LLM; /* the conversation is read whole, as the llm baseline reads */
    wim_tokens_free(&s->reply);
    int rc =
        chat_open(s, msgs, n_msgs, &s->reply) == 0 && chat_fits(s) == 0 && size_contexts(s) == 0
            ? conduct(s, run_chat)
            : -1;
    s->o.mode = mode;
    return rc;
}

int wim_session_chat(wim_session *s, const wim_message *msgs, int n_msgs, wim_event_fn cb,
                     void *user)
{
    return ended(s, chat(s, msgs, n_msgs, cb, user));
}
