/*
 * engine.h - the session's insides, shared by engine.c and the tests that
 * check the KV-cache bookkeeping directly.
 */
#ifndef WIM_ENGINE_H
#define WIM_ENGINE_H

#include "chat.h"
#include "model.h"
#include "strbuf.h"
#include "template.h"
#include "wim.h"

#include <llama.h>

/* Sequences of the main context: the document, and the margin being written.
 * With a unified KV cache the margin's fork shares the document's cells. */
enum { WIM_SEQ_DOC = 0, WIM_SEQ_MARGIN = 1 };

struct wim_session {
    wim_model *m;
    wim_options o; /* string fields point at the owned copies below */
    char *templates_dir, *user_header, *generation_header;
    wim_templates tpl;
    wim_chat chat;

    struct llama_context *ctx; /* main: document (seq 0) and margins (seq 1) */
    struct llama_context *cls; /* verdicts: small, never holds the document */
    int ctx_size, cls_size;    /* their n_ctx, 0 before the first run */
    struct llama_batch batch;  /* o.n_batch tokens, one sequence each */
    struct llama_sampler *smpl;

    /* The current run. */
    wim_event_fn cb;
    void *user;
    const char *query;
    double t0_ms;   /* run start, monotonic */
    wim_stats st;   /* live counters, reported with every event */
    int stop;       /* the strongest WIM_STOP/WIM_ABORT a callback returned */
    int n_segments; /* of the current document */
    char err[512];
};

/* Creates the contexts if their sizes differ from what is asked. */
int wim_session_reserve(wim_session *s, int ctx_size, int cls_size);

/* Decodes n tokens into seq at positions pos.., in micro-batches, keeping the
 * last token's logits when logits_last. With seg >= 0 they are document tokens
 * of that segment: progress is reported and a stop is honoured between
 * micro-batches. Returns 0, 1 when stopped, -1 on error (s->err). */
int wim_decode(wim_session *s, struct llama_context *ctx, const llama_token *t, int n,
               llama_seq_id seq, llama_pos pos, bool logits_last, int seg);

/* Writes a margin: forks the document (seq 0, n_past cells) into seq 1,
 * decodes prompt there, generates into out, then removes seq 1 so the cache
 * again holds only the document. Returns tokens generated, or -1. */
int wim_margin_in_fork(wim_session *s, const wim_tokens *prompt, llama_pos n_past, bool one_pass,
                       wim_strbuf *out);

#endif
