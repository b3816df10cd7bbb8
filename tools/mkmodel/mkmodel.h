/*
 * mkmodel.h - what the parts of wim-mkmodel share: model families, shapes and the layout of
 * the tensors being written.
 *
 * families.c knows each architecture's keys and tensors, tokenizer.c copies a real tokenizer
 * and chat template, layout.c generates and streams the weights, wim-mkmodel.c reads the
 * command line and drives the rest.
 */
#ifndef WIM_MKMODEL_H
#define WIM_MKMODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "ggml.h"
#include "gguf.h"

#define MAX_LAYERS 512 /* llama.cpp's LLAMA_MAX_LAYERS */

/* ----------------------------------------------------------------------------
 * Families and shapes
 */

struct shape;
struct layout;

/*
 * Layer kinds, one letter each in a shape's layer pattern, which repeats over the layers:
 * "SSSSSA" is five sliding-window layers then a full-attention one, and so on.
 */
#define LAYER_ATTN  'A' /* attention over the whole context */
#define LAYER_SWA   'S' /* attention over a sliding window */
#define LAYER_RECUR 'R' /* recurrent: gated delta net, mamba2 or short convolution */

/* What an architecture fixes, whatever the model size. */
struct family {
    const char *arch;           /* general.architecture, also the prefix of hparam keys */
    const char *vocab_file;     /* default tokenizer source, a file in WIM_VOCAB_DIR */
    const char *chat_template;  /* built in, written when the vocab file carries none */
    const char *template_file;  /* WIM_VOCAB_DIR/templates/<this>.jinja, written over the vocab
                                   file's template; NULL for the built-in rule above */
    const char *const *renames; /* "OLD=NEW" token renames, NULL-terminated; may be NULL */
    const char *memory;         /* the layer kinds it allows, e.g. "AR" */
    float rope_base;            /* rope.freq_base */
    float rms_eps;              /* attention.layer_norm_rms_epsilon */
    bool qkv_bias;              /* attn_q/k/v have biases */
    bool fused;                 /* one attn_qkv matrix, ffn_up holds gate and up (phi3) */
    bool tied;                  /* no output.weight: llama.cpp reuses token_embd */
    bool partial_rope;          /* --n-rot may rotate part of each head (qwen35) */
    bool kv_per_layer;          /* attention.head_count_kv is an array, 0 on recurrent layers */
    const char *output_norm;    /* name of the final norm; NULL: output_norm.weight */
    /* writes the keys beyond the common ones; may be NULL */
    void (*add_hparams)(struct gguf_context *g, const struct shape *s);
    /* dies on shapes llama.cpp cannot load beyond the common checks; may be NULL */
    void (*check)(const struct shape *s);
    /* declares the tensors of block il */
    void (*add_block)(struct layout *L, const struct shape *s, int il);
};

/* The size of a model; fields are 0 until a preset or flag sets them. */
struct shape {
    const struct family *fam; /* architecture */
    int n_embd;               /* hidden size */
    int n_layer;              /* blocks */
    int n_head;               /* query heads */
    int n_head_kv;            /* key/value heads (0: same as n_head) */
    int n_ff;                 /* feed-forward hidden size */
    int n_ctx_train;          /* context_length */
    int head_dim;             /* attention head size; 0: n_embd / n_head, and no key is written */
    int n_rot;                /* rotary dimensions; 0: the whole head */
    const char *layers;       /* layer pattern (see LAYER_*); NULL: all LAYER_ATTN */
    int n_swa;                /* sliding window, in tokens */
    int ssm_conv;             /* recurrent layers: convolution kernel width */
    int ssm_state;            /* recurrent layers: state size per head (delta net: head size) */
    int ssm_group;            /* recurrent layers: groups (delta net: key heads) */
    int ssm_head;             /* recurrent layers: heads (delta net: value heads) */
    int n_expert;             /* experts per MoE layer; 0: dense */
    int n_expert_used;        /* experts each token goes to */
    const char *type;         /* weight type, as given to --type (see types in wim-mkmodel.c) */
};

/* The head size and the rotary dimensions of s, with defaults applied. */
int shape_head_dim(const struct shape *s);
int shape_n_rot(const struct shape *s);
/* The kind (LAYER_*) of layer il. */
char layer_kind(const struct shape *s, int il);

/* The families, indexed by these, so that presets can name them in static tables. */
enum family_id {
    FAM_LLAMA,
    FAM_QWEN2,
    FAM_PHI3,
    FAM_QWEN3,
    FAM_QWEN35,
    FAM_GEMMA3,
    FAM_LFM2,
    FAM_GRANITEHYBRID,
    FAM_GPT_OSS,
    N_FAMILIES
};
extern const struct family families[N_FAMILIES];

const struct family *find_family(const char *arch);
/* The architecture names, for help and errors: "llama, qwen2, ..." */
const char *family_names(void);

/* ----------------------------------------------------------------------------
 * Metadata (tokenizer.c, families.c)
 */

/* Copies the tokenizer of vocab_path and the chat template into g; returns the vocab size. */
int add_tokenizer(struct gguf_context *g, const struct family *fam, const char *vocab_path,
                  const char *template_path);
/* Writes the architecture's hyperparameter keys. */
void add_hparams(struct gguf_context *g, const struct shape *s, int n_vocab);

/* ----------------------------------------------------------------------------
 * Tensor layout and writing (layout.c)
 */

/* What a tensor's values are. */
enum fill {
    FILL_RANDOM, /* normal(0, WEIGHT_STD): weight matrices and biases */
    FILL_ONES,   /* 1.0: RMS norm weights, so norms start as plain normalisation; mamba2 D */
    FILL_DECAY,  /* uniform in [-8, -1]: the A of recurrent layers, so state decays */
};

/* The tensors of the model, in file order. */
struct layout {
    struct ggml_context *meta; /* tensor headers only (no_alloc), for gguf_add_tensor */
    struct gguf_context *gguf; /* output metadata; tensor ids index fill[] */
    enum fill *fill;           /* how to fill each tensor */
    size_t max_tensors;        /* room in meta and fill */
    enum ggml_type wtype;      /* preferred type of matrices */
    int64_t n_params;          /* values in all tensors */
};

/* Declares all tensors of the model in g. Free with free_layout(). */
struct layout make_layout(struct gguf_context *g, const struct shape *s, enum ggml_type wtype,
                          int n_vocab);
void free_layout(struct layout *L);

/*
 * Declares a tensor of ne0 x ne1 values (ne1 == 0: a vector). ne0 is the row length, the
 * input dimension of a matrix. Vectors stay F32; matrices whose rows do not divide into
 * quantization blocks fall back to F16.
 */
void add_tensor(struct layout *L, const char *name, int64_t ne0, int64_t ne1, enum fill fill);
/* Same, for tensor "blk.<il>.<name>". */
void add_block_tensor(struct layout *L, int il, const char *name, int64_t ne0, int64_t ne1,
                      enum fill fill);
/* A block tensor kept F32 whatever its shape: the operators that read it need F32. */
void add_block_f32(struct layout *L, int il, const char *name, int64_t ne0, int64_t ne1,
                   enum fill fill);
/* A block's stack of ne2 expert matrices of ne0 x ne1, random, typed like a matrix. */
void add_block_experts(struct layout *L, int il, const char *name, int64_t ne0, int64_t ne1,
                       int64_t ne2);

/* Writes the model to path, through a temporary file; returns its size in bytes. */
uint64_t write_file(const char *path, const struct layout *L, uint64_t seed);

/* ----------------------------------------------------------------------------
 * Errors
 */

_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *xmalloc(size_t n);
char *xstrdup(const char *s);

#endif
