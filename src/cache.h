/*
 * cache.h - every edit of the model's memory (cache.c): forks, cuts,
 * checkpoints, windows.
 */
#ifndef WIM_CACHE_H
#define WIM_CACHE_H

#include "session.h"

/* The model's memory loses what a prefix fork needs (sliding window, recurrent state). */
bool wim_cache_needs_checkpoints(const wim_model *m);
/* Positions can be cut off a sequence's end and the memory is as it was
 * before they were decoded: plain attention, no window, no recurrent state. */
bool wim_cache_can_undo(const wim_model *m);
/* Removes positions p0.. of seq; false when the memory refuses (recurrent state). */
bool wim_cache_cut(wim_session *s, struct llama_context *ctx, llama_seq_id seq, llama_pos p0);
/* Removes seq whole; -1: every sequence of the session in ctx. */
void wim_cache_drop(wim_session *s, struct llama_context *ctx, llama_seq_id seq);
/* Sequence `to` becomes the document's first n cells, with the checkpoint of
 * the segment ending there when the memory needs one. 0, or -1 (s->err). */
int wim_cache_fork(wim_session *s, llama_seq_id to, llama_pos n);
/* Stores sequence 0's partial state as segment seg's checkpoint, where the
 * memory needs one. 0, or -1 (s->err). */
int wim_cache_checkpoint(wim_session *s, int seg);
/* Sequence 0's whole state, into a new buffer / from data. 0, or -1. */
int wim_cache_save_doc(wim_session *s, wim_checkpoint *out);
int wim_cache_load_doc(wim_session *s, const uint8_t *data, size_t len);
void wim_checkpoints_free(wim_checkpoint *cp, int n);
/* Sequence 0 cut back to the preamble for the window that starts at segment
 * seg, the checkpoints of the segments before it let go; false when the
 * memory cannot be cut back (the caller reads the preamble afresh). */
bool wim_cache_window(wim_session *s, int seg);
/* The memory can let go of cells in the middle of sequence 0 and move the
 * later ones back (llama.cpp's K-shift): plain attention, not offloaded to a
 * backend without it. */
bool wim_cache_can_shift(wim_session *s);
/* Sequence 0 lets go of segments win_first..first-1 and the segments after
 * them move back in their place (positions stay within the window); their
 * checkpoints go. The margins in flight must be drained first. */
void wim_cache_shift(wim_session *s, int first);

#endif
