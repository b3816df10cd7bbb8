/*
 * metrics.h - scoring an answer against its target, as string metrics:
 * normalized exact match and containment for QA, and precision, recall and F1
 * over the listed words for word-list tasks (common-words extraction).
 */
#ifndef WIM_EVAL_METRICS_H
#define WIM_EVAL_METRICS_H

#include <stdbool.h>

/* The text as QA metrics compare it (SQuAD's normalization, Unicode-aware):
 * lowercased (full Unicode case folding), punctuation and symbols removed,
 * the articles "a", "an", "the" removed as whole words, runs of whitespace
 * made one space, no space at either end. Invalid UTF-8 bytes are dropped.
 * malloc'd; NULL only when out of memory. */
char *eval_normalize(const char *text);

/* normalize(answer) == normalize(target). */
bool eval_exact_match(const char *answer, const char *target);

/* normalize(target) occurs in normalize(answer) on word boundaries; an empty
 * normalized target is never contained. */
bool eval_contains(const char *answer, const char *target);

typedef struct eval_prf {
    double precision; /* distinct predicted words that are targets / distinct predicted */
    double recall;    /* distinct targets predicted / distinct targets */
    double f1;        /* harmonic mean; 0 when both are 0 */
} eval_prf;

/* The answer read as a list of words (split on anything that is not a letter
 * or digit, each word normalized as above, repeats counted once) against the
 * target words. An empty answer scores 0, 0, 0; no targets give recall 1. */
eval_prf eval_word_list_score(const char *answer, const char *const *targets, int n_targets);

#endif
