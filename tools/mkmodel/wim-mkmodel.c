/*
 * wim-mkmodel.c - writes GGUF model files with random weights that llama.cpp loads.
 *
 * Tests and benchmarks need models of a real architecture and a real tokenizer, but not
 * trained weights. This tool takes the tokenizer from one of llama.cpp's vocab files and
 * the family's chat template from llama.cpp's templates, adds the hyperparameters and
 * tensors of a model of the requested architecture and shape (families.c), and fills the
 * weights from a seeded generator (layout.c), so the same flags always give the same file.
 * F32, F16 and Q8_0 are written directly; other types are written as F16 and then
 * quantized by llama.cpp's own llama_model_quantize(), as llama-quantize would.
 *
 * Usage: wim-mkmodel --preset NAME -o OUT.gguf [shape flags]   (see --help)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datadir.h"
#include "llama.h"
#include "mkmodel.h"
#include "wim.h"

#ifndef WIM_VOCAB_DIR
#define WIM_VOCAB_DIR ""
#endif

/* ----------------------------------------------------------------------------
 * Weight types
 */

/* A --type, as llama-quantize names it. */
struct wtype {
    const char *name;       /* lower case; matched case-insensitively */
    enum llama_ftype ftype; /* general.file_type, and what llama_model_quantize() is asked */
    enum ggml_type direct;  /* type of matrices written directly; GGML_TYPE_COUNT: quantize */
    bool imatrix;           /* llama.cpp refuses it without an importance matrix */
};

#define VIA_QUANTIZE GGML_TYPE_COUNT

static const struct wtype wtypes[] = {
    {"f32", LLAMA_FTYPE_ALL_F32, GGML_TYPE_F32, false},
    {"f16", LLAMA_FTYPE_MOSTLY_F16, GGML_TYPE_F16, false},
    {"q8_0", LLAMA_FTYPE_MOSTLY_Q8_0, GGML_TYPE_Q8_0, false},
    {"bf16", LLAMA_FTYPE_MOSTLY_BF16, VIA_QUANTIZE, false},
    {"q4_0", LLAMA_FTYPE_MOSTLY_Q4_0, VIA_QUANTIZE, false},
    {"q4_1", LLAMA_FTYPE_MOSTLY_Q4_1, VIA_QUANTIZE, false},
    {"q5_0", LLAMA_FTYPE_MOSTLY_Q5_0, VIA_QUANTIZE, false},
    {"q5_1", LLAMA_FTYPE_MOSTLY_Q5_1, VIA_QUANTIZE, false},
    {"q2_k", LLAMA_FTYPE_MOSTLY_Q2_K, VIA_QUANTIZE, false},
    {"q3_k_s", LLAMA_FTYPE_MOSTLY_Q3_K_S, VIA_QUANTIZE, false},
    {"q3_k_m", LLAMA_FTYPE_MOSTLY_Q3_K_M, VIA_QUANTIZE, false},
    {"q3_k", LLAMA_FTYPE_MOSTLY_Q3_K_M, VIA_QUANTIZE, false},
    {"q3_k_l", LLAMA_FTYPE_MOSTLY_Q3_K_L, VIA_QUANTIZE, false},
    {"q4_k_s", LLAMA_FTYPE_MOSTLY_Q4_K_S, VIA_QUANTIZE, false},
    {"q4_k_m", LLAMA_FTYPE_MOSTLY_Q4_K_M, VIA_QUANTIZE, false},
    {"q4_k", LLAMA_FTYPE_MOSTLY_Q4_K_M, VIA_QUANTIZE, false},
    {"q5_k_s", LLAMA_FTYPE_MOSTLY_Q5_K_S, VIA_QUANTIZE, false},
    {"q5_k_m", LLAMA_FTYPE_MOSTLY_Q5_K_M, VIA_QUANTIZE, false},
    {"q5_k", LLAMA_FTYPE_MOSTLY_Q5_K_M, VIA_QUANTIZE, false},
    {"q6_k", LLAMA_FTYPE_MOSTLY_Q6_K, VIA_QUANTIZE, false},
    {"iq3_xs", LLAMA_FTYPE_MOSTLY_IQ3_XS, VIA_QUANTIZE, false},
    {"iq3_s", LLAMA_FTYPE_MOSTLY_IQ3_S, VIA_QUANTIZE, false},
    {"iq3_m", LLAMA_FTYPE_MOSTLY_IQ3_M, VIA_QUANTIZE, false},
    {"iq4_nl", LLAMA_FTYPE_MOSTLY_IQ4_NL, VIA_QUANTIZE, false},
    {"iq4_xs", LLAMA_FTYPE_MOSTLY_IQ4_XS, VIA_QUANTIZE, false},
    {"tq1_0", LLAMA_FTYPE_MOSTLY_TQ1_0, VIA_QUANTIZE, false},
    {"tq2_0", LLAMA_FTYPE_MOSTLY_TQ2_0, VIA_QUANTIZE, false},
    {"mxfp4_moe", LLAMA_FTYPE_MOSTLY_MXFP4_MOE, VIA_QUANTIZE, false},
    {"q2_k_s", LLAMA_FTYPE_MOSTLY_Q2_K_S, VIA_QUANTIZE, true},
    {"iq1_s", LLAMA_FTYPE_MOSTLY_IQ1_S, VIA_QUANTIZE, true},
    {"iq1_m", LLAMA_FTYPE_MOSTLY_IQ1_M, VIA_QUANTIZE, true},
    {"iq2_xxs", LLAMA_FTYPE_MOSTLY_IQ2_XXS, VIA_QUANTIZE, true},
    {"iq2_xs", LLAMA_FTYPE_MOSTLY_IQ2_XS, VIA_QUANTIZE, true},
    {"iq2_s", LLAMA_FTYPE_MOSTLY_IQ2_S, VIA_QUANTIZE, true},
    {"iq2_m", LLAMA_FTYPE_MOSTLY_IQ2_M, VIA_QUANTIZE, true},
    {"iq3_xxs", LLAMA_FTYPE_MOSTLY_IQ3_XXS, VIA_QUANTIZE, true},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ----------------------------------------------------------------------------
 * Presets
 */

struct preset {
    const char *name;
    const char *alias; /* another name for it, or NULL */
    struct shape shape;
};

#define F(id) (&families[FAM_##id])

/* New tiny presets have n_embd and n_ff multiples of 256, so that k-quants (--type q4_k_m
 * ...) quantize their matrices rather than fall back to other types. Their sliding windows
 * are 16 tokens, shorter than a test document's segments, so that a fork from a prefix of
 * the document loses cells without a checkpoint (the defect tests must be able to see). */
static const struct preset presets[] = {
    /* for fast tests */
    {"tiny-qwen2", "tiny", {F(QWEN2), 64, 2, 4, 2, 128, 8192, .type = "f16"}},
    {"tiny-llama", NULL, {F(LLAMA), 64, 2, 4, 2, 128, 8192, .type = "f16"}},
    {"tiny-phi3", NULL, {F(PHI3), 64, 2, 4, 4, 128, 4096, .type = "f16"}},
    /* for quick runs of wim-eval at the paper's lengths (16k-64k) */
    {"tiny-qwen2-128k", NULL, {F(QWEN2), 64, 2, 4, 2, 128, 131072, .type = "f16"}},
    {"tiny-qwen3", NULL, {F(QWEN3), 256, 2, 4, 2, 512, 8192, .head_dim = 64, .type = "f16"}},
    {"tiny-qwen35",
     NULL,
     {F(QWEN35), 256, 4, 4, 2, 512, 8192, .head_dim = 64, .n_rot = 16, .layers = "RRRA",
      .ssm_conv = 4, .ssm_state = 32, .ssm_group = 2, .ssm_head = 4, .type = "f16"}},
    {"tiny-gemma3",
     NULL,
     {F(GEMMA3), 256, 4, 4, 1, 512, 8192, .head_dim = 64, .layers = "SSSA", .n_swa = 16,
      .type = "f16"}},
    {"tiny-lfm2",
     NULL,
     {F(LFM2), 256, 4, 4, 2, 512, 8192, .layers = "RA", .ssm_conv = 3, .type = "f16"}},
    {"tiny-granite4h",
     NULL,
     {F(GRANITEHYBRID), 256, 4, 4, 2, 512, 8192, .layers = "RRRA", .ssm_conv = 4, .ssm_state = 64,
      .ssm_group = 1, .ssm_head = 16, .type = "f16"}},
    {"tiny-gpt-oss",
     NULL,
     {F(GPT_OSS), 256, 2, 4, 2, 256, 8192, .head_dim = 64, .layers = "SA", .n_swa = 16,
      .n_expert = 4, .n_expert_used = 2, .type = "f16"}},
    /* Qwen2.5-0.5B-Instruct */
    {"qwen2-0.5b", NULL, {F(QWEN2), 896, 24, 14, 2, 4864, 32768, .type = "q8_0"}},
    /* Llama-3.2-1B, context capped from 131072 to keep default KV caches small */
    {"llama-1b", NULL, {F(LLAMA), 2048, 16, 32, 8, 8192, 32768, .type = "q8_0"}},
    /* Phi-3-mini-4k */
    {"phi3-mini", NULL, {F(PHI3), 3072, 32, 32, 32, 8192, 4096, .type = "q8_0"}},
    /* Qwen3-0.6B, context capped from 40960 */
    {"qwen3-0.6b", NULL, {F(QWEN3), 1024, 28, 16, 8, 3072, 32768, .head_dim = 128, .type = "q8_0"}},
    /* Qwen3.5-0.8B: 3 delta-net layers to 1 gated attention layer; context capped */
    {"qwen35-0.8b",
     NULL,
     {F(QWEN35), 1024, 24, 8, 2, 3584, 32768, .head_dim = 256, .n_rot = 64, .layers = "RRRA",
      .ssm_conv = 4, .ssm_state = 128, .ssm_group = 16, .ssm_head = 16, .type = "q8_0"}},
    /* Gemma-3-1B: 5 sliding-window layers (512 tokens) to 1 global one */
    {"gemma3-1b",
     NULL,
     {F(GEMMA3), 1152, 26, 4, 1, 6912, 32768, .head_dim = 256, .layers = "SSSSSA", .n_swa = 512,
      .type = "q8_0"}},
    /* LFM2-350M: 10 short-convolution layers, 6 attention ones; context capped */
    {"lfm2-350m",
     NULL,
     {F(LFM2), 1024, 16, 16, 8, 4608, 32768, .layers = "RRARRARRARARARAR", .ssm_conv = 3,
      .type = "q8_0"}},
    /* Granite-4.0-H-350M: mamba2 with an attention layer in 8 (the real placement differs) */
    {"granite4h-350m",
     NULL,
     {F(GRANITEHYBRID), 768, 32, 12, 4, 2048, 32768, .layers = "RRRRRRRA", .ssm_conv = 4,
      .ssm_state = 128, .ssm_group = 1, .ssm_head = 48, .type = "q8_0"}},
    /* gpt-oss-20b's widths, but 8 layers of 8 experts instead of 24 of 32: 2.5B values */
    {"gpt-oss-mini",
     NULL,
     {F(GPT_OSS), 2880, 8, 64, 8, 2880, 32768, .head_dim = 64, .layers = "SA", .n_swa = 128,
      .n_expert = 8, .n_expert_used = 4, .type = "q8_0"}},
};

/* ----------------------------------------------------------------------------
 * Errors and command line
 */

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("wim-mkmodel: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) die("out of memory");
    return p;
}

char *xstrdup(const char *s)
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
           "Writes a GGUF model with random weights, a real tokenizer and chat template.\n"
           "\n"
           "  --preset NAME      start from a preset; later flags override its fields\n"
           "  --arch ARCH        %s\n"
           "  --n-embd N         hidden size\n"
           "  --n-layer N        number of blocks\n"
           "  --n-head N         query heads\n"
           "  --n-head-kv N      key/value heads (default: --n-head)\n"
           "  --head-dim N       head size (default: n-embd / n-head)\n"
           "  --n-rot N          rotary dimensions per head (qwen35; default: all)\n"
           "  --n-ff N           feed-forward size (per expert with experts)\n"
           "  --n-ctx-train N    training context length\n"
           "  --layers PATTERN   layer kinds, repeated over the blocks: A attention,\n"
           "                     S sliding-window attention, R recurrent (e.g. RRRA)\n"
           "  --n-swa N          sliding window in tokens\n"
           "  --ssm-conv N       recurrent layers: convolution width\n"
           "  --ssm-state N      recurrent layers: state size (delta net: head size)\n"
           "  --ssm-group N      recurrent layers: groups (delta net: key heads)\n"
           "  --ssm-head N       recurrent layers: heads (delta net: value heads)\n"
           "  --n-expert N       experts per layer (gpt-oss)\n"
           "  --n-expert-used N  experts per token (gpt-oss)\n"
           "  --type TYPE        weight type: f32, f16 or q8_0 written directly; others\n"
           "                     through llama.cpp's quantizer\n"
           "  --seed N           random seed (default 42)\n"
           "  --vocab FILE       GGUF file to take the tokenizer from\n"
           "  --template FILE    Jinja chat template to write (default: the family's)\n"
           "  -o, --output FILE  where to write the model\n"
           "  -h, --help         show this help\n"
           "      --version      the version\n"
           "\ntypes:",
           family_names());
    for (size_t i = 0; i < COUNT(wtypes); i++)
        if (!wtypes[i].imatrix) printf(" %s", wtypes[i].name);
    printf("\npresets:");
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
    const char *chat;  /* chat template file, NULL for the family default */
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

static const struct preset *find_preset(const char *name)
{
    for (size_t i = 0; i < COUNT(presets); i++) {
        const struct preset *p = &presets[i];
        if (!strcmp(p->name, name) || (p->alias && !strcmp(p->alias, name))) return p;
    }
    die("unknown preset '%s' (see --help)", name);
}

static const struct wtype *find_type(const char *s)
{
    for (size_t i = 0; i < COUNT(wtypes); i++) {
        if (strcasecmp(wtypes[i].name, s) != 0) continue;
        if (wtypes[i].imatrix)
            die("type '%s' needs an importance matrix, which random weights cannot give", s);
        return &wtypes[i];
    }
    die("unknown type '%s' (see --help)", s);
}

/* Whether any of the n_layer blocks of s is of the given kind. */
static bool has_layer(const struct shape *s, char kind)
{
    for (int il = 0; il < s->n_layer; il++)
        if (layer_kind(s, il) == kind) return true;
    return false;
}

/* Rejects layer patterns the family has no use for. */
static void check_layers(const struct shape *s)
{
    if (!s->layers) return;
    if (!*s->layers) die("--layers must not be empty");
    for (const char *c = s->layers; *c; c++)
        if (!strchr(s->fam->memory, *c))
            die("%s has no '%c' layers (--layers takes %s)", s->fam->arch, *c, s->fam->memory);
    if (has_layer(s, LAYER_SWA) && !s->n_swa) die("sliding-window layers need --n-swa");
    if (has_layer(s, LAYER_RECUR) && !s->ssm_conv) die("recurrent layers need --ssm-conv");
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
    if (s->head_dim ? s->head_dim % 2 : s->n_embd % s->n_head || (s->n_embd / s->n_head) % 2)
        die("--n-embd must be --n-head times an even head size, or give an even --head-dim");
    if (s->n_head % s->n_head_kv) die("--n-head must be a multiple of --n-head-kv");
    if (s->n_rot && (s->n_rot % 2 || s->n_rot > shape_head_dim(s)))
        die("--n-rot must be even and at most the head size");
    if (shape_n_rot(s) != shape_head_dim(s) && !s->fam->partial_rope)
        die("%s rotates whole heads: drop --n-rot", s->fam->arch);
    check_layers(s);
    if (s->fam->check) s->fam->check(s);
}

/* Applies shape flag argv[*i] and its value to s, advancing *i; false if it is not one. */
static bool parse_shape_flag(struct shape *s, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    static const struct {
        const char *flag;
        size_t offset;
    } counts[] = {
        {"--n-embd", offsetof(struct shape, n_embd)},
        {"--n-layer", offsetof(struct shape, n_layer)},
        {"--n-head", offsetof(struct shape, n_head)},
        {"--n-head-kv", offsetof(struct shape, n_head_kv)},
        {"--head-dim", offsetof(struct shape, head_dim)},
        {"--n-rot", offsetof(struct shape, n_rot)},
        {"--n-ff", offsetof(struct shape, n_ff)},
        {"--n-ctx-train", offsetof(struct shape, n_ctx_train)},
        {"--n-swa", offsetof(struct shape, n_swa)},
        {"--ssm-conv", offsetof(struct shape, ssm_conv)},
        {"--ssm-state", offsetof(struct shape, ssm_state)},
        {"--ssm-group", offsetof(struct shape, ssm_group)},
        {"--ssm-head", offsetof(struct shape, ssm_head)},
        {"--n-expert", offsetof(struct shape, n_expert)},
        {"--n-expert-used", offsetof(struct shape, n_expert_used)},
    };
    for (size_t k = 0; k < COUNT(counts); k++) {
        if (strcmp(a, counts[k].flag) != 0) continue;
        *(int *)((char *)s + counts[k].offset) = parse_count(a, flag_value(argc, argv, i));
        return true;
    }
    if (!strcmp(a, "--arch")) {
        s->fam = find_family(flag_value(argc, argv, i));
    } else if (!strcmp(a, "--layers")) {
        s->layers = flag_value(argc, argv, i);
    } else if (!strcmp(a, "--type")) {
        s->type = find_type(flag_value(argc, argv, i))->name;
    } else {
        return false;
    }
    return true;
}

/* Flags apply in order, so a preset overrides the flags before it and not those after. */
static struct options parse_args(int argc, char **argv)
{
    struct options o = {.shape = {.type = "f16"}, .seed = 42};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage();
            exit(0);
        } else if (!strcmp(a, "--version")) {
            printf("wim-mkmodel %s\n", WIM_VERSION_STRING);
            exit(0);
        } else if (!strcmp(a, "--preset")) {
            const struct preset *p = find_preset(flag_value(argc, argv, &i));
            o.shape = p->shape;
            o.name = p->name;
        } else if (!strcmp(a, "--seed")) {
            o.seed = parse_seed(flag_value(argc, argv, &i));
        } else if (!strcmp(a, "--vocab")) {
            o.vocab = flag_value(argc, argv, &i);
        } else if (!strcmp(a, "--template")) {
            o.chat = flag_value(argc, argv, &i);
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            o.out = flag_value(argc, argv, &i);
        } else if (!parse_shape_flag(&o.shape, argc, argv, &i)) {
            die("unknown option '%s' (see --help)", a);
        }
    }
    check_shape(&o.shape);
    if (!o.out) die("missing -o OUT.gguf");
    return o;
}

/* ----------------------------------------------------------------------------
 * Metadata
 */

/* "DIR/NAME" (with "SUFFIX") for a file in the installed share/wim/vocab or WIM_VOCAB_DIR; what
 * names a file to give otherwise. */
static char *vocab_dir_file(const char *name, const char *suffix, const char *what)
{
    char *dir = data_dir("vocab", WIM_VOCAB_DIR);
    if (!*dir) die("no built-in vocab directory: give %s", what);
    size_t len = strlen(dir) + strlen(name) + strlen(suffix) + 2;
    char *p = xmalloc(len);
    snprintf(p, len, "%s/%s%s", dir, name, suffix);
    free(dir);
    return p;
}

/* The tokenizer file: --vocab, or the family's file in WIM_VOCAB_DIR. */
static char *vocab_path(const struct options *o)
{
    if (o->vocab) return xstrdup(o->vocab);
    return vocab_dir_file(o->shape.fam->vocab_file, "", "--vocab FILE.gguf");
}

/* The chat template file: --template, the family's in WIM_VOCAB_DIR/templates, or NULL
 * for the families that keep their vocab file's template. */
static char *template_path(const struct options *o)
{
    if (o->chat) return xstrdup(o->chat);
    const char *name = o->shape.fam->template_file;
    if (!name) return NULL;
    char *file = xmalloc(strlen(name) + sizeof("templates/"));
    sprintf(file, "templates/%s", name);
    char *path = vocab_dir_file(file, ".jinja", "--template FILE.jinja");
    free(file);
    return path;
}

/* Writes the general.*, tokenizer.* and hyperparameter keys; returns the vocab size. */
static int write_metadata(struct gguf_context *g, const struct options *o, const struct wtype *type)
{
    const struct shape *s = &o->shape;
    char name[128];
    snprintf(name, sizeof(name), "wim random %s", o->name ? o->name : s->fam->arch);

    gguf_set_val_str(g, "general.architecture", s->fam->arch);
    gguf_set_val_str(g, "general.name", name);
    /* what is written here; the quantizer sets its own */
    gguf_set_val_u32(g, "general.file_type",
                     type->direct == VIA_QUANTIZE ? LLAMA_FTYPE_MOSTLY_F16 : type->ftype);
    gguf_set_val_u32(g, "general.quantization_version", GGML_QNT_VERSION);

    char *vocab = vocab_path(o);
    char *chat = template_path(o);
    int n_vocab = add_tokenizer(g, s->fam, vocab, chat);
    free(vocab);
    free(chat);
    add_hparams(g, s, n_vocab);
    return n_vocab;
}

/* ----------------------------------------------------------------------------
 * Quantizing
 */

static char last_error[512]; /* llama.cpp's last error line, for die() */

/* Keeps llama.cpp's and ggml's last error and drops the rest: each failure is reported
 * once, by die(). */
static void quiet_log(enum ggml_log_level level, const char *text, void *user_data)
{
    (void)user_data;
    if (level != GGML_LOG_LEVEL_ERROR) return;
    snprintf(last_error, sizeof(last_error), "%s", text);
    last_error[strcspn(last_error, "\n")] = '\0';
}

/* Quantizes the model at in into out, through a temporary file next to out. */
static void quantize(const char *in, const char *out, const struct wtype *type)
{
    size_t len = strlen(out) + 32;
    char *tmp = xmalloc(len);
    snprintf(tmp, len, "%s.tmp.%ld", out, (long)getpid());

    llama_backend_init();
    struct llama_model_quantize_params params = llama_model_quantize_default_params();
    params.ftype = type->ftype;
    bool ok = llama_model_quantize(in, tmp, &params) == 0;
    llama_backend_free();
    remove(in);
    if (!ok) {
        remove(tmp);
        die("llama.cpp could not quantize to %s: %s", type->name, last_error);
    }
    if (rename(tmp, out) != 0) {
        int err = errno;
        remove(tmp);
        die("cannot write '%s': %s", out, strerror(err));
    }
    free(tmp);
}

/* "12 q4_K + 2 q6_K + 9 f32": how many tensors of each type the file at path holds. */
static void describe_types(const char *path, char *buf, size_t size)
{
    struct gguf_init_params params = {.no_alloc = true, .ctx = NULL};
    struct gguf_context *g = gguf_init_from_file(path, params);
    if (!g) die("cannot read back '%s'", path);
    int count[GGML_TYPE_COUNT] = {0};
    for (int64_t id = 0; id < gguf_get_n_tensors(g); id++)
        count[gguf_get_tensor_type(g, id)]++;
    gguf_free(g);

    size_t used = 0;
    buf[0] = '\0';
    for (int t = 0; t < GGML_TYPE_COUNT && used < size; t++) {
        if (!count[t]) continue;
        used += (size_t)snprintf(buf + used, size - used, "%s%d %s", used ? " + " : "", count[t],
                                 ggml_type_name((enum ggml_type)t));
    }
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) die("cannot read back '%s': %s", path, strerror(errno));
    return (uint64_t)st.st_size;
}

/* ----------------------------------------------------------------------------
 * main
 */

int main(int argc, char **argv)
{
    struct options o = parse_args(argc, argv);
    const struct wtype *type = find_type(o.shape.type);
    const bool direct = type->direct != VIA_QUANTIZE;
    ggml_log_set(quiet_log, NULL);
    llama_log_set(quiet_log, NULL);

    struct gguf_context *g = gguf_init_empty();
    int n_vocab = write_metadata(g, &o, type);
    struct layout L = make_layout(g, &o.shape, direct ? type->direct : GGML_TYPE_F16, n_vocab);

    if (direct) {
        uint64_t size = write_file(o.out, &L, o.seed);
        printf("wim-mkmodel: wrote %s (%s, %.2fM params, %s, %.1f MiB)\n", o.out, o.shape.fam->arch,
               L.n_params / 1e6, ggml_type_name(type->direct), size / 1048576.0);
    } else {
        size_t len = strlen(o.out) + 8;
        char *f16 = xmalloc(len);
        snprintf(f16, len, "%s.f16", o.out);
        write_file(f16, &L, o.seed);
        quantize(f16, o.out, type);
        free(f16);
        char types[512];
        describe_types(o.out, types, sizeof(types));
        printf("wim-mkmodel: wrote %s (%s, %.2fM params, %s: %s, %.1f MiB)\n", o.out,
               o.shape.fam->arch, L.n_params / 1e6, type->name, types,
               file_size(o.out) / 1048576.0);
    }
    free_layout(&L);
    gguf_free(g);
    return 0;
}
