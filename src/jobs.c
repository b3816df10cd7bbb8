/*
 * jobs.c - margins and answers as jobs that share micro-batches.
 *
 * Every job generates in a sequence of its own, forked from the document. A
 * step is one llama_decode: each job's next tokens (the rest of its prompt, or
 * the token it sampled last), then document tokens in the room that is left.
 * So margins can ride in the prefill of later segments (the overlapped
 * schedule), several questions' margins advance together, and with no
 * document tokens the same step is plain batched decoding. A step hands the
 * jobs it finished back to its caller (engine.c), which knows what a margin or
 * an answer means.
 */
#include "cache.h"
#include "jobs.h"
#include "lookup.h"
#include "quote.h"
#include "seam.h"
#include "text.h"
#include "verdict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static llama_seq_id take_seq(wim_session *s)
{
    for (llama_seq_id q = 1; q < s->n_seq; q++)
        if (!s->seq_used[q]) {
            s->seq_used[q] = true;
            return q;
        }
    return -1;
}

/* The job's sampler: the session's; for a margin that must quote the
 * document, held to the text it was shown, and for an answer that must quote
 * its notes, to those, once it starts copying (quote.c). */
static struct llama_sampler *job_sampler(wim_session *s, wim_job_kind kind, int seg,
                                         const char *notes)
{
    struct llama_sampler *smpl = llama_sampler_clone(s->smpl);
    llama_sampler_reset(smpl);
    bool margin = kind == WIM_JOB_MARGIN && s->o.quoted_margins;
    bool answer = kind == WIM_JOB_ANSWER && s->o.quoted_answers && notes;
    if (!margin && !answer) return smpl;
    if (!s->pieces) s->pieces = wim_pieces_new(s->m);
    /* a quote sampler takes smpl over, and frees it if it fails */
    if (!s->pieces) {
        llama_sampler_free(smpl);
        smpl = NULL;
    } else if (margin) {
        const wim_doc *d = &s->doc;
        wim_quote_source src = {d->text, d->spans, d->tok.v, d->tok_off, d->win_first, seg};
        smpl = wim_quote_sampler(s->pieces, &src, smpl);
    } else {
        smpl = wim_notes_sampler(s->pieces, notes, strlen(notes), smpl);
    }
    if (!smpl) snprintf(s->err, sizeof s->err, "out of memory");
    return smpl;
}

int wim_job_start(wim_session *s, wim_job_kind kind, int seg, int q, llama_pos n_cells,
                  const wim_tokens *prompt, const char *notes, int max_gen)
{
    llama_seq_id seq = take_seq(s);
    if (seq < 0) return 0;
    struct llama_sampler *smpl = job_sampler(s, kind, seg, notes);
    if (!smpl || wim_cache_fork(s, seq, n_cells) != 0) {
        if (smpl) llama_sampler_free(smpl);
        s->seq_used[seq] = false;
        return -1;
    }
    wim_job *j = &s->jobs[s->n_jobs++];
    *j = (wim_job){.kind = kind,
                   .seg = seg,
                   .q = q,
                   .seq = seq,
                   .pos = n_cells,
                   .logits_at = -1,
                   .max_gen = max_gen};
    j->one_pass = kind == WIM_JOB_MARGIN && s->o.classify == WIM_CLASSIFY_ONE_PASS;
    if (j->one_pass) wim_seam_margin(s->m, seg, &j->forced);
    j->smpl = smpl;
    wim_tokens_add_tokens(&j->feed, prompt->v, prompt->n);
    j->n_prompt = prompt->n;
    return 1;
}

void wim_job_end(wim_session *s, wim_job *j)
{
    wim_cache_drop(s, s->ctx, j->seq);
    s->seq_used[j->seq] = false;
    llama_sampler_free(j->smpl);
    wim_tokens_free(&j->feed);
    wim_tokens_free(&j->forced);
    wim_strbuf_free(&j->raw);
}

void wim_jobs_free(wim_session *s)
{
    for (int i = 0; i < s->n_jobs; i++)
        wim_job_end(s, &s->jobs[i]);
    s->n_jobs = 0;
}

/* ============================================================================
 * A step
 * ========================================================================= */

/* What the job's next tokens are drafted from: the segment a margin follows,
 * the whole document for an answer. */
static wim_tokens lookup_source(const wim_session *s, const wim_job *j)
{
    const wim_doc *d = &s->doc;
    if (j->seg < 0 || j->seg >= d->n) return (wim_tokens){.v = d->tok.v, .n = d->tok.n};
    return (wim_tokens){.v = d->tok.v + d->tok_off[j->seg],
                        .n = d->tok_off[j->seg + 1] - d->tok_off[j->seg]};
}

/* Drafts the job's next tokens after its last sampled one, at most room - 1 of
 * them and none past its limit: only while it generates, and only where a
 * rejected draft can be cut off the memory again. */
static void draft(wim_session *s, wim_job *j, int room)
{
    j->n_draft = 0;
    int max = s->o.draft_max;
    if (max > room - 1) max = room - 1;
    if (max > j->max_gen - j->n_gen - 1) max = j->max_gen - j->n_gen - 1;
    if (max <= 0 || j->feed.n - j->fed != 1 || !wim_cache_can_undo(s->m)) return;
    wim_tokens src = lookup_source(s, j);
    j->n_draft = wim_lookup_draft(&j->feed, &src, max, j->draft);
    s->st.n_draft_tokens += j->n_draft;
}

/* Puts the job's unfed tokens (as many as fit in room) into the batch, and
 * after its last one the tokens drafted, each with its logits. */
static int add_job_tokens(wim_session *s, wim_job *j, int room)
{
    draft(s, j, room);
    int k = j->feed.n - j->fed < room ? j->feed.n - j->fed : room;
    int prompt_left = j->n_prompt - j->fed;
    s->st.n_prefill_tokens += prompt_left < 0 ? 0 : prompt_left < k ? prompt_left : k;
    j->logits_at = -1;
    for (int i = 0; i < k; i++) {
        bool last = j->fed + i == j->feed.n - 1;
        if (last) j->logits_at = s->batch.n_tokens;
        wim_batch_add(&s->batch, j->feed.v[j->fed + i], j->pos++, j->seq, last);
    }
    j->fed += k;
    for (int i = 0; i < j->n_draft; i++)
        wim_batch_add(&s->batch, j->draft[i], j->pos++, j->seq, true);
    return k + j->n_draft;
}

/* Sends the answer's complete UTF-8 characters not yet sent. */
static void stream_answer(wim_session *s, wim_job *j, bool final)
{
    const wim_strbuf *out = &j->raw;
    size_t end = final ? out->len : wim_utf8_floor(out->s, out->len, out->len);
    if (end <= j->sent) return;
    wim_strbuf piece = {0};
    wim_strbuf_append_utf8(&piece, out->s + j->sent, end - j->sent);
    wim_emit(s, (wim_event){.type = WIM_EVENT_ANSWER_TOKEN,
                            .question = j->q,
                            .text = wim_strbuf_str(&piece)});
    wim_strbuf_free(&piece);
    j->sent = end;
}

/* Writes down the token the job generated; true when that finishes the job. */
static bool take(wim_session *s, wim_job *j, llama_token tok)
{
    if (llama_vocab_is_eog(s->m->vocab, tok) && !s->o.fixed_length) return true;
    char piece[256];
    int len = wim_token_piece(s->m, tok, piece, sizeof piece);
    if (len > 0) wim_strbuf_append(&j->raw, piece, (size_t)len);
    j->n_gen++;
    s->st.n_decode_tokens++;
    if (j->kind == WIM_JOB_ANSWER) stream_answer(s, j, false);
    if (j->n_gen >= j->max_gen) return true;
    return j->one_pass && wim_verdict_prefix(wim_strbuf_str(&j->raw)) == 0;
}

/* Samples the job's next token from the logits of batch index idx (or takes
 * the test seam's). */
static llama_token next_token(wim_session *s, wim_job *j, int idx)
{
    if (j->one_pass && j->n_gen == 0) j->p_yes = wim_yes_prob(s, s->ctx, idx);
    if (j->n_gen >= j->forced.n) return wim_sample(s, j->smpl, s->ctx, idx);
    llama_sampler_accept(j->smpl, j->forced.v[j->n_gen]); /* as if it had chosen it */
    return j->forced.v[j->n_gen];
}

/* Samples the job's next tokens: one, and one more for each drafted token the
 * model wrote too, each from the logits after the one before it, as decoding
 * them one a step would have. The drafts after the first miss are cut off the
 * memory. True when the job is finished. */
static bool verify(wim_session *s, wim_job *j)
{
    int n_draft = j->n_draft;
    j->n_draft = 0;
    for (int i = 0;; i++) {
        llama_token tok = next_token(s, j, j->logits_at + i);
        if (take(s, j, tok)) return true;
        if (i < n_draft && tok == j->draft[i]) { /* in the memory already */
            s->st.n_draft_accepted++;
            wim_tokens_add_tokens(&j->feed, &tok, 1);
            j->fed++;
            continue;
        }
        if (i < n_draft) {
            j->pos -= n_draft - i;
            wim_cache_cut(s, s->ctx, j->seq, j->pos);
        }
        wim_tokens_add_tokens(&j->feed, &tok, 1);
        return false;
    }
}

/* The job's step: its tokens sampled and checked; true when it is finished. */
static bool advance(wim_session *s, wim_job *j)
{
    int before = j->n_gen;
    bool finished = verify(s, j);
    s->st.n_decode_steps += j->n_gen > before;
    return finished;
}

/* Hands the finished jobs over in done[], keeping the others in order. */
static void hand_over(wim_session *s, const bool *finished, wim_job *done, int *n_done)
{
    int kept = 0, n = s->n_jobs;
    *n_done = 0;
    for (int i = 0; i < n; i++) {
        if (!finished[i]) {
            s->jobs[kept++] = s->jobs[i];
            continue;
        }
        if (s->jobs[i].kind == WIM_JOB_ANSWER) stream_answer(s, &s->jobs[i], true);
        done[(*n_done)++] = s->jobs[i];
    }
    s->n_jobs = kept;
}

void wim_jobs_cut(wim_session *s, wim_job *done, int *n_done)
{
    bool all[WIM_MAX_SEQ];
    for (int i = 0; i < s->n_jobs; i++)
        all[i] = true;
    hand_over(s, all, done, n_done);
}

int wim_step(wim_session *s, const llama_token *doc, int n_doc, int seg, wim_job *done, int *n_done)
{
    *n_done = 0;
    s->batch.n_tokens = 0;
    int room = s->o.n_batch, riding = 0, drafted = 0;
    for (int i = 0; i < s->n_jobs; i++) { /* every job, so each one's logits_at is fresh */
        int k = add_job_tokens(s, &s->jobs[i], room);
        room -= k;
        riding += k;
        drafted += s->jobs[i].n_draft;
    }
    int nd = n_doc < room ? n_doc : room;
    for (int i = 0; i < nd; i++)
        wim_batch_add(&s->batch, doc[i], s->doc.n_past + i, WIM_SEQ_DOC, false);
    if (s->batch.n_tokens == 0) return 0;
    double t0 = wim_now_ms();
    if (wim_decode_batch(s, s->ctx) != 0) return -1;
    double ms = wim_now_ms() - t0;
    if (s->trace) /* WIM_TRACE=1: one line a step, for profiling schedules */
        fprintf(stderr, "wim-trace: step doc=%d riding=%d drafted=%d jobs=%d past=%d ms=%.1f\n", nd,
                riding, drafted, s->n_jobs, (int)s->doc.n_past, ms);
    /* generated and drafted tokens alone are decoding; a prompt or the document, prefill */
    bool prefill = nd > 0 || riding - drafted > s->n_jobs;
    *(prefill ? &s->st.prefill_ms : &s->st.decode_ms) += ms;
    s->st.n_prefill_tokens += nd;
    s->doc.n_past += nd;
    if (seg >= 0 && nd > 0) {
        s->st.n_read_tokens += nd;
        wim_emit(s, (wim_event){.type = WIM_EVENT_PROGRESS, .segment = seg});
    }
    bool finished[WIM_MAX_SEQ] = {false};
    for (int i = 0; i < s->n_jobs; i++)
        if (s->jobs[i].logits_at >= 0) finished[i] = advance(s, &s->jobs[i]);
    hand_over(s, finished, done, n_done);
    return nd;
}
