/*
 * tokens.h - counting text in a model's tokens, for the generators and
 * converters that size documents in them, and a small seeded random source
 * so that the same seed always gives the same data.
 */
#ifndef WIM_EVAL_TOKENS_H
#define WIM_EVAL_TOKENS_H

#include <llama.h>

#include <stddef.h>
#include <stdint.h>

/* Loads only the tokenizer of a GGUF model. NULL with a one-line reason in err. */
struct llama_model *eval_vocab_load(const char *path, char *err, size_t errlen);

/* Tokens in text[0..len), as the engine counts a document (no BOS, no special
 * tokens parsed). */
int eval_count_tokens(const struct llama_vocab *v, const char *text, size_t len);

/* splitmix64: the next number of the sequence in *state. */
uint64_t eval_rng_next(uint64_t *state);

/* A number in [0, n), n > 0. */
uint64_t eval_rng_below(uint64_t *state, uint64_t n);

#endif
