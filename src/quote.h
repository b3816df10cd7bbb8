/*
 * quote.h - a sampler that keeps a margin on the document it quotes, and an
 * answer on the notes it restates (quote.c), for jobs.c.
 */
#ifndef WIM_QUOTE_H
#define WIM_QUOTE_H

#include "model.h"
#include "segment.h"

#include <llama.h>

/* The model's vocabulary looked up by text: built once a session, read by
 * every quote sampler of it. NULL when out of memory. */
typedef struct wim_pieces wim_pieces;
wim_pieces *wim_pieces_new(const wim_model *m);
void wim_pieces_free(wim_pieces *p);

/* The text a margin was shown: segments first..last of a document, and the
 * tokens each was read as. */
typedef struct wim_quote_source {
    const char *text;       /* the document */
    const wim_span *spans;  /* its segments' bytes */
    const llama_token *tok; /* its tokens, segment after segment */
    const int *tok_off;     /* where each segment's tokens start in tok */
    int first, last;
} wim_quote_source;

/* A sampler chain that samples as base does (which it takes over), except
 * that once the text written last is found in the source's it lets through
 * only tokens that go on as the text does there, or an end of generation
 * where a word ends. p must outlive it (the source is copied). NULL when out
 * of memory (base is freed then too). */
struct llama_sampler *wim_quote_sampler(const wim_pieces *p, const wim_quote_source *src,
                                        struct llama_sampler *base);

/* The same for an answer, held to the notes it was given (notes[0..len), as
 * its prompt shows them), its runs found there whatever their letters' case:
 * an answer starts a sentence its note has inside one. */
struct llama_sampler *wim_notes_sampler(const wim_pieces *p, const char *notes, size_t len,
                                        struct llama_sampler *base);

#endif
