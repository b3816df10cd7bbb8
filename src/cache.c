/*
 * cache.c - every edit of a session's model memory, in one place.
 *
 * A reading forks sequences from the document, cuts them back, drops them,
 * and stores or restores a sequence's state. How that is done depends on two
 * things, decided here and nowhere else:
 *
 *   whose context    a session's own, or a pool's shared one, where the
 *                    session's sequence ids start at its slot's base and an
 *                    edit waits for the step in flight (pool.c);
 *   what memory      plain attention cells can be copied and cut by position;
 *                    sliding-window cells older than the window are gone, and
 *                    recurrent state (Mamba, gated delta-net, LFM2's convs)
 *                    exists only for a sequence's last position. So forking
 *                    from a prefix of the document needs that part of the
 *                    memory as it was at the prefix's end: a checkpoint, taken
 *                    after every segment (llama.cpp's "partial" state), and
 *                    restored into the fork. Cutting recurrent memory back is
 *                    refused; callers then rebuild what they kept.
 */
#include "cache.h"
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ============================================================================
 * Whose context
 * ========================================================================= */

/* The memory of ctx, ready for edits, and the id the session's sequence 0 has there. */
static llama_memory_t edit_begin(wim_session *s, struct llama_context *ctx, llama_seq_id *base)
{
    *base = s->pool ? wim_pool_edit_begin(s, wim_pooled(s, ctx)) : 0;
    return llama_get_memory(ctx);
}

static void edit_end(wim_session *s)
{
    if (s->pool) wim_pool_edit_end(s);
}

/* ============================================================================
 * What memory
 * ========================================================================= */

bool wim_cache_needs_checkpoints(const wim_model *m)
{
    return llama_model_is_recurrent(m->model) || llama_model_is_hybrid(m->model) ||
           llama_model_n_swa(m->model) > 0;
}

bool wim_cache_can_undo(const wim_model *m)
{
    /* a window moved on by rejected tokens has lost the cells it slid past */
    return !wim_cache_needs_checkpoints(m);
}

/* ============================================================================
 * Edits
 * ========================================================================= */

bool wim_cache_cut(wim_session *s, struct llama_context *ctx, llama_seq_id seq, llama_pos p0)
{
    llama_seq_id base;
    llama_memory_t mem = edit_begin(s, ctx, &base);
    bool ok = llama_memory_seq_rm(mem, base + seq, p0, -1);
    edit_end(s);
    return ok;
}

void wim_cache_drop(wim_session *s, struct llama_context *ctx, llama_seq_id seq)
{
    llama_seq_id base;
    llama_memory_t mem = edit_begin(s, ctx, &base);
    if (seq >= 0) {
        llama_memory_seq_rm(mem, base + seq, -1, -1);
    } else if (!s->pool) {
        llama_memory_clear(mem, false);
    } else {
        int n = wim_pool_slot_seqs(s, wim_pooled(s, ctx));
        for (llama_seq_id q = 0; q < n; q++)
            llama_memory_seq_rm(mem, base + q, -1, -1);
    }
    edit_end(s);
}

/* The checkpoint of the segment that ends at cell n, or NULL. */
static const wim_checkpoint *checkpoint_at(const wim_doc *d, llama_pos n)
{
    for (int i = d->win_first; d->cp && i < d->n_read; i++)
        if (wim_doc_cells_through(d, i) == n) return &d->cp[i];
    return NULL;
}

int wim_cache_fork(wim_session *s, llama_seq_id to, llama_pos n)
{
    const wim_doc *d = &s->doc;
    const wim_checkpoint *cp = n < d->n_past ? checkpoint_at(d, n) : NULL;
    if (n < d->n_past && !cp && wim_cache_needs_checkpoints(s->m)) {
        snprintf(s->err, sizeof s->err,
                 "this model's memory cannot fork the document at token %d without a checkpoint "
                 "there",
                 (int)n);
        return -1;
    }
    llama_seq_id base;
    llama_memory_t mem = edit_begin(s, s->ctx, &base);
    llama_memory_seq_cp(mem, base + WIM_SEQ_DOC, base + to, 0, n);
    size_t got = cp ? llama_state_seq_set_data_ext(s->ctx, cp->data, cp->len, base + to,
                                                   LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY)
                    : 1;
    edit_end(s);
    if (got != 0) return 0;
    snprintf(s->err, sizeof s->err, "cannot restore the document's state at token %d", (int)n);
    return -1;
}

/* ============================================================================
 * States: checkpoints, and a document stored whole
 * ========================================================================= */

/* seq's state (partial: only what checkpoints hold) in a new buffer; 0 or -1. */
static int state_get(wim_session *s, llama_seq_id seq, llama_state_seq_flags flags,
                     wim_checkpoint *out)
{
    llama_seq_id base;
    edit_begin(s, s->ctx, &base);
    size_t len = llama_state_seq_get_size_ext(s->ctx, base + seq, flags);
    uint8_t *data = malloc(len ? len : 1);
    bool ok = data && llama_state_seq_get_data_ext(s->ctx, data, len, base + seq, flags) == len;
    edit_end(s);
    if (!ok) {
        free(data);
        snprintf(s->err, sizeof s->err, "cannot copy the document's state");
        return -1;
    }
    *out = (wim_checkpoint){data, len};
    return 0;
}

int wim_cache_checkpoint(wim_session *s, int seg)
{
    wim_doc *d = &s->doc;
    if (!wim_cache_needs_checkpoints(s->m)) return 0;
    if (!d->cp && !(d->cp = calloc((size_t)d->n, sizeof *d->cp))) {
        snprintf(s->err, sizeof s->err, "out of memory");
        return -1;
    }
    free(d->cp[seg].data);
    d->cp[seg] = (wim_checkpoint){0};
    return state_get(s, WIM_SEQ_DOC, LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY, &d->cp[seg]);
}

int wim_cache_save_doc(wim_session *s, wim_checkpoint *out)
{
    return state_get(s, WIM_SEQ_DOC, LLAMA_STATE_SEQ_FLAGS_NONE, out);
}

int wim_cache_load_doc(wim_session *s, const uint8_t *data, size_t len)
{
    wim_cache_drop(s, s->ctx, -1);
    llama_seq_id base;
    edit_begin(s, s->ctx, &base);
    size_t got = llama_state_seq_set_data_ext(s->ctx, data, len, base + WIM_SEQ_DOC,
                                              LLAMA_STATE_SEQ_FLAGS_NONE);
    edit_end(s);
    return got != 0 ? 0 : -1;
}

/* The checkpoints of the segments before seg, let go. */
static void let_checkpoints_go(wim_doc *d, int seg)
{
    for (int i = d->win_first; d->cp && i < seg; i++) {
        free(d->cp[i].data);
        d->cp[i] = (wim_checkpoint){0};
    }
}

bool wim_cache_window(wim_session *s, int seg)
{
    wim_doc *d = &s->doc;
    let_checkpoints_go(d, seg);
    /* a window or recurrent state that moved on has lost the preamble's part */
    return wim_cache_can_undo(s->m) && wim_cache_cut(s, s->ctx, WIM_SEQ_DOC, d->pre.n);
}

bool wim_cache_can_shift(wim_session *s)
{
    return wim_cache_can_undo(s->m) && llama_memory_can_shift(llama_get_memory(s->ctx));
}

void wim_cache_shift(wim_session *s, int first)
{
    wim_doc *d = &s->doc;
    llama_pos p0 = d->win_pre, p1 = wim_doc_cells_through(d, first - 1);
    let_checkpoints_go(d, first);
    llama_seq_id base;
    llama_memory_t mem = edit_begin(s, s->ctx, &base);
    llama_memory_seq_rm(mem, base + WIM_SEQ_DOC, p0, p1);
    llama_memory_seq_add(mem, base + WIM_SEQ_DOC, p1, -1, p0 - p1);
    edit_end(s);
}

void wim_checkpoints_free(wim_checkpoint *cp, int n)
{
    for (int i = 0; cp && i < n; i++)
        free(cp[i].data);
    free(cp);
}
