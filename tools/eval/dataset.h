/*
 * dataset.h - a file of evaluation examples, read whole: JSON Lines (one
 * example a line), a JSON array of examples, or one JSON object (the
 * reference files' format). Its name, for tables, is the file's base name.
 */
#ifndef WIM_EVAL_DATASET_H
#define WIM_EVAL_DATASET_H

#include "example.h"

typedef struct eval_dataset {
    char *name; /* "cwe-16k" for .../cwe-16k.jsonl */
    eval_example *ex;
    int n;
} eval_dataset;

/* Reads path. Examples without an id are numbered by line (or position) from
 * 1; a single-object file's example is named after the dataset. Returns 0, or
 * -1 with a one-line reason naming the file and line in err. */
int eval_dataset_load(const char *path, eval_dataset *d, char *err, size_t errlen);
void eval_dataset_free(eval_dataset *d);

/* Calls each(j, line, user) for every non-blank line of JSON Lines text (which
 * it cuts up), j the line parsed, or NULL where it is not JSON; line counts
 * from 1. Stops at the first non-zero return and returns it; else 0. */
int eval_each_json_line(char *text, int (*each)(const cJSON *j, int line, void *user), void *user);

#endif
