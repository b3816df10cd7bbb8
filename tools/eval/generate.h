/*
 * generate.h - synthetic long-context tasks sized in a model's tokens,
 * reproducible from a seed:
 *
 *   cwe     RULER-style common-words extraction: a numbered list of words in
 *           which a few appear many times and the rest a few times each; the
 *           target is the list of the most common ones.
 *   needle  BABILong-style facts about people, objects and places spread
 *           through filler prose; the question needs one or two of the facts.
 *   qa1     needle's questions about where a person is alone (BABILong qa1:
 *           the person's latest move answers), the task the reader is trained on.
 *
 * All words, names and filler come from the project's own lists and grammar.
 */
#ifndef WIM_EVAL_GENERATE_H
#define WIM_EVAL_GENERATE_H

#include "example.h"

#include <llama.h>
#include <stdint.h>

/* Writes example number index of kind ("cwe", "needle" or "qa1") into e: its context
 * is within 2% of tokens model tokens (eval_count_tokens), its id is
 * "KIND-TOKENS-INDEX", and the same (kind, tokens, seed, index) always give the
 * same example. Returns 0, or -1 with a one-line reason in err (unknown kind,
 * tokens too few for the task). */
int eval_generate(const char *kind, const struct llama_vocab *v, long tokens, uint64_t seed,
                  int index, eval_example *e, char *err, size_t errlen);

#endif
