/*
 * window.h - reading past the context (window.c), for engine.c: the window's
 * size and the notes carried on.
 */
#ifndef WIM_WINDOW_H
#define WIM_WINDOW_H

#include "session.h"

/* Sizes a reading past the context limit (tokens): s->window and
 * s->carry_budget, with at most *n_seg_most segments in the cache at once and
 * *need cells in all. beyond(s, n, carried) is the cells the context needs
 * past the window: every question's margins of n segments and answer with
 * carried notes. 0, or -1. */
int wim_window_size(wim_session *s, int limit, long long (*beyond)(wim_session *, int, int),
                    int *n_seg_most, long long *need);

/* The notes carried past segment seg (kept margins of the segments before it,
 * each text once, in order: wim_listed_notes) rendered by the carried
 * template into out; the weakest let go first while they are over the budget
 * (LET_GO events). 0, or -1. */
int wim_window_carry(wim_session *s, int seg, wim_tokens *out);

#endif
