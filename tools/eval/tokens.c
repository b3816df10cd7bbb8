/*
 * tokens.c - counting text in a model's tokens, and a seeded random source.
 */
#include "tokens.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static void quiet(enum ggml_log_level level, const char *text, void *user)
{
    (void)level, (void)text, (void)user;
}

struct llama_model *eval_vocab_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char magic[4] = {0};
    bool gguf = f && fread(magic, 1, 4, f) == 4 && magic[0] == 'G' && magic[1] == 'G' &&
                magic[2] == 'U' && magic[3] == 'F';
    if (f) fclose(f);
    if (!f || !gguf) {
        snprintf(err, errlen, f ? "'%s' is not a GGUF model file" : "cannot open model '%s'", path);
        return NULL;
    }
    struct llama_model_params p = llama_model_default_params();
    p.vocab_only = true;
    if (!getenv("WIM_VERBOSE")) llama_log_set(quiet, NULL);
    struct llama_model *m = llama_model_load_from_file(path, p);
    if (!m) snprintf(err, errlen, "cannot load the tokenizer of '%s'", path);
    return m;
}

int eval_count_tokens(const struct llama_vocab *v, const char *text, size_t len)
{
    int n = llama_tokenize(v, text, (int32_t)len, NULL, 0, false, false);
    return n < 0 ? -n : n;
}

uint64_t eval_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t eval_rng_below(uint64_t *state, uint64_t n)
{
    return eval_rng_next(state) % n;
}
