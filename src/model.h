/*
 * model.h - the loaded model, and turning text into tokens and back.
 */
#ifndef WIM_MODEL_H
#define WIM_MODEL_H

#include "template.h"
#include "wim.h"

#include <llama.h>
#include <stdbool.h>

struct wim_model {
    struct llama_model *model;
    const struct llama_vocab *vocab;
    int n_ctx_train;     /* context the model was trained for: our default cap */
    bool on_cpu;         /* no layer offloaded: every step runs on the CPU's kernels */
    char *path;          /* the file it was loaded from */
    char weights_id[48]; /* "xxh3-128:..." of its file(s) once asked for, else "" */
};

typedef struct wim_tokens {
    llama_token *v; /* [cap] */
    int n;          /* tokens in use */
    int cap;
} wim_tokens;

/* llama.cpp's loading parameters for p (NULL: defaults), on every program's
 * path to a model: where the CPU would put quantized weights into AMX tiles,
 * which crashes, it keeps them in plain buffers. Initialises the backends. */
struct llama_model_params wim_llama_model_params(const wim_model_params *p);

/* Makes the devices of llama.cpp RPC servers ("HOST:PORT,...") devices of
 * this process, for the next model loaded to offload layers to (src/rpc.c).
 * 0, or -1 with a one-line reason in err. */
int wim_rpc_add_servers(const char *servers, char *err, size_t errlen);

/* Appends the tokens of text. parse_special turns chat markers into special
 * tokens: only for our own templates and headers, never for user text. */
int wim_tokens_add_text(const wim_model *m, wim_tokens *t, const char *text, size_t len,
                        bool add_special, bool parse_special);
/* Appends filled template pieces: template text parsed, inserted values literal. */
int wim_tokens_add_pieces(const wim_model *m, wim_tokens *t, const wim_piece *p, int n);
int wim_tokens_add_tokens(wim_tokens *t, const llama_token *v, int n);
void wim_tokens_free(wim_tokens *t);

/* Token count of text as user text; a wim_token_count_fn for the segmenter. */
int wim_count_tokens(const char *text, size_t len, void *model);

/* The bytes a token stands for, written to buf; returns their count or -1. */
int wim_token_piece(const wim_model *m, llama_token tok, char *buf, int cap);

/* A hash of the model's weights (weights.c), computed on first use: what a
 * stored document must match. "" when the file cannot be read again. */
const char *wim_model_weights_id(wim_model *m);

/* The last error line llama.cpp logged, or "" (for one-line error messages). */
const char *wim_llama_last_error(void);
/* Records why wim itself refused what llama.cpp would have been asked to do. */
void wim_llama_set_error(const char *why);

#endif
