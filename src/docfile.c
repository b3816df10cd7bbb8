/*
 * docfile.c - a document read once, saved with its KV cache, and loaded back
 * to answer new questions without reading it again.
 *
 * Layout: the magic "WIMDOC01", a 4-byte little-endian header length, a JSON
 * header (model identity, context size, segments, sizes, checksum), then the
 * body: document text, preamble tokens, document tokens, sequence 0's state,
 * and, for models whose memory needs them (cache.c), each segment's checkpoint
 * ("checkpoints" in the header lists their sizes). The checksum (FNV-1a, 64
 * bits) covers the whole body, so a damaged file is refused before llama.cpp
 * sees it.
 */
#include "cache.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char magic[8] = {'W', 'I', 'M', 'D', 'O', 'C', '0', '1'};

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* ============================================================================
 * The header
 * ========================================================================= */

/* What makes a stored cache usable: the same weights (their hash; the rest
 * says in the file what it was made with) and the same context size. */
static cJSON *model_identity(wim_model *m)
{
    char desc[256];
    llama_model_desc(m->model, desc, sizeof desc);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "desc", desc);
    cJSON_AddNumberToObject(j, "params", (double)llama_model_n_params(m->model));
    cJSON_AddNumberToObject(j, "size", (double)llama_model_size(m->model));
    cJSON_AddNumberToObject(j, "n_vocab", llama_vocab_n_tokens(m->vocab));
    cJSON_AddNumberToObject(j, "n_embd", llama_model_n_embd(m->model));
    cJSON_AddNumberToObject(j, "n_layer", llama_model_n_layer(m->model));
    cJSON_AddNumberToObject(j, "n_ctx_train", m->n_ctx_train);
    cJSON_AddStringToObject(j, "weights", wim_model_weights_id(m));
    return j;
}

static cJSON *segments_json(const wim_doc *d)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < d->n; i++) {
        const double row[3] = {(double)d->spans[i].start, (double)d->spans[i].len,
                               d->tok_off[i + 1]};
        cJSON_AddItemToArray(a, cJSON_CreateDoubleArray(row, 3));
    }
    return a;
}

/* The checkpoints' sizes, or NULL for a document that has none. */
static cJSON *checkpoints_json(const wim_doc *d)
{
    if (!d->cp) return NULL;
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < d->n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)d->cp[i].len));
    return a;
}

static char *header_json(const wim_session *s, size_t state_len, uint64_t sum)
{
    const wim_doc *d = &s->doc;
    char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64, sum);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "model", model_identity(s->m));
    cJSON_AddNumberToObject(j, "n_ctx", s->ctx_size);
    cJSON_AddNumberToObject(j, "segment_tokens", s->o.segment_tokens);
    cJSON_AddNumberToObject(j, "max_margin_tokens", s->o.max_margin_tokens);
    cJSON_AddNumberToObject(j, "max_answer_tokens", s->o.max_answer_tokens);
    cJSON_AddNumberToObject(j, "doc_bytes", (double)d->len);
    cJSON_AddNumberToObject(j, "pre_tokens", d->pre.n);
    cJSON_AddNumberToObject(j, "doc_tokens", d->tok.n);
    cJSON_AddNumberToObject(j, "state_bytes", (double)state_len);
    cJSON_AddItemToObject(j, "segments", segments_json(d));
    cJSON *cps = checkpoints_json(d);
    if (cps) cJSON_AddItemToObject(j, "checkpoints", cps);
    cJSON_AddStringToObject(j, "checksum", hex);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return text;
}

/* ============================================================================
 * Saving
 * ========================================================================= */

static bool put(FILE *f, const void *data, size_t len)
{
    return len == 0 || fwrite(data, 1, len, f) == len;
}

static uint64_t body_checksum(const wim_doc *d, const uint8_t *state, size_t state_len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    h = fnv1a(h, d->text, d->len);
    h = fnv1a(h, d->pre.v, (size_t)d->pre.n * sizeof *d->pre.v);
    h = fnv1a(h, d->tok.v, (size_t)d->tok.n * sizeof *d->tok.v);
    h = fnv1a(h, state, state_len);
    for (int i = 0; d->cp && i < d->n; i++)
        h = fnv1a(h, d->cp[i].data, d->cp[i].len);
    return h;
}

static int write_file(wim_session *s, FILE *f, const uint8_t *state, size_t state_len)
{
    const wim_doc *d = &s->doc;
    char *header = header_json(s, state_len, body_checksum(d, state, state_len));
    if (!header) return -1;
    uint32_t n = (uint32_t)strlen(header);
    const uint8_t len_le[4] = {n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >> 24};
    bool ok = put(f, magic, sizeof magic) && put(f, len_le, 4) && put(f, header, n) &&
              put(f, d->text, d->len) && put(f, d->pre.v, (size_t)d->pre.n * sizeof *d->pre.v) &&
              put(f, d->tok.v, (size_t)d->tok.n * sizeof *d->tok.v) && put(f, state, state_len);
    for (int i = 0; ok && d->cp && i < d->n; i++)
        ok = put(f, d->cp[i].data, d->cp[i].len);
    free(header);
    return ok ? 0 : -1;
}

/* A pool's context holds other sessions' cells too, and its size is not the reading's own. */
static int refuse_pooled(wim_session *s, const char *what)
{
    if (!s->pool) return 0;
    snprintf(s->err, sizeof s->err, "a session in a pool cannot %s documents", what);
    return -1;
}

int wim_session_save_doc(wim_session *s, const char *path)
{
    if (refuse_pooled(s, "save") != 0) return -1;
    if (!s->doc_whole) {
        snprintf(s->err, sizeof s->err, "%s to save",
                 s->window ? "the document was read past the context: only its last window is "
                             "in memory, nothing whole"
                           : "no document read to the end");
        return -1;
    }
    if (!wim_model_weights_id(s->m)[0]) {
        snprintf(s->err, sizeof s->err, "cannot read the model's file again to identify it");
        return -1;
    }
    wim_checkpoint state;
    if (wim_cache_save_doc(s, &state) != 0) return -1;
    FILE *f = fopen(path, "wb");
    int rc = f ? write_file(s, f, state.data, state.len) : -1;
    if (f && fclose(f) != 0) rc = -1;
    if (rc != 0)
        snprintf(s->err, sizeof s->err, "cannot write '%s': %s", path,
                 errno ? strerror(errno) : "write failed");
    free(state.data);
    return rc;
}

/* ============================================================================
 * Loading
 * ========================================================================= */

typedef struct loaded {
    uint8_t *file; /* the whole file */
    size_t len;
    cJSON *h;            /* parsed header */
    const uint8_t *body; /* after the header */
    size_t body_len;
} loaded;

static double num(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static int read_whole(const char *path, loaded *l, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    l->file = size > 0 ? malloc((size_t)size) : NULL;
    l->len = l->file ? fread(l->file, 1, (size_t)size, f) : 0;
    fclose(f);
    if (l->file && l->len == (size_t)size) return 0;
    snprintf(err, errlen, "cannot read '%s'", path);
    return -1;
}

static int parse_header(const char *path, loaded *l, char *err, size_t errlen)
{
    const uint8_t *p = l->file;
    if (l->len < 12 || memcmp(p, magic, sizeof magic) != 0) {
        snprintf(err, errlen, "'%s' is not a wim document file", path);
        return -1;
    }
    size_t n = p[8] | p[9] << 8 | p[10] << 16 | (size_t)p[11] << 24;
    l->h = n <= l->len - 12 ? cJSON_ParseWithLength((const char *)p + 12, n) : NULL;
    if (!l->h) {
        snprintf(err, errlen, "'%s' is damaged: its header is unreadable", path);
        return -1;
    }
    l->body = p + 12 + n;
    l->body_len = l->len - 12 - n;
    return 0;
}

/* The same model and context size; "" when they match, else what differs. The
 * segment size need not match: the document keeps the segments it was cut into. */
static const char *mismatch(wim_session *s, const cJSON *h)
{
    cJSON *mine = model_identity(s->m);
    bool same_model = cJSON_Compare(mine, cJSON_GetObjectItemCaseSensitive(h, "model"), true);
    cJSON_Delete(mine);
    if (!wim_model_weights_id(s->m)[0]) return "this model's file cannot be read to identify it";
    if (!same_model) return "it was made with another model";
    double n_ctx = num(h, "n_ctx");
    if (s->o.n_ctx && s->o.n_ctx != n_ctx) return "it was made with another context size";
    /* without -c the file's size is taken: no more than a reading takes without -c */
    if (!s->o.n_ctx && n_ctx > s->m->n_ctx_train)
        return "it was made with a context past the model's trained one: give its size with -c";
    if (wim_cache_needs_checkpoints(s->m) && !cJSON_GetObjectItemCaseSensitive(h, "checkpoints"))
        return "it has no checkpoints, which this model's memory (sliding-window or recurrent) "
               "needs to write margins from a stored document";
    return "";
}

/* Segments as [start, len, end token] rows that tile the text and the tokens. */
static bool segments_valid(const cJSON *segs, double doc_bytes, double doc_tokens)
{
    double at = 0, tok = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, segs)
    {
        const cJSON *a = cJSON_GetArrayItem(row, 0), *b = cJSON_GetArrayItem(row, 1);
        const cJSON *c = cJSON_GetArrayItem(row, 2);
        if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b) || !cJSON_IsNumber(c) ||
            a->valuedouble != at || b->valuedouble < 1 || c->valuedouble < tok)
            return false;
        at += b->valuedouble;
        tok = c->valuedouble;
    }
    return cJSON_GetArraySize(segs) > 0 && at == doc_bytes && tok == doc_tokens;
}

/* The checkpoints after the state, at the end of the body (sizes checked). */
static int take_checkpoints(wim_doc *d, const loaded *l)
{
    const cJSON *cps = cJSON_GetObjectItemCaseSensitive(l->h, "checkpoints");
    if (!cps) return 0;
    d->cp = calloc((size_t)d->n, sizeof *d->cp);
    if (!d->cp) return -1;
    size_t at = l->body_len;
    for (int i = d->n - 1; i >= 0; i--) {
        size_t len = (size_t)cJSON_GetArrayItem(cps, i)->valuedouble;
        at -= len;
        d->cp[i] = (wim_checkpoint){malloc(len ? len : 1), len};
        if (!d->cp[i].data) return -1;
        memcpy(d->cp[i].data, l->body + at, len);
    }
    return 0;
}

/* Rebuilds s->doc from the body; the sizes were checked against body_len. */
static int take_document(wim_session *s, const loaded *l)
{
    wim_doc *d = &s->doc;
    const cJSON *segs = cJSON_GetObjectItemCaseSensitive(l->h, "segments");
    d->len = (size_t)num(l->h, "doc_bytes");
    d->n = cJSON_GetArraySize(segs);
    d->pre.n = d->pre.cap = (int)num(l->h, "pre_tokens");
    d->tok.n = d->tok.cap = (int)num(l->h, "doc_tokens");
    d->text = malloc(d->len + 1);
    d->spans = calloc((size_t)d->n + 1, sizeof *d->spans);
    d->tok_off = calloc((size_t)d->n + 1, sizeof *d->tok_off);
    d->pre.v = malloc((size_t)d->pre.n * sizeof *d->pre.v + 1);
    d->tok.v = malloc((size_t)d->tok.n * sizeof *d->tok.v + 1);
    if (!d->text || !d->spans || !d->tok_off || !d->pre.v || !d->tok.v) return -1;
    const uint8_t *p = l->body;
    memcpy(d->text, p, d->len);
    d->text[d->len] = '\0';
    memcpy(d->pre.v, p + d->len, (size_t)d->pre.n * sizeof *d->pre.v);
    memcpy(d->tok.v, p + d->len + (size_t)d->pre.n * sizeof *d->pre.v,
           (size_t)d->tok.n * sizeof *d->tok.v);
    for (int i = 0; i < d->n; i++) {
        const cJSON *row = cJSON_GetArrayItem(segs, i);
        d->spans[i].start = (size_t)cJSON_GetArrayItem(row, 0)->valuedouble;
        d->spans[i].len = (size_t)cJSON_GetArrayItem(row, 1)->valuedouble;
        d->tok_off[i + 1] = (int)cJSON_GetArrayItem(row, 2)->valuedouble;
    }
    d->n_past = d->pre.n + d->tok.n;
    d->win_pre = d->pre.n;
    d->n_read = d->n;
    return take_checkpoints(d, l);
}

/* The checkpoints' bytes in all: a size per segment, or none. -1 when malformed. */
static double checkpoints_bytes(const cJSON *h)
{
    const cJSON *cps = cJSON_GetObjectItemCaseSensitive(h, "checkpoints"), *len;
    if (!cps) return 0;
    if (!cJSON_IsArray(cps) ||
        cJSON_GetArraySize(cps) !=
            cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(h, "segments")))
        return -1;
    double total = 0;
    cJSON_ArrayForEach(len, cps)
    {
        if (!cJSON_IsNumber(len) || len->valuedouble < 0) return -1;
        total += len->valuedouble;
    }
    return total;
}

/* Sizes in the header against the body, and the checksum over it. */
static bool body_intact(const loaded *l, size_t *state_at, size_t *state_len)
{
    double doc = num(l->h, "doc_bytes"), pre = num(l->h, "pre_tokens");
    double tok = num(l->h, "doc_tokens"), state = num(l->h, "state_bytes");
    double seg = num(l->h, "segment_tokens");
    const cJSON *sum = cJSON_GetObjectItemCaseSensitive(l->h, "checksum");
    const cJSON *segs = cJSON_GetObjectItemCaseSensitive(l->h, "segments");
    if (doc < 0 || pre < 0 || tok < 0 || state < 0 || !(seg >= 1 && seg <= INT_MAX) ||
        num(l->h, "n_ctx") < 1 || !cJSON_IsString(sum) || !cJSON_IsArray(segs) ||
        !segments_valid(segs, doc, tok))
        return false;
    double cps = checkpoints_bytes(l->h), len = (double)l->body_len;
    /* each part fits in the body, so that converting them is defined and their
     * sum cannot wrap around to the body's length; tokens are counted in ints */
    if (cps < 0 || doc > len || state > len || cps > len || pre + tok > len || pre + tok > INT_MAX)
        return false;
    *state_at = (size_t)doc + ((size_t)pre + (size_t)tok) * sizeof(llama_token);
    *state_len = (size_t)state;
    if (*state_at + *state_len + (size_t)cps != l->body_len) return false;
    char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64, fnv1a(0xcbf29ce484222325ULL, l->body, l->body_len));
    return strcmp(hex, sum->valuestring) == 0;
}

/* The context was sized for margins and answers of the stored limits: longer
 * ones would not fit, so those limits apply (files from before they were
 * stored have none). */
static void at_most(int *limit, double stored)
{
    if (stored >= 1 && stored < *limit) *limit = (int)stored;
}

static int load(wim_session *s, const char *path, loaded *l)
{
    if (read_whole(path, l, s->err, sizeof s->err) != 0 ||
        parse_header(path, l, s->err, sizeof s->err) != 0)
        return -1;
    size_t state_at, state_len;
    if (!body_intact(l, &state_at, &state_len)) {
        snprintf(s->err, sizeof s->err, "'%s' is damaged: its checksum or sizes do not match",
                 path);
        return -1;
    }
    const char *why = mismatch(s, l->h);
    if (*why) {
        snprintf(s->err, sizeof s->err, "cannot use '%s': %s", path, why);
        return -1;
    }
    wim_doc_free(&s->doc);
    s->doc_whole = false;
    if (take_document(s, l) != 0 ||
        wim_session_reserve(s, (int)num(l->h, "n_ctx"), s->doc.n + 2, 0) != 0) {
        if (!s->err[0]) snprintf(s->err, sizeof s->err, "out of memory loading '%s'", path);
        return -1;
    }
    if (wim_cache_load_doc(s, l->body + state_at, state_len) != 0) {
        snprintf(s->err, sizeof s->err, "'%s' holds a cache this context cannot take", path);
        return -1;
    }
    s->o.segment_tokens = (int)num(l->h, "segment_tokens");
    at_most(&s->o.max_margin_tokens, num(l->h, "max_margin_tokens"));
    at_most(&s->o.max_answer_tokens, num(l->h, "max_answer_tokens"));
    s->doc_whole = true;
    s->window = 0;
    return 0;
}

int wim_session_load_doc(wim_session *s, const char *path)
{
    loaded l = {0};
    s->err[0] = '\0';
    if (refuse_pooled(s, "load") != 0) return -1;
    int rc = load(s, path, &l);
    cJSON_Delete(l.h);
    free(l.file);
    return rc;
}
