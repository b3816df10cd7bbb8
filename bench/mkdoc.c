/*
 * mkdoc.c - writes a made-up document of a given length in a model's tokens,
 * for benchmarks: ledger-like prose from a seeded generator, so the same flags
 * always give the same text.
 *
 *   wim-mkdoc -m MODEL.gguf --tokens N [--seed S] -o OUT.txt
 */
#include <llama.h>

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

static uint64_t next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#define PICK(a, st) a[next(st) % (sizeof a / sizeof a[0])]

static int sentence(char *buf, size_t cap, uint64_t *st)
{
    char what[160];
    snprintf(what, sizeof what, PICK(events, st), (int)(next(st) % 90 + 2), PICK(goods, st),
             PICK(places, st));
    return snprintf(buf, cap, "On day %d the %s %s. ", (int)(next(st) % 360 + 1), PICK(boats, st),
                    what);
}

static int count_tokens(const struct llama_vocab *v, const char *text, size_t len)
{
    int n = llama_tokenize(v, text, (int32_t)len, NULL, 0, false, false);
    return n < 0 ? -n : n;
}

static void quiet(enum ggml_log_level level, const char *text, void *user)
{
    (void)level, (void)text, (void)user;
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
    struct llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    llama_log_set(quiet, NULL);
    struct llama_model *m = llama_model_load_from_file(model, mp);
    if (!m) {
        fprintf(stderr, "wim-mkdoc: cannot load '%s'\n", model);
        return 1;
    }
    const struct llama_vocab *v = llama_model_get_vocab(m);
    size_t cap = (size_t)tokens * 8 + 256, len = 0;
    char *text = malloc(cap);
    long n = 0;
    for (int i = 0; n < tokens; i++) {
        char s[256];
        int k = sentence(s, sizeof s, &seed);
        if (i % 7 == 6) s[k - 1] = '\n', strcat(s, "\n"), k++;
        if (len + (size_t)k >= cap) break;
        memcpy(text + len, s, (size_t)k);
        len += (size_t)k;
        n += count_tokens(v, s, (size_t)k);
        if (n >= tokens) n = count_tokens(v, text, len); /* sentences merge a little */
    }
    FILE *f = fopen(out, "wb");
    if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "wim-mkdoc: cannot write '%s'\n", out);
        return 1;
    }
    printf("wim-mkdoc: %s: %d tokens\n", out, count_tokens(v, text, len));
    free(text);
    llama_model_free(m);
    return 0;
}
