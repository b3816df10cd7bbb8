/*
 * model.c - loading a GGUF model with clear errors, and tokenization helpers.
 */
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------------------------
 * llama.cpp logging: quiet unless WIM_VERBOSE is set, last error kept for messages
 * ------------------------------------------------------------------------- */

static char last_error[256];

static void on_llama_log(enum ggml_log_level level, const char *text, void *user)
{
    (void)user;
    if (getenv("WIM_VERBOSE")) fputs(text, stderr);
    if (level != GGML_LOG_LEVEL_ERROR) return;
    snprintf(last_error, sizeof last_error, "%s", text);
    last_error[strcspn(last_error, "\n")] = '\0';
}

const char *wim_llama_last_error(void)
{
    return last_error;
}

void wim_llama_set_error(const char *why)
{
    snprintf(last_error, sizeof last_error, "%s", why);
}

static void backend_init_once(void)
{
    static bool done;
    if (done) return;
    llama_log_set(on_llama_log, NULL);
    llama_backend_init();
    done = true;
}

/* ----------------------------------------------------------------------------
 * Loading
 * ------------------------------------------------------------------------- */

void wim_model_params_default(wim_model_params *p)
{
    *p = (wim_model_params){.n_gpu_layers = 0, .use_mmap = true, .use_mlock = false};
}

/* True when the CPU backend would repack weights into AMX tiles. Its matrix
 * product crashes or computes garbage on quantized weights (llama.cpp issues
 * 20824 and 16315, unfixed in the pinned release), so such CPUs get no extra
 * buffer types; other CPUs keep theirs (the faster repacked Q4_0 kernels). */
static bool cpu_repacks_into_amx(void)
{
    ggml_backend_reg_t reg = ggml_backend_reg_by_name("CPU");
    ggml_backend_dev_t dev = reg ? ggml_backend_reg_dev_get(reg, 0) : NULL;
    ggml_backend_dev_get_extra_bufts_t get =
        reg ? (ggml_backend_dev_get_extra_bufts_t)ggml_backend_reg_get_proc_address(
                  reg, "ggml_backend_dev_get_extra_bufts")
            : NULL;
    for (ggml_backend_buffer_type_t *b = get && dev ? get(dev) : NULL; b && *b; b++)
        if (strstr(ggml_backend_buft_name(*b), "AMX")) return true;
    return false;
}

struct llama_model_params wim_llama_model_params(const wim_model_params *p)
{
    wim_model_params d;
    wim_model_params_default(&d);
    if (!p) p = &d;
    backend_init_once();
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = p->n_gpu_layers;
    if (!p->use_mmap || p->use_mlock)
        mp.load_mode = p->use_mmap    ? LLAMA_LOAD_MODE_MMAP_MLOCK
                       : p->use_mlock ? LLAMA_LOAD_MODE_MLOCK
                                      : LLAMA_LOAD_MODE_NONE;
    mp.use_extra_bufts = !cpu_repacks_into_amx();
    return mp;
}

/* Whether layers go to a GPU (or an RPC server's device): asked for, and one is there. */
static bool offloads(const wim_model_params *p)
{
    if (!p || p->n_gpu_layers == 0) return false;
    for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
        enum ggml_backend_dev_type t = ggml_backend_dev_type(ggml_backend_dev_get(i));
        if (t != GGML_BACKEND_DEVICE_TYPE_CPU && t != GGML_BACKEND_DEVICE_TYPE_ACCEL) return true;
    }
    return false;
}

/* Checks what llama.cpp would only report as a generic failure. */
static int check_model_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open model '%s': %s", path, strerror(errno));
        return -1;
    }
    char magic[4] = {0};
    size_t n = fread(magic, 1, 4, f);
    fclose(f);
    if (n != 4 || memcmp(magic, "GGUF", 4) != 0) {
        snprintf(err, errlen, "'%s' is not a GGUF model file", path);
        return -1;
    }
    return 0;
}

/* Why a loaded model cannot read a document into a decoder's cache, or NULL. */
static const char *cannot_read(const struct llama_model *lm)
{
    if (!llama_model_has_decoder(lm)) return "it has no decoder (an embedding model)";
    if (llama_model_has_encoder(lm)) return "it is an encoder-decoder model";
    if (llama_model_is_diffusion(lm)) return "a diffusion model does not write left to right";
    return NULL;
}

wim_model *wim_model_load(const char *path, const wim_model_params *p, char *err, size_t errlen)
{
    if (check_model_file(path, err, errlen) != 0) return NULL;
    struct llama_model_params mp = wim_llama_model_params(p);
    if (p && p->rpc_servers && wim_rpc_add_servers(p->rpc_servers, err, errlen) != 0) return NULL;
    last_error[0] = '\0';
    struct llama_model *lm = llama_model_load_from_file(path, mp);
    if (!lm) {
        snprintf(err, errlen, "cannot load model '%s'%s%s", path, last_error[0] ? ": " : "",
                 last_error);
        return NULL;
    }
    const char *why = cannot_read(lm);
    wim_model *m = why ? NULL : calloc(1, sizeof *m);
    if (!m) {
        llama_model_free(lm);
        snprintf(err, errlen, "cannot use model '%s': %s", path, why ? why : "out of memory");
        return NULL;
    }
    m->model = lm;
    m->path = strdup(path);
    m->vocab = llama_model_get_vocab(lm);
    m->n_ctx_train = llama_model_n_ctx_train(lm);
    m->on_cpu = !offloads(p);
    return m;
}

void wim_model_free(wim_model *m)
{
    if (!m) return;
    llama_model_free(m->model);
    free(m->path);
    free(m);
}

/* ----------------------------------------------------------------------------
 * Tokens
 * ------------------------------------------------------------------------- */

static int reserve(wim_tokens *t, int more)
{
    if (t->n + more <= t->cap) return 0;
    int cap = t->cap ? t->cap : 256;
    while (cap < t->n + more)
        cap *= 2;
    llama_token *v = realloc(t->v, (size_t)cap * sizeof *v);
    if (!v) return -1;
    t->v = v;
    t->cap = cap;
    return 0;
}

int wim_tokens_add_text(const wim_model *m, wim_tokens *t, const char *text, size_t len,
                        bool add_special, bool parse_special)
{
    if (len > INT32_MAX / 2) return -1;
    int n = llama_tokenize(m->vocab, text, (int32_t)len, t->v ? t->v + t->n : NULL, t->cap - t->n,
                           add_special, parse_special);
    if (n < 0) {
        if (reserve(t, -n) != 0) return -1;
        n = llama_tokenize(m->vocab, text, (int32_t)len, t->v + t->n, t->cap - t->n, add_special,
                           parse_special);
        if (n < 0) return -1;
    }
    t->n += n;
    return 0;
}

int wim_tokens_add_pieces(const wim_model *m, wim_tokens *t, const wim_piece *p, int n)
{
    for (int i = 0; i < n; i++)
        if (wim_tokens_add_text(m, t, p[i].text, p[i].len, false, p[i].trusted) != 0) return -1;
    return 0;
}

int wim_tokens_add_tokens(wim_tokens *t, const llama_token *v, int n)
{
    if (n == 0) return 0;
    if (reserve(t, n) != 0) return -1;
    memcpy(t->v + t->n, v, (size_t)n * sizeof *v);
    t->n += n;
    return 0;
}

void wim_tokens_free(wim_tokens *t)
{
    free(t->v);
    *t = (wim_tokens){0};
}

int wim_count_tokens(const char *text, size_t len, void *model)
{
    const wim_model *m = model;
    if (len > INT32_MAX / 2) return -1;
    int n = llama_tokenize(m->vocab, text, (int32_t)len, NULL, 0, false, false);
    return n <= 0 ? -n : n;
}

void wim_model_describe(const wim_model *m, wim_model_info *info)
{
    memset(info, 0, sizeof *info);
    info->n_ctx_train = m->n_ctx_train;
    if (llama_model_meta_val_str(m->model, "general.architecture", info->architecture,
                                 sizeof info->architecture) < 0)
        snprintf(info->architecture, sizeof info->architecture, "unknown");
    llama_model_desc(m->model, info->description, sizeof info->description);
}

size_t wim_model_max_doc_bytes(const wim_model *m, const wim_options *o)
{
    size_t longest = 1;
    char piece[256];
    for (llama_token t = 0; t < llama_vocab_n_tokens(m->vocab); t++) {
        /* the pieces of text, as a document's tokens read back; a negative
         * count is the size of one too long for the buffer */
        int n = llama_token_to_piece(m->vocab, t, piece, sizeof piece, 0, false);
        size_t len = n < 0 ? (size_t)-n : (size_t)n;
        if (len > longest) longest = len;
    }
    int limit = o->n_ctx ? o->n_ctx : m->n_ctx_train;
    size_t bytes = (size_t)limit * longest;
    bool past = o->mode == WIM_MODE_WIM && o->window != WIM_WINDOW_OFF;
    return past && bytes < WIM_MAX_DOC_BYTES ? WIM_MAX_DOC_BYTES : bytes;
}

int wim_model_count_tokens(const wim_model *m, const char *text, size_t len)
{
    return wim_count_tokens(text, len, (void *)m);
}

int wim_token_piece(const wim_model *m, llama_token tok, char *buf, int cap)
{
    int n = llama_token_to_piece(m->vocab, tok, buf, cap, 0, false);
    return n < 0 ? -1 : n;
}
