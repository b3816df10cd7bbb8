/*
 * pool.c - contexts shared by several sessions: continuous batching.
 *
 * A pool holds one main and one verdict context. Each session in it has a
 * slot: a band of sequence ids of its own (slot * stride onwards) and a share
 * of the cells. Sessions run in their own threads as before; where a lone
 * session would call llama_decode, a pooled one hands its micro-batch to the
 * context's decoder thread and waits. The decoder takes every micro-batch
 * waiting, decodes them as one batch, copies each one's logits back and wakes
 * them, so readings that run together share each step. A llama context is
 * not thread-safe: cache edits wait for the step in flight, and the decoder
 * lets waiting edits go first.
 */
#include "cache.h"
#include "pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { CLS_ROOM = 1024 };

/* One session's micro-batch, waiting on its stack for the decoder. */
typedef struct request {
    const struct llama_batch *b; /* the session's own sequence ids */
    int slot;
    wim_outputs *out; /* where its logits go */
    int rc;           /* llama_decode's result, once done */
    bool done;
    struct request *next;
} request;

/* A context and the decoder thread that merges micro-batches into it. */
typedef struct shared {
    wim_pool *pool;
    struct llama_context *ctx;
    int stride;               /* sequence ids per slot */
    int cap;                  /* most tokens one decode takes */
    struct llama_batch batch; /* [cap] the merged micro-batches */
    request *head, **tail;    /* waiting, first come first served */
    int editors;              /* cache edits waiting: they go before the next step */
    bool busy;                /* a step is in flight */
    bool quit;
    bool started;
    pthread_t thread;
    wim_pool_stats st;
} shared;

struct wim_pool {
    wim_model *m;
    wim_options o;
    int n_slots;
    int slot_ctx, slot_cls; /* each session's share of the cells */
    bool *taken;            /* [n_slots] */
    pthread_mutex_t mu;     /* guards the slots and both shared queues */
    pthread_cond_t cv;
    shared sh[2]; /* WIM_POOL_MAIN, WIM_POOL_CLS */
};

/* ============================================================================
 * The decoder
 * ========================================================================= */

/* Copies the outputs' logits of one request, at base in the merged batch. */
static int copy_outputs(struct llama_context *ctx, int n_vocab, const request *r, int base)
{
    wim_outputs *out = r->out;
    const struct llama_batch *b = r->b;
    if (b->n_tokens > out->cap_idx) {
        int *row_of = realloc(out->row_of, (size_t)b->n_tokens * sizeof *row_of);
        if (!row_of) return -1;
        out->row_of = row_of;
        out->cap_idx = b->n_tokens;
    }
    int rows = 0;
    for (int i = 0; i < b->n_tokens; i++)
        rows += b->logits[i] != 0;
    if (rows > 0 && rows > out->cap_rows) {
        float *l = realloc(out->logits, (size_t)rows * (size_t)n_vocab * sizeof *l);
        if (!l) return -1;
        out->logits = l;
        out->cap_rows = rows;
    }
    int row = 0;
    for (int i = 0; i < b->n_tokens; i++) {
        out->row_of[i] = -1;
        if (!b->logits[i]) continue;
        const float *src = llama_get_logits_ith(ctx, base + i);
        if (!src) return -1;
        memcpy(out->logits + (size_t)row * (size_t)n_vocab, src, (size_t)n_vocab * sizeof *src);
        out->last = out->row_of[i] = row++;
    }
    return 0;
}

/* Decodes the requests from take on as one batch; llama_decode's result. */
static int decode_round(shared *sh, request *take)
{
    sh->batch.n_tokens = 0;
    for (request *r = take; r; r = r->next)
        for (int i = 0; i < r->b->n_tokens; i++)
            wim_batch_add(&sh->batch, r->b->token[i], r->b->pos[i],
                          r->slot * sh->stride + r->b->seq_id[i][0], r->b->logits[i]);
    int rc = llama_decode(sh->ctx, sh->batch);
    if (rc != 0) return rc;
    llama_synchronize(sh->ctx);
    int n_vocab = llama_vocab_n_tokens(sh->pool->m->vocab), base = 0;
    for (request *r = take; r; base += r->b->n_tokens, r = r->next)
        if (copy_outputs(sh->ctx, n_vocab, r, base) != 0) return -1;
    return 0;
}

/* Unlinks the waiting requests that fit in one decode (at least the first). */
static request *take_waiting(shared *sh, int *n_sessions, int *n_tokens)
{
    request *first = sh->head, *last = first;
    *n_sessions = 1;
    *n_tokens = first->b->n_tokens;
    while (last->next && *n_tokens + last->next->b->n_tokens <= sh->cap) {
        last = last->next;
        *n_tokens += last->b->n_tokens;
        ++*n_sessions;
    }
    sh->head = last->next;
    if (!sh->head) sh->tail = &sh->head;
    last->next = NULL;
    return first;
}

static void *decoder(void *arg)
{
    shared *sh = arg;
    wim_pool *p = sh->pool;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!sh->quit && (!sh->head || sh->editors > 0))
            pthread_cond_wait(&p->cv, &p->mu);
        if (sh->quit) break;
        int n_sessions, n_tokens;
        request *take = take_waiting(sh, &n_sessions, &n_tokens);
        sh->busy = true;
        pthread_mutex_unlock(&p->mu);
        int rc = decode_round(sh, take);
        pthread_mutex_lock(&p->mu);
        sh->busy = false;
        sh->st.rounds++;
        sh->st.merged_rounds += n_sessions > 1;
        sh->st.tokens += n_tokens;
        for (request *r = take, *next; r; r = next) {
            next = r->next; /* r lives on a waiting stack: read it before waking it */
            r->rc = rc;
            r->done = true;
        }
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ============================================================================
 * What sessions call
 * ========================================================================= */

int wim_pool_decode(wim_session *s, int which)
{
    wim_pool *p = s->pool;
    shared *sh = &p->sh[which];
    request r = {.b = &s->batch, .slot = s->slot, .out = &s->out[which]};
    pthread_mutex_lock(&p->mu);
    *sh->tail = &r;
    sh->tail = &r.next;
    pthread_cond_broadcast(&p->cv);
    while (!r.done)
        pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return r.rc;
}

/* Holds the pool's lock with no step in flight on context which. */
llama_seq_id wim_pool_edit_begin(wim_session *s, int which)
{
    wim_pool *p = s->pool;
    shared *sh = &p->sh[which];
    pthread_mutex_lock(&p->mu);
    sh->editors++;
    while (sh->busy)
        pthread_cond_wait(&p->cv, &p->mu);
    sh->editors--;
    return s->slot * sh->stride;
}

void wim_pool_edit_end(wim_session *s)
{
    pthread_cond_broadcast(&s->pool->cv);
    pthread_mutex_unlock(&s->pool->mu);
}

int wim_pool_slot_seqs(const wim_session *s, int which)
{
    return s->pool->sh[which].stride;
}

int wim_pool_reserve(wim_session *s, int ctx_size, int n_seq, int cls_size)
{
    wim_pool *p = s->pool;
    if (ctx_size > p->slot_ctx || cls_size > p->slot_cls) {
        snprintf(s->err, sizeof s->err,
                 "the reading needs %d cells (%d for verdicts); a pool slot has %d (%d)", ctx_size,
                 cls_size, p->slot_ctx, p->slot_cls);
        return -1;
    }
    s->ctx = p->sh[WIM_POOL_MAIN].ctx;
    s->cls = p->sh[WIM_POOL_CLS].ctx;
    s->ctx_size = p->slot_ctx;
    s->cls_size = p->slot_cls;
    s->n_seq = n_seq < p->sh[WIM_POOL_MAIN].stride ? n_seq : p->sh[WIM_POOL_MAIN].stride;
    return 0;
}

void wim_pool_leave(wim_session *s)
{
    wim_pool *p = s->pool;
    s->ctx = p->sh[WIM_POOL_MAIN].ctx;
    s->cls = p->sh[WIM_POOL_CLS].ctx;
    wim_cache_drop(s, s->ctx, -1);
    wim_cache_drop(s, s->cls, -1);
    pthread_mutex_lock(&p->mu);
    p->taken[s->slot] = false;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* ============================================================================
 * Pool life
 * ========================================================================= */

static int start_shared(wim_pool *p, shared *sh, int n_ctx, int stride)
{
    int n_batch = p->n_slots * p->o.n_batch;
    sh->pool = p;
    sh->stride = stride;
    sh->tail = &sh->head;
    sh->ctx =
        wim_context_new(p->m, &p->o, sh == &p->sh[WIM_POOL_MAIN] ? WIM_CTX_MAIN : WIM_CTX_VERDICTS,
                        n_ctx, n_batch, p->n_slots * stride);
    if (!sh->ctx) return -1;
    sh->cap = (int)llama_n_batch(sh->ctx);
    sh->batch = llama_batch_init(sh->cap, 0, 1);
    sh->started = pthread_create(&sh->thread, NULL, decoder, sh) == 0;
    return sh->started ? 0 : -1;
}

static void stop_shared(wim_pool *p, shared *sh)
{
    if (sh->started) {
        pthread_mutex_lock(&p->mu);
        sh->quit = true;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(sh->thread, NULL);
    }
    if (sh->batch.token) llama_batch_free(sh->batch);
    if (sh->ctx) llama_free(sh->ctx);
}

wim_pool *wim_pool_new(wim_model *m, const wim_options *o, int n_slots, int n_ctx, char *err,
                       size_t errlen)
{
    if (wim_options_check(o, err, errlen) != 0) return NULL;
    int seq_limit = (int)llama_max_parallel_sequences();
    int stride = n_slots > 0 ? seq_limit / n_slots : 0;
    if (stride > WIM_MAX_SEQ) stride = WIM_MAX_SEQ;
    if (stride < 2) {
        snprintf(err, errlen, "a pool has 1 to %d slots, not %d", seq_limit / 2, n_slots);
        return NULL;
    }
    wim_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->taken = calloc((size_t)n_slots, sizeof *p->taken))) {
        free(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->m = m;
    p->o = *o;
    p->o.templates_dir = p->o.user_header = p->o.generation_header = NULL; /* not kept */
    if (p->o.n_threads == 0) p->o.n_threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    p->n_slots = n_slots;
    p->slot_ctx = (n_ctx > 0 ? n_ctx : m->n_ctx_train) / n_slots;
    /* a verdict prompt holds one margin or raw segment, the question and the template */
    int most = o->segment_tokens > o->max_margin_tokens ? o->segment_tokens : o->max_margin_tokens;
    p->slot_cls = (int)wim_round_up(most + o->max_verdict_tokens + CLS_ROOM); /* bounded options */
    if (p->slot_cls > p->slot_ctx)
        p->slot_cls = p->slot_ctx; /* a request needing more is refused */
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (start_shared(p, &p->sh[WIM_POOL_MAIN], p->slot_ctx * n_slots, stride) != 0 ||
        start_shared(p, &p->sh[WIM_POOL_CLS], p->slot_cls * n_slots, 1) != 0) {
        snprintf(err, errlen, "cannot make the pool's contexts (%d cells for %d slots)%s%s",
                 p->slot_ctx * n_slots, n_slots, wim_llama_last_error()[0] ? ": " : "",
                 wim_llama_last_error());
        wim_pool_free(p);
        return NULL;
    }
    return p;
}

void wim_pool_free(wim_pool *p)
{
    if (!p) return;
    stop_shared(p, &p->sh[WIM_POOL_MAIN]);
    stop_shared(p, &p->sh[WIM_POOL_CLS]);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->taken);
    free(p);
}

void wim_pool_get_stats(wim_pool *p, wim_pool_stats *st)
{
    pthread_mutex_lock(&p->mu);
    *st = p->sh[WIM_POOL_MAIN].st;
    pthread_mutex_unlock(&p->mu);
}

/* Makes a new session one of the pool's, in slot; frees it if it cannot. */
static wim_session *join(wim_session *s, wim_pool *p, int slot, char *err, size_t errlen)
{
    s->cand = malloc((size_t)llama_vocab_n_tokens(p->m->vocab) * sizeof *s->cand);
    if (!s->cand) {
        wim_session_free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->pool = p;
    s->slot = slot;
    return s;
}

wim_session *wim_session_new_in_pool(wim_pool *p, const wim_options *o, char *err, size_t errlen)
{
    wim_options mine = *o;
    mine.n_ctx = p->slot_ctx;
    mine.n_batch = p->o.n_batch;
    mine.n_threads = p->o.n_threads;
    pthread_mutex_lock(&p->mu);
    int slot = 0;
    while (slot < p->n_slots && p->taken[slot])
        slot++;
    if (slot < p->n_slots) p->taken[slot] = true;
    pthread_mutex_unlock(&p->mu);
    if (slot == p->n_slots) {
        snprintf(err, errlen, "all %d slots of the pool are taken", p->n_slots);
        return NULL;
    }
    wim_session *s = wim_session_new(p->m, &mine, err, errlen);
    s = s ? join(s, p, slot, err, errlen) : NULL;
    if (!s) {
        pthread_mutex_lock(&p->mu);
        p->taken[slot] = false;
        pthread_mutex_unlock(&p->mu);
    }
    return s;
}
