/*
 * lookup.h - drafts for speculative decoding by prompt lookup (lookup.c).
 */
#ifndef WIM_LOOKUP_H
#define WIM_LOOKUP_H

#include "model.h"

#include <llama.h>

/* Up to max tokens that followed the last occurrence of hist's final n-gram in
 * hist itself or in src (a margin's segment, an answer's document), written to
 * out; their count, 0 when nothing matches. */
int wim_lookup_draft(const wim_tokens *hist, const wim_tokens *src, int max, llama_token *out);

#endif
