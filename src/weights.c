/*
 * weights.c - what a model is, for a stored document: a hash of its file(s).
 *
 * A KV cache is only valid for the weights that wrote it. The model's
 * description, counts and sizes are the same for every fine-tune of one base
 * (and for two random made models), so a stored document checks the weights
 * themselves: XXH3-128 of every byte of the GGUF file, or of each file of a
 * split model. Debian's libxxhash hashes faster than the disk reads, so this
 * costs about one read of the model, once per process, and only when a
 * document is saved or loaded.
 */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

enum { CHUNK = 4 << 20 };

/* Hashes the file at path into st; 0, or -1. */
static int hash_file(XXH3_state_t *st, const char *path, unsigned char *buf)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n;
    while ((n = fread(buf, 1, CHUNK, f)) > 0)
        XXH3_128bits_update(st, buf, n);
    int rc = ferror(f) ? -1 : 0;
    fclose(f);
    return rc;
}

/* The files of the model at path: path itself, or each part of a split
 * model ("name-00001-of-00003.gguf"). Hashes them all; 0, or -1. */
static int hash_model(XXH3_state_t *st, const char *path, unsigned char *buf)
{
    int no = 0, count = 0;
    const char *tail = strrchr(path, '-');
    char prefix[4096];
    /* tail is the "-" before the count; the part number's "-NNNNN-of" is 9 before it */
    bool split = tail && tail - path >= 9 &&
                 sscanf(tail - 9, "-%5d-of-%5d.gguf", &no, &count) == 2 && count > 1 &&
                 llama_split_prefix(prefix, sizeof prefix, path, no - 1, count) > 0;
    if (!split) return hash_file(st, path, buf);
    for (int i = 0; i < count; i++) { /* llama.cpp numbers parts from 0, names them from 1 */
        char part[4200];
        llama_split_path(part, sizeof part, prefix, i, count);
        if (hash_file(st, part, buf) != 0) return -1;
    }
    return 0;
}

const char *wim_model_weights_id(wim_model *m)
{
    if (m->weights_id[0]) return m->weights_id;
    XXH3_state_t *st = XXH3_createState();
    unsigned char *buf = malloc(CHUNK);
    int rc = st && buf && XXH3_128bits_reset(st) == XXH_OK ? 0 : -1;
    if (rc == 0) rc = hash_model(st, m->path, buf);
    if (rc == 0) {
        XXH128_hash_t h = XXH3_128bits_digest(st);
        snprintf(m->weights_id, sizeof m->weights_id, "xxh3-128:%016llx%016llx",
                 (unsigned long long)h.high64, (unsigned long long)h.low64);
    }
    free(buf);
    XXH3_freeState(st);
    return m->weights_id;
}
