/*
 * mkdoc.c - writes a made-up document of a given length in a model's tokens,
 * for benchmarks: ledger-like prose from a seeded generator, so the same flags
 * always give the same text.
 *
 *   wim-mkdoc -m MODEL.gguf --tokens N [--seed S] -o OUT.txt
 */
#include "tokens.h"

#include <llama.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const boats[] = {"Hollin",    "Grey Tern", "Marisol",  "Ostrava",
                                    "Keel Star", "Wren",      "Calloway", "Bitter Lake"};
static const char *const goods[] = {"salt", "timber", "rye", "herring", "wool", "coal", "flax"};
static const char *const places[] = {"Orrin",   "Tessaly", "Morrow Point",  "Dunmere",
                                     "Saltash", "Vell",    "the north quay"};
static const char *const events[] = {
    "unloaded %d crates of %s at %s",        "took on %d barrels of %s bound for %s",
    "waited %d hours for %s from %s",        "paid a toll of %d coins on %s from %s",
    "reported %d sacks of %s spoiled at %s",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *pick(const char *const *list, size_t n, uint64_t *st)
{
    return list[eval_rng_below(st, n)];
}

/* One sentence, ending a paragraph when paragraph_end. */
static int sentence(char *buf, size_t cap, uint64_t *st, bool paragraph_end)
{
    char what[160];
    const char *event = pick(events, COUNT(events), st);
    int amount = (int)eval_rng_below(st, 90) + 2;
    const char *good = pick(goods, COUNT(goods), st), *place = pick(places, COUNT(places), st);
    snprintf(what, sizeof what, event, amount, good, place);
    int day = (int)eval_rng_below(st, 360) + 1;
    return snprintf(buf, cap, "On day %d the %s %s.%s", day, pick(boats, COUNT(boats), st), what,
                    paragraph_end ? "\n\n" : " ");
}

int main(int argc, char **argv)
{
    const char *model = NULL, *out = NULL;
    long tokens = 0;
    uint64_t seed = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-m"))
            model = argv[i + 1];
        else if (!strcmp(argv[i], "-o"))
            out = argv[i + 1];
        else if (!strcmp(argv[i], "--tokens"))
            tokens = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed"))
            seed = strtoull(argv[i + 1], NULL, 10);
    }
    if (!model || !out || tokens < 1) {
        fprintf(stderr, "usage: wim-mkdoc -m MODEL.gguf --tokens N [--seed S] -o OUT.txt\n");
        return 1;
    }
    char err[512];
    struct llama_model *m = eval_vocab_load(model, err, sizeof err);
    if (!m) {
        fprintf(stderr, "wim-mkdoc: %s\n", err);
        return 1;
    }
    const struct llama_vocab *v = llama_model_get_vocab(m);
    size_t cap = (size_t)tokens * 8 + 256, len = 0;
    char *text = malloc(cap);
    long n = 0;
    for (int i = 0; n < tokens; i++) {
        char s[256];
        int k = sentence(s, sizeof s, &seed, i % 7 == 6);
        if (len + (size_t)k >= cap) break;
        memcpy(text + len, s, (size_t)k);
        len += (size_t)k;
        n += eval_count_tokens(v, s, (size_t)k);
        if (n >= tokens) n = eval_count_tokens(v, text, len); /* sentences merge a little */
    }
    FILE *f = fopen(out, "wb");
    bool ok = f && fwrite(text, 1, len, f) == len;
    if (f && fclose(f) != 0) ok = false;
    if (ok)
        printf("wim-mkdoc: %s: %d tokens\n", out, eval_count_tokens(v, text, len));
    else
        fprintf(stderr, "wim-mkdoc: cannot write '%s'\n", out);
    free(text);
    llama_model_free(m);
    return ok ? 0 : 1;
}
