/*
 * convert.h - public QA sets, downloaded by the user, made into long-context
 * examples: each question's own passages padded with other passages of the
 * same set to a length in model tokens, the own passages at seeded places.
 *
 *   hotpotqa      HotpotQA's distractor-setting JSON (a list of
 *                 {_id, question, answer, context: [[title, [sentence...]]...]})
 *   multihop-rag  MultiHop-RAG: the corpus JSON (a list of {title, body, ...})
 *                 and the queries JSON (a list of {query, answer,
 *                 evidence_list: [{title, ...}...]}); evidence found by title
 */
#ifndef WIM_EVAL_CONVERT_H
#define WIM_EVAL_CONVERT_H

#include <llama.h>
#include <stdint.h>
#include <stdio.h>

typedef struct eval_convert_params {
    const char *format; /* "hotpotqa" or "multihop-rag" */
    const char *input;  /* HotpotQA file, or MultiHop-RAG's queries file */
    const char *corpus; /* MultiHop-RAG's corpus file; NULL for hotpotqa */
    long tokens;        /* each context's length, within 2% */
    int count;          /* at most this many examples (0 = all) */
    uint64_t seed;      /* which padding and where the own passages go */
} eval_convert_params;

/* Writes the examples to out as JSON lines ({"id","context","query","target"})
 * and their number to *written. Questions whose own passages alone exceed
 * tokens, or whose evidence is missing from the corpus, are skipped and counted
 * in *skipped. Returns 0, or -1 with a one-line reason in err (a file that
 * cannot be read or is not in the format, naming it). */
int eval_convert(const eval_convert_params *p, const struct llama_vocab *v, FILE *out, int *written,
                 int *skipped, char *err, size_t errlen);

#endif
