/*
 * wim-mkmodel.c - writes GGUF model files with random weights that llama.cpp loads.
 *
 * Tests and benchmarks need models of a real architecture and a real tokenizer, but not
 * trained weights. This tool takes the tokenizer from one of llama.cpp's vocab files,
 * adds the hyperparameters and tensors of a llama, qwen2 or phi3 model of the requested
 * shape, and fills the weights from a seeded generator, so the same flags always give the
 * same file. Tensors are generated and streamed to disk one chunk at a time, so memory
 * use stays small whatever the model size.
 *
 * Usage: wim-mkmodel --preset NAME -o OUT.gguf [shape flags]   (see --help)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ggml.h"
#include "gguf.h"
#include "llama.h"

#ifndef WIM_VOCAB_DIR
#define WIM_VOCAB_DIR ""
#endif

#define WEIGHT_STD  0.02f     /* standard deviation of every random value */
#define CHUNK_ELEMS (1 << 20) /* values generated and converted at a time */
#define MAX_LAYERS  512       /* llama.cpp's LLAMA_MAX_LAYERS */

/* ----------------------------------------------------------------------------
 * Model families and presets
 */

/* Llama 3 instruct format; llama.cpp recognises it by its header tokens. */
static const char llama3_template[] =
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    " + message['content'] | trim + '<|eot_id|>' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}"
    "{%- endif -%}";

/* ChatML as used by Qwen2; recognised by <|im_start|>. */
static const char chatml_template[] =
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- endif -%}";

/* Phi-3 format; recognised by <|assistant|> together with <|end|>. */
static const char phi3_template[] =
    "{%- for message in messages -%}"
    "{{- '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|assistant|>\\n' -}}"
    "{%- endif -%}";

/* What an architecture fixes, whatever the model size. */
struct family {
    const char *arch;          /* general.architecture, also the prefix of hparam keys */
    const char *vocab_file;    /* default tokenizer source, a file in WIM_VOCAB_DIR */
    const char *chat_template; /* written when the vocab file carries none */
    float rope_base;           /* rope.freq_base */
    float rms_eps;             /* attention.layer_norm_rms_epsilon */
    bool qkv_bias;             /* attn_q/k/v have biases (qwen2) */
    bool fused;                /* one attn_qkv matrix, ffn_up holds gate and up (phi3) */
    bool tied;                 /* no output.weight: llama.cpp reuses token_embd */
};

static const struct family families[] = {
    {"llama", "ggml-vocab-llama-bpe.gguf", llama3_template, 500000.0f, 1e-5f, false, false, true},
    {"qwen2", "ggml-vocab-qwen2.gguf", chatml_template, 1000000.0f, 1e-6f, true, false, true},
    {"phi3", "ggml-vocab-phi-3.gguf", phi3_template, 10000.0f, 1e-5f, false, true, false},
};

/* The size of a model; fields are 0 until a preset or flag sets them. */
struct shape {
    const struct family *fam; /* architecture */
    int n_embd;               /* hidden size */
    int n_layer;              /* transformer blocks */
    int n_head;               /* query heads */
    int n_head_kv;            /* key/value heads (0: same as n_head) */
    int n_ff;                 /* feed-forward hidden size */
    int n_ctx_train;          /* context_length */
    enum ggml_type wtype;     /* type of weight matrices: F16 or Q8_0 */
};

struct preset {
    const char *name;
    const char *alias; /* another name for it, or NULL */
    struct shape shape;
};

#define LLAMA (&families[0])
#define QWEN2 (&families[1])
#define PHI3  (&families[2])

static const struct preset presets[] = {
    /* for fast tests */
    {"tiny-qwen2", "tiny", {QWEN2, 64, 2, 4, 2, 128, 8192, GGML_TYPE_F16}},
    {"tiny-llama", NULL, {LLAMA, 64, 2, 4, 2, 128, 8192, GGML_TYPE_F16}},
    {"tiny-phi3", NULL, {PHI3, 64, 2, 4, 4, 128, 4096, GGML_TYPE_F16}},
    /* for quick runs of wim-eval at the paper's lengths (16k-64k) */
    {"tiny-qwen2-128k", NULL, {QWEN2, 64, 2, 4, 2, 128, 131072, GGML_TYPE_F16}},
    /* Qwen2.5-0.5B-Instruct */
    {"qwen2-0.5b", NULL, {QWEN2, 896, 24, 14, 2, 4864, 32768, GGML_TYPE_Q8_0}},
    /* Llama-3.2-1B, context capped from 131072 to keep default KV caches small */
    {"llama-1b", NULL, {LLAMA, 2048, 16, 32, 8, 8192, 32768, GGML_TYPE_Q8_0}},
    /* Phi-3-mini-4k */
    {"phi3-mini", NULL, {PHI3, 3072, 32, 32, 32, 8192, 4096, GGML_TYPE_Q8_0}},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ----------------------------------------------------------------------------
 * Errors and command line
 */

static _Noreturn void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("wim-mkmodel: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) die("out of memory");
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

static void usage(void)
{
    printf("usage: wim-mkmodel --preset NAME -o OUT.gguf [options]\n"
           "       wim-mkmodel --arch ARCH --n-embd N --n-layer N --n-head N --n-ff N\n"
           "                   --n-ctx-train N -o OUT.gguf [options]\n"
           "\n"
           "Writes a GGUF model with random weights and a real tokenizer.\n"
           "\n"
           "  --preset NAME      start from a preset; later flags override its fields\n"
           "  --arch ARCH        llama, qwen2 or phi3\n"
           "  --n-embd N         hidden size\n"
           "  --n-layer N        number of blocks\n"
           "  --n-head N         query heads\n"
           "  --n-head-kv N      key/value heads (default: --n-head)\n"
           "  --n-ff N           feed-forward size\n"
           "  --n-ctx-train N    training context length\n"
           "  --type TYPE        f16 or q8_0 weight matrices\n"
           "  --seed N           random seed (default 42)\n"
           "  --vocab FILE       GGUF file to take the tokenizer from\n"
           "  -o, --output FILE  where to write the model\n"
           "  -h, --help         show this help\n"
           "\npresets:");
    for (size_t i = 0; i < COUNT(presets); i++) {
        printf(" %s", presets[i].name);
        if (presets[i].alias) printf(" (or %s)", presets[i].alias);
    }
    printf("\n");
}

/* Everything the command line chooses. */
struct options {
    struct shape shape;
    const char *name;  /* preset name, or NULL when the shape comes from flags alone */
    const char *out;   /* output path */
    const char *vocab; /* tokenizer file, NULL for the family default */
    uint64_t seed;
};

/* The value after flag argv[*i]; advances *i past it. */
static const char *flag_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) die("%s needs a value", argv[*i]);
    return argv[++*i];
}

static int parse_count(const char *flag, const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v <= 0 || v > INT32_MAX)
        die("bad number for %s: '%s'", flag, s);
    return (int)v;
}

static uint64_t parse_seed(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-') die("bad number for --seed: '%s'", s);
    return v;
}

static const struct family *find_family(const char *arch)
{
    for (size_t i = 0; i < COUNT(families); i++)
        if (!strcmp(families[i].arch, arch)) return &families[i];
    die("unknown architecture '%s' (llama, qwen2 or phi3)", arch);
}

static const struct preset *find_preset(const char *name)
{
    for (size_t i = 0; i < COUNT(presets); i++) {
        const struct preset *p = &presets[i];
        if (!strcmp(p->name, name) || (p->alias && !strcmp(p->alias, name))) return p;
    }
    die("unknown preset '%s' (see --help)", name);
}

static enum ggml_type parse_type(const char *s)
{
    if (!strcmp(s, "f16")) return GGML_TYPE_F16;
    if (!strcmp(s, "q8_0")) return GGML_TYPE_Q8_0;
    die("unknown type '%s' (f16 or q8_0)", s);
}

/* Rejects shapes llama.cpp cannot load; fills in defaults. */
static void check_shape(struct shape *s)
{
    if (!s->fam) die("give --preset or --arch");
    if (!s->n_embd) die("missing --n-embd");
    if (!s->n_layer) die("missing --n-layer");
    if (!s->n_head) die("missing --n-head");
    if (!s->n_ff) die("missing --n-ff");
    if (!s->n_ctx_train) die("missing --n-ctx-train");
    if (!s->n_head_kv) s->n_head_kv = s->n_head;
    if (s->n_layer > MAX_LAYERS) die("--n-layer must be at most %d", MAX_LAYERS);
    if (s->n_embd % s->n_head || (s->n_embd / s->n_head) % 2)
        die("--n-embd must be --n-head times an even head size");
    if (s->n_head % s->n_head_kv) die("--n-head must be a multiple of --n-head-kv");
}

/* Flags apply in order, so a preset overrides the flags before it and not those after. */
static struct options parse_args(int argc, char **argv)
{
    struct options o = {.shape = {.wtype = GGML_TYPE_F16}, .seed = 42};
    struct shape *s = &o.shape;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage();
            exit(0);
        } else if (!strcmp(a, "--preset")) {
            const struct preset *p = find_preset(flag_value(argc, argv, &i));
            *s = p->shape;
            o.name = p->name;
        } else if (!strcmp(a, "--arch")) {
            s->fam = find_family(flag_value(argc, argv, &i));
        } else if (!strcmp(a, "--n-embd")) {
            s->n_embd = parse_count(a, flag_value(argc, argv, &i));
        } else if (!strcmp(a, "--n-layer")) {
            s->n_layer = parse_count(a, flag_value(argc, argv, &i));
        } else if (!strcmp(a, "--n-head")) {
            s->n_head = parse_count(a, flag_value(argc, argv, &i));
        } else if (!strcmp(a, "--n-head-kv")) {
            s->n_head_kv = parse_count(a, flag_value(argc, argv, &i));
        } else if (!strcmp(a, "--n-ff")) {
            s->n_ff = parse_count(a, flag_value(argc, argv, &i));
        } else if (!strcmp(a, "--n-ctx-train")) {
            s->n_ctx_train = parse_count(a, flag_value(argc, argv, &i));
        } else if (!strcmp(a, "--type")) {
            s->wtype = parse_type(flag_value(argc, argv, &i));
        } else if (!strcmp(a, "--seed")) {
            o.seed = parse_seed(flag_value(argc, argv, &i));
        } else if (!strcmp(a, "--vocab")) {
            o.vocab = flag_value(argc, argv, &i);
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            o.out = flag_value(argc, argv, &i);
        } else {
            die("unknown option '%s' (see --help)", a);
        }
    }
    check_shape(s);
    if (!o.out) die("missing -o OUT.gguf");
    return o;
}

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

/* ----------------------------------------------------------------------------
 * Metadata
 */

static void set_hparam_u32(struct gguf_context *g, const char *arch, const char *key, int v)
{
    char name[128];
    snprintf(name, sizeof(name), "%s.%s", arch, key);
    gguf_set_val_u32(g, name, (uint32_t)v);
}

static void set_hparam_f32(struct gguf_context *g, const char *arch, const char *key, float v)
{
    char name[128];
    snprintf(name, sizeof(name), "%s.%s", arch, key);
    gguf_set_val_f32(g, name, v);
}

/* Copies every tokenizer.* key of vocab into g; returns the number of tokens. */
static int copy_tokenizer(struct gguf_context *g, const struct gguf_context *vocab)
{
    int64_t tokens = gguf_find_key(vocab, "tokenizer.ggml.tokens");
    if (tokens < 0) return 0;

    /* gguf can only copy all keys, so copy into a scratch context and drop the rest */
    struct gguf_context *tmp = gguf_init_empty();
    gguf_set_kv(tmp, vocab);
    for (int64_t i = gguf_get_n_kv(tmp) - 1; i >= 0; i--) {
        const char *key = gguf_get_key(tmp, i);
        if (strncmp(key, "tokenizer.", strlen("tokenizer.")) != 0) gguf_remove_key(tmp, key);
    }
    gguf_set_kv(g, tmp);
    gguf_free(tmp);
    return (int)gguf_get_arr_n(vocab, tokens);
}

/* Writes the general.*, tokenizer.* and hyperparameter keys; returns the vocab size. */
static int write_metadata(struct gguf_context *g, const struct options *o, const char *vocab_path)
{
    const struct shape *s = &o->shape;
    const char *arch = s->fam->arch;
    char name[128];
    snprintf(name, sizeof(name), "wim random %s", o->name ? o->name : arch);

    gguf_set_val_str(g, "general.architecture", arch);
    gguf_set_val_str(g, "general.name", name);
    gguf_set_val_u32(g, "general.file_type",
                     s->wtype == GGML_TYPE_Q8_0 ? LLAMA_FTYPE_MOSTLY_Q8_0 : LLAMA_FTYPE_MOSTLY_F16);
    gguf_set_val_u32(g, "general.quantization_version", GGML_QNT_VERSION);

    FILE *f = fopen(vocab_path, "rb");
    if (!f) die("cannot open vocab file '%s': %s", vocab_path, strerror(errno));
    struct gguf_init_params params = {.no_alloc = true, .ctx = NULL};
    struct gguf_context *vocab = gguf_init_from_file_ptr(f, params);
    fclose(f);
    if (!vocab) die("'%s' is not a GGUF file", vocab_path);
    int n_vocab = copy_tokenizer(g, vocab);
    if (!n_vocab) die("'%s' has no tokenizer.ggml.tokens", vocab_path);
    if (gguf_find_key(vocab, "tokenizer.chat_template") < 0)
        gguf_set_val_str(g, "tokenizer.chat_template", s->fam->chat_template);
    gguf_free(vocab);

    set_hparam_u32(g, arch, "vocab_size", n_vocab);
    set_hparam_u32(g, arch, "context_length", s->n_ctx_train);
    set_hparam_u32(g, arch, "embedding_length", s->n_embd);
    set_hparam_u32(g, arch, "block_count", s->n_layer);
    set_hparam_u32(g, arch, "feed_forward_length", s->n_ff);
    set_hparam_u32(g, arch, "attention.head_count", s->n_head);
    set_hparam_u32(g, arch, "attention.head_count_kv", s->n_head_kv);
    set_hparam_f32(g, arch, "attention.layer_norm_rms_epsilon", s->fam->rms_eps);
    set_hparam_f32(g, arch, "rope.freq_base", s->fam->rope_base);
    set_hparam_u32(g, arch, "rope.dimension_count", s->n_embd / s->n_head);
    return n_vocab;
}

/* ----------------------------------------------------------------------------
 * Tensor layout
 */

/* What a tensor's values are. */
enum fill {
    FILL_RANDOM, /* normal(0, WEIGHT_STD): weight matrices and biases */
    FILL_ONES,   /* 1.0: RMS norm weights, so norms start as plain normalisation */
};

/* The tensors of the model, in file order. */
struct layout {
    struct ggml_context *meta; /* tensor headers only (no_alloc), for gguf_add_tensor */
    struct gguf_context *gguf; /* output metadata; tensor ids index fill[] */
    enum fill *fill;           /* how to fill each tensor */
    enum ggml_type wtype;      /* preferred type of matrices */
    int64_t n_params;          /* values in all tensors */
};

/*
 * Declares a tensor of ne0 x ne1 values (ne1 == 0: a vector). ne0 is the row length,
 * the input dimension of a matrix. Vectors stay F32; matrices whose rows do not divide
 * into quantization blocks fall back to F16.
 */
static void add_tensor(struct layout *L, const char *name, int64_t ne0, int64_t ne1, enum fill fill)
{
    enum ggml_type type = GGML_TYPE_F32;
    if (ne1) type = ne0 % ggml_blck_size(L->wtype) ? GGML_TYPE_F16 : L->wtype;

    struct ggml_tensor *t =
        ne1 ? ggml_new_tensor_2d(L->meta, type, ne0, ne1) : ggml_new_tensor_1d(L->meta, type, ne0);
    ggml_set_name(t, name);
    L->fill[gguf_get_n_tensors(L->gguf)] = fill;
    gguf_add_tensor(L->gguf, t);
    L->n_params += ne1 ? ne0 * ne1 : ne0;
}

/* Same, for tensor "blk.<il>.<name>". */
static void add_block_tensor(struct layout *L, int il, const char *name, int64_t ne0, int64_t ne1,
                             enum fill fill)
{
    char full[GGML_MAX_NAME];
    snprintf(full, sizeof(full), "blk.%d.%s", il, name);
    add_tensor(L, full, ne0, ne1, fill);
}

static void add_block(struct layout *L, const struct shape *s, int il)
{
    const int64_t n_embd = s->n_embd, n_ff = s->n_ff;
    const int64_t n_kv = n_embd / s->n_head * s->n_head_kv; /* width of K and of V */

    add_block_tensor(L, il, "attn_norm.weight", n_embd, 0, FILL_ONES);
    if (s->fam->fused) {
        add_block_tensor(L, il, "attn_qkv.weight", n_embd, n_embd + 2 * n_kv, FILL_RANDOM);
    } else {
        add_block_tensor(L, il, "attn_q.weight", n_embd, n_embd, FILL_RANDOM);
        add_block_tensor(L, il, "attn_k.weight", n_embd, n_kv, FILL_RANDOM);
        add_block_tensor(L, il, "attn_v.weight", n_embd, n_kv, FILL_RANDOM);
    }
    if (s->fam->qkv_bias) {
        add_block_tensor(L, il, "attn_q.bias", n_embd, 0, FILL_RANDOM);
        add_block_tensor(L, il, "attn_k.bias", n_kv, 0, FILL_RANDOM);
        add_block_tensor(L, il, "attn_v.bias", n_kv, 0, FILL_RANDOM);
    }
    add_block_tensor(L, il, "attn_output.weight", n_embd, n_embd, FILL_RANDOM);

    add_block_tensor(L, il, "ffn_norm.weight", n_embd, 0, FILL_ONES);
    if (s->fam->fused) {
        add_block_tensor(L, il, "ffn_up.weight", n_embd, 2 * n_ff, FILL_RANDOM);
    } else {
        add_block_tensor(L, il, "ffn_gate.weight", n_embd, n_ff, FILL_RANDOM);
        add_block_tensor(L, il, "ffn_up.weight", n_embd, n_ff, FILL_RANDOM);
    }
    add_block_tensor(L, il, "ffn_down.weight", n_ff, n_embd, FILL_RANDOM);
}

/* Declares all tensors of the model in g. Free with free_layout(). */
static struct layout make_layout(struct gguf_context *g, const struct shape *s, int n_vocab)
{
    const size_t max_tensors = 3 + 12 * (size_t)s->n_layer;
    struct ggml_init_params params = {
        .mem_size = max_tensors * ggml_tensor_overhead(),
        .mem_buffer = NULL,
        .no_alloc = true,
    };
    struct layout L = {
        .meta = ggml_init(params),
        .gguf = g,
        .fill = xmalloc(max_tensors * sizeof(enum fill)),
        .wtype = s->wtype,
    };
    if (!L.meta) die("out of memory");

    add_tensor(&L, "token_embd.weight", s->n_embd, n_vocab, FILL_RANDOM);
    for (int il = 0; il < s->n_layer; il++)
        add_block(&L, s, il);
    add_tensor(&L, "output_norm.weight", s->n_embd, 0, FILL_ONES);
    if (!s->fam->tied) add_tensor(&L, "output.weight", s->n_embd, n_vocab, FILL_RANDOM);
    return L;
}

static void free_layout(struct layout *L)
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
    const int64_t rows_per_chunk = ne[0] < CHUNK_ELEMS ? CHUNK_ELEMS / ne[0] : 1;
    uint64_t state = seed ^ hash_name(name);

    for (int64_t row = 0; row < ne[1]; row += rows_per_chunk) {
        const int64_t rows = ne[1] - row < rows_per_chunk ? ne[1] - row : rows_per_chunk;
        const size_t n = (size_t)(rows * ne[0]);
        if (L->fill[id] == FILL_ONES) {
            for (size_t i = 0; i < n; i++)
                w->values[i] = 1.0f;
        } else {
            fill_normal(w->values, n, WEIGHT_STD, &state);
        }
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

/* Writes the model to a temporary file next to path, then renames it into place. */
static uint64_t write_file(const char *path, const struct layout *L, uint64_t seed)
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

/* ----------------------------------------------------------------------------
 * main
 */

/* Drops ggml's log lines: each failure is reported once, by die(). */
static void silent_log(enum ggml_log_level level, const char *text, void *user_data)
{
    (void)level;
    (void)text;
    (void)user_data;
}

/* The tokenizer file: --vocab, or the family's file in WIM_VOCAB_DIR. */
static char *vocab_path(const struct options *o)
{
    const char *dir = WIM_VOCAB_DIR;
    if (o->vocab) return xstrdup(o->vocab);
    if (!*dir) die("no built-in vocab directory: give --vocab FILE.gguf");
    size_t len = strlen(dir) + strlen(o->shape.fam->vocab_file) + 2;
    char *p = xmalloc(len);
    snprintf(p, len, "%s/%s", dir, o->shape.fam->vocab_file);
    return p;
}

int main(int argc, char **argv)
{
    struct options o = parse_args(argc, argv);
    ggml_log_set(silent_log, NULL);
    char *vocab = vocab_path(&o);

    struct gguf_context *g = gguf_init_empty();
    int n_vocab = write_metadata(g, &o, vocab);
    struct layout L = make_layout(g, &o.shape, n_vocab);
    uint64_t size = write_file(o.out, &L, o.seed);

    printf("wim-mkmodel: wrote %s (%s, %.2fM params, %s, %.1f MiB)\n", o.out, o.shape.fam->arch,
           L.n_params / 1e6, ggml_type_name(o.shape.wtype), size / 1048576.0);
    free_layout(&L);
    gguf_free(g);
    free(vocab);
    return 0;
}
