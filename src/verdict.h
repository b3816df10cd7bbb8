/*
 * verdict.h - reading the classifier's YES#why / NO#why answers.
 */
#ifndef WIM_VERDICT_H
#define WIM_VERDICT_H

#include <stdbool.h>

typedef struct wim_verdict {
    bool relevant;      /* YES */
    bool parsed;        /* the answer had the YES/NO shape at all */
    const char *reason; /* points into the parsed text after '#', "" if none */
} wim_verdict;

/* Accepts the reasonable variants: any case, leading spaces, code fences,
 * quotes or emphasis around the word, "YES #", "Yes: ...". Anything else is
 * not relevant, with parsed = false. */
wim_verdict wim_verdict_parse(const char *text);

/* For one-pass margins, on a partial answer: 1 once it starts YES#, 0 once it
 * starts NO#, -1 while it cannot tell yet. */
int wim_verdict_prefix(const char *text);

#endif
