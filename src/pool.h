/*
 * pool.h - several sessions' steps merged in shared contexts (pool.c), for
 * session.c and cache.c.
 */
#ifndef WIM_POOL_H
#define WIM_POOL_H

#include "session.h"

enum { WIM_POOL_MAIN = 0, WIM_POOL_CLS = 1 };
/* Where a pooled session would call llama_decode: decodes s->batch in context
 * which of the pool together with the other sessions' waiting micro-batches,
 * its logits copied to s->out[which]. llama_decode's result. */
int wim_pool_decode(wim_session *s, int which);
/* Waits for the step in flight on the pool's context which and holds it for
 * cache edits until wim_pool_edit_end; returns the id of the session's sequence 0 there. */
llama_seq_id wim_pool_edit_begin(wim_session *s, int which);
void wim_pool_edit_end(wim_session *s);
/* Sequence ids of each slot in context which. */
int wim_pool_slot_seqs(const wim_session *s, int which);
/* Points the session at the pool's contexts, within its slot's share. 0, or -1 (s->err). */
int wim_pool_reserve(wim_session *s, int ctx_size, int n_seq, int cls_size);
void wim_pool_leave(wim_session *s);

#endif
