/*
 * segment.h - cutting a document into segments of at most N model tokens, on
 * sentence boundaries, so that WiM can prefill it one segment at a time.
 */
#ifndef WIM_SEGMENT_H
#define WIM_SEGMENT_H

#include <stddef.h>

/* Counts model tokens in text[0..len); returns < 0 on error. */
typedef int (*wim_token_count_fn)(const char *text, size_t len, void *user);

typedef struct wim_span {
    size_t start, len; /* byte range of the input */
} wim_span;

/* Cuts text (valid UTF-8) into segments of at most max_tokens tokens each, as
 * counted by count() on each whole segment. Segments hold whole sentences (ICU
 * sentence breaks; whitespace stays with the sentence before it) except where a
 * sentence alone is too long: it is cut at the longest prefix that fits, just
 * after whitespace where there is some in the latter half of that prefix.
 *
 * On success returns 0 and a malloc'd array *out of *n_out non-empty spans that
 * tile the input exactly (the first starts at 0, each starts where the previous
 * ends, the last ends at len). On failure returns -1 and writes a one-line
 * reason into err. */
int wim_segment(const char *text, size_t len, int max_tokens, wim_token_count_fn count, void *user,
                wim_span **out, size_t *n_out, char *err, size_t errlen);

/* The pages a segment covers, 1-based, first and last, where pages are
 * separated by form feeds (pdftotext's convention, kept by the tools' PDF
 * reader): the pages of its first and last bytes that are not whitespace, so a
 * form feed at either edge does not stretch it onto a neighbour. Both 0 when
 * text has no form feed: it has no pages. */
void wim_span_pages(const char *text, size_t len, wim_span sp, int *first, int *last);

#endif
