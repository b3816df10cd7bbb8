/*
 * layout.c - declares the tensors of a model and streams their random values to disk.
 *
 * Values come from a seeded generator, one stream per tensor, so the same flags always give
 * the same file. Tensors are generated and written one chunk at a time, so memory use stays
 * small whatever the model size.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mkmodel.h"

#define WEIGHT_STD        0.02f     /* standard deviation of every random value */
#define CHUNK_ELEMS       (1 << 20) /* values generated and converted at a time */
#define TENSORS_PER_BLOCK 32        /* more than any family declares for one block */

/* ----------------------------------------------------------------------------
 * Random numbers
 *
 * Each tensor has its own splitmix64 stream, seeded from --seed and the tensor's name,
 * so a tensor's values do not depend on the order or the size of the others.
 */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* FNV-1a, to turn a tensor name into part of a seed. */
static uint64_t hash_name(const char *s)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
    return h;
}

/*
 * n values from approximately normal(0, std): each is the sum of the four 16-bit parts of
 * one random word (Irwin-Hall), rescaled. Close enough to normal for random weights and
 * several times faster than Box-Muller, which matters for multi-billion-value models.
 */
static void fill_normal(float *x, size_t n, float std, uint64_t *state)
{
    const float mean = 4 * 65535 / 2.0f;             /* of the sum of four 16-bit values */
    const float scale = std * 1.7320508f / 65536.0f; /* sqrt(3) / 65536 is 1 / its std */
    for (size_t i = 0; i < n; i++) {
        uint64_t r = splitmix64(state);
        uint32_t sum =
            (uint32_t)((r & 0xFFFF) + (r >> 16 & 0xFFFF) + (r >> 32 & 0xFFFF) + (r >> 48));
        x[i] = ((float)sum - mean) * scale;
    }
}

/* n values uniform in [lo, hi), from the top 24 bits of each random word. */
static void fill_uniform(float *x, size_t n, float lo, float hi, uint64_t *state)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (float)(splitmix64(state) >> 40) / 16777216.0f;
}

static void fill_values(float *x, size_t n, enum fill fill, uint64_t *state)
{
    switch (fill) {
    case FILL_RANDOM:
        fill_normal(x, n, WEIGHT_STD, state);
        break;
    case FILL_ONES:
        for (size_t i = 0; i < n; i++)
            x[i] = 1.0f;
        break;
    case FILL_DECAY:
        fill_uniform(x, n, -8.0f, -1.0f, state);
        break;
    }
}

/* ----------------------------------------------------------------------------
 * Tensor layout
 */

static void declare(struct layout *L, const char *name, enum ggml_type type, int n_dims,
                    const int64_t *ne, enum fill fill)
{
    if ((size_t)gguf_get_n_tensors(L->gguf) >= L->max_tensors) die("too many tensors");
    struct ggml_tensor *t = ggml_new_tensor(L->meta, type, n_dims, ne);
    ggml_set_name(t, name);
    L->fill[gguf_get_n_tensors(L->gguf)] = fill;
    gguf_add_tensor(L->gguf, t);
    L->n_params += ggml_nelements(t);
}

/* The type of a matrix with rows of ne0 values. */
static enum ggml_type matrix_type(const struct layout *L, int64_t ne0)
{
    return ne0 % ggml_blck_size(L->wtype) ? GGML_TYPE_F16 : L->wtype;
}

void add_tensor(struct layout *L, const char *name, int64_t ne0, int64_t ne1, enum fill fill)
{
    const int64_t ne[2] = {ne0, ne1};
    declare(L, name, ne1 ? matrix_type(L, ne0) : GGML_TYPE_F32, ne1 ? 2 : 1, ne, fill);
}

void add_block_tensor(struct layout *L, int il, const char *name, int64_t ne0, int64_t ne1,
                      enum fill fill)
{
    char full[GGML_MAX_NAME];
    snprintf(full, sizeof(full), "blk.%d.%s", il, name);
    add_tensor(L, full, ne0, ne1, fill);
}

void add_block_f32(struct layout *L, int il, const char *name, int64_t ne0, int64_t ne1,
                   enum fill fill)
{
    char full[GGML_MAX_NAME];
    snprintf(full, sizeof(full), "blk.%d.%s", il, name);
    const int64_t ne[2] = {ne0, ne1};
    declare(L, full, GGML_TYPE_F32, 2, ne, fill);
}

void add_block_experts(struct layout *L, int il, const char *name, int64_t ne0, int64_t ne1,
                       int64_t ne2)
{
    char full[GGML_MAX_NAME];
    snprintf(full, sizeof(full), "blk.%d.%s", il, name);
    const int64_t ne[3] = {ne0, ne1, ne2};
    declare(L, full, matrix_type(L, ne0), 3, ne, FILL_RANDOM);
}

struct layout make_layout(struct gguf_context *g, const struct shape *s, enum ggml_type wtype,
                          int n_vocab)
{
    const size_t max_tensors = 4 + TENSORS_PER_BLOCK * (size_t)s->n_layer;
    struct ggml_init_params params = {
        .mem_size = max_tensors * ggml_tensor_overhead(),
        .mem_buffer = NULL,
        .no_alloc = true,
    };
    struct layout L = {
        .meta = ggml_init(params),
        .gguf = g,
        .fill = xmalloc(max_tensors * sizeof(enum fill)),
        .max_tensors = max_tensors,
        .wtype = wtype,
    };
    if (!L.meta) die("out of memory");

    add_tensor(&L, "token_embd.weight", s->n_embd, n_vocab, FILL_RANDOM);
    for (int il = 0; il < s->n_layer; il++)
        s->fam->add_block(&L, s, il);
    add_tensor(&L, s->fam->output_norm ? s->fam->output_norm : "output_norm.weight", s->n_embd, 0,
               FILL_ONES);
    if (!s->fam->tied) add_tensor(&L, "output.weight", s->n_embd, n_vocab, FILL_RANDOM);
    return L;
}

void free_layout(struct layout *L)
{
    ggml_free(L->meta);
    free(L->fill);
}

/* ----------------------------------------------------------------------------
 * Writing
 *
 * gguf_write_to_file() needs all tensor data in memory at once; instead write the
 * metadata gguf computes, then each tensor's bytes at the offset gguf assigned it.
 */

/* Where the data of tensors is written, and how far it has got. */
struct writer {
    FILE *f;
    uint64_t pos;    /* bytes written so far */
    float *values;   /* one chunk of generated values */
    void *converted; /* the same chunk in the tensor's type */
};

static bool write_bytes(struct writer *w, const void *data, size_t n)
{
    w->pos += n;
    return fwrite(data, 1, n, w->f) == n;
}

/* Writes zeros up to file offset pos, for gguf's alignment padding. */
static bool pad_to(struct writer *w, uint64_t pos)
{
    static const char zeros[64];
    while (w->pos < pos) {
        size_t n = pos - w->pos < sizeof(zeros) ? (size_t)(pos - w->pos) : sizeof(zeros);
        if (!write_bytes(w, zeros, n)) return false;
    }
    return true;
}

/* Generates tensor id's values a few rows at a time and writes them converted. */
static bool write_tensor(struct writer *w, const struct layout *L, int64_t id, uint64_t seed)
{
    const char *name = gguf_get_tensor_name(L->gguf, id);
    const int64_t *ne = gguf_get_tensor_ne(L->gguf, id);
    const enum ggml_type type = gguf_get_tensor_type(L->gguf, id);
    const int64_t n_rows = ne[1] * ne[2] * ne[3]; /* expert stacks are rows too */
    const int64_t rows_per_chunk = ne[0] < CHUNK_ELEMS ? CHUNK_ELEMS / ne[0] : 1;
    uint64_t state = seed ^ hash_name(name);

    for (int64_t row = 0; row < n_rows; row += rows_per_chunk) {
        const int64_t rows = n_rows - row < rows_per_chunk ? n_rows - row : rows_per_chunk;
        fill_values(w->values, (size_t)(rows * ne[0]), L->fill[id], &state);
        size_t size = ggml_quantize_chunk(type, w->values, w->converted, 0, rows, ne[0], NULL);
        if (!write_bytes(w, w->converted, size)) return false;
    }
    return true;
}

/* Writes the whole model file: metadata, then every tensor at its aligned offset. */
static bool write_model(FILE *f, const struct layout *L, uint64_t seed, uint64_t *size)
{
    const size_t meta_size = gguf_get_meta_size(L->gguf);
    const size_t align = gguf_get_alignment(L->gguf);
    struct writer w = {.f = f};

    void *meta = xmalloc(meta_size);
    gguf_get_meta_data(L->gguf, meta);
    bool ok = write_bytes(&w, meta, meta_size);
    free(meta);

    /* rows longer than a chunk are written one at a time, so size for the longest row */
    size_t max_elems = CHUNK_ELEMS;
    for (int64_t id = 0; id < gguf_get_n_tensors(L->gguf); id++) {
        size_t ne0 = (size_t)gguf_get_tensor_ne(L->gguf, id)[0];
        if (ne0 > max_elems) max_elems = ne0;
    }
    w.values = xmalloc(max_elems * sizeof(float));
    w.converted = xmalloc(max_elems * sizeof(float));

    for (int64_t id = 0; ok && id < gguf_get_n_tensors(L->gguf); id++) {
        uint64_t start = meta_size + gguf_get_tensor_offset(L->gguf, id);
        ok = pad_to(&w, start) && write_tensor(&w, L, id, seed);
        ok = ok && pad_to(&w, start + GGML_PAD(gguf_get_tensor_size(L->gguf, id), align));
    }
    free(w.values);
    free(w.converted);
    *size = w.pos;
    return ok;
}

/* mkdir -p for the directory part of path. */
static void make_parent_dirs(const char *path)
{
    char *dir = xstrdup(path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST)
            die("cannot create directory '%s': %s", dir, strerror(errno));
        *p = '/';
    }
    free(dir);
}

uint64_t write_file(const char *path, const struct layout *L, uint64_t seed)
{
    make_parent_dirs(path);
    size_t len = strlen(path) + 32;
    char *tmp = xmalloc(len);
    snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid());

    FILE *f = fopen(tmp, "wb");
    if (!f) die("cannot write '%s': %s", path, strerror(errno));
    uint64_t size;
    bool ok = write_model(f, L, seed, &size);
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int err = errno;
        remove(tmp);
        die("cannot write '%s': %s", path, strerror(err));
    }
    free(tmp);
    return size;
}
