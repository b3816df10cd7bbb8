/*
 * example.h - one evaluation example: a long context, a question and what a
 * right answer is, read from and written as one JSON line
 * {"id", "context", "query", "target"}. target is a string (a QA answer) or a
 * list of strings (a word list, as in common-words extraction).
 */
#ifndef WIM_EVAL_EXAMPLE_H
#define WIM_EVAL_EXAMPLE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct eval_example {
    char *id;       /* unique within its dataset */
    char *context;  /* the long document, UTF-8 */
    char *query;    /* the question */
    char **targets; /* n_targets strings: one for QA, the words for a list */
    int n_targets;
    bool is_list; /* target was a JSON list: scored as a set of words */
} eval_example;

/* Fills e from a JSON object; a missing id becomes default_id. Returns 0, or -1
 * with a one-line reason naming the field in err. */
int eval_example_from_json(const cJSON *j, const char *default_id, eval_example *e, char *err,
                           size_t errlen);

/* e as one JSON object; NULL when out of memory. The caller deletes it. */
cJSON *eval_example_to_json(const eval_example *e);

/* Appends e to f as one line. 0, or -1 when it cannot be written. */
int eval_example_write(FILE *f, const eval_example *e);

/* Sets e's fields to copies of these strings (targets: n of them). 0 or -1. */
int eval_example_set(eval_example *e, const char *id, const char *context, const char *query,
                     const char *const *targets, int n, bool is_list);

void eval_example_free(eval_example *e);

#endif
