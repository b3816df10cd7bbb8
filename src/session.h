/*
 * session.h - the session's state, and what every file of the engine's core
 * uses of session.c: events, stops, contexts, decoding one prompt, sampling.
 * Shared with the tests that check the KV-cache bookkeeping directly.
 *
 * The core in layers, each calling only those below it or beside it:
 *   engine.c, window.c  a run: the document, the three modes, sizing, verdicts;
 *                       reading past the context (engine.h, window.h)
 *   docfile.c           a read document saved to disk and loaded back
 *   jobs.c, lookup.c,   margins and answers as jobs sharing micro-batches, their
 *   quote.c             drafts by prompt lookup, and margins held to the text
 *                       they quote (jobs.h, lookup.h, quote.h)
 *   session.c, pool.c,  options, contexts, events, decoding; several sessions'
 *   cache.c             steps merged in shared contexts; every edit of the
 *                       model's memory, which holds the pool's context while it
 *                       lasts (this file, pool.h, cache.h)
 */
#ifndef WIM_SESSION_H
#define WIM_SESSION_H

#include "chat.h"
#include "model.h"
#include "segment.h"
#include "strbuf.h"
#include "template.h"
#include "wim.h"

#include <llama.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

/* Sequence 0 of the main context holds the document; margins and answers are
 * forked from it into sequences of their own. With a unified KV cache a fork
 * shares the document's cells instead of copying them. */
enum { WIM_SEQ_DOC = 0, WIM_MAX_SEQ = 64 };

/* A sequence's state, or the part of it that position ranges cannot recover
 * (sliding-window cells, recurrent state), as llama.cpp serialises it. */
typedef struct wim_checkpoint {
    uint8_t *data; /* [len] */
    size_t len;
} wim_checkpoint;

/* The document as read: its text, segments and tokens. */
typedef struct wim_doc {
    char *text;         /* owned copy, NUL-terminated */
    size_t len;         /* bytes */
    wim_span *spans;    /* [n] byte ranges of the segments */
    int n;              /* segments */
    wim_tokens tok;     /* all document tokens, segment after segment */
    int *tok_off;       /* [n + 1] where each segment's tokens start in tok */
    wim_tokens pre;     /* user header + context intro: the cached preamble */
    wim_checkpoint *cp; /* [n] or NULL: sequence 0's partial state after each segment,
                           for memories that need one to fork a prefix (cache.c) */
    llama_pos n_past;   /* cells of sequence 0 in use */
    int n_read;         /* segments read (wholly in the cache, from win_first on) */
    int win_first;      /* the first segment in the cache: 0 unless read in a window */
    llama_pos win_pre;  /* cells before it: the preamble, and the notes carried */
} wim_doc;

/* Cells of sequence 0 up to the end of segment i (i >= win_first). */
static inline llama_pos wim_doc_cells_through(const wim_doc *d, int i)
{
    return d->win_pre + d->tok_off[i + 1] - d->tok_off[d->win_first];
}

/* What a job is for: a margin after a segment, or the answer to a question. */
typedef enum wim_job_kind { WIM_JOB_MARGIN, WIM_JOB_ANSWER } wim_job_kind;

/* One generation in a sequence of its own, advanced a step at a time by the
 * micro-batches it shares with the document and with other jobs. */
typedef struct wim_job {
    wim_job_kind kind;
    int seg;          /* the segment a margin follows; -1 for answers */
    int q;            /* which question */
    llama_seq_id seq; /* its sequence in the main context */
    llama_pos pos;    /* position of the next token fed */
    int fed;          /* feed.v[0..fed) are decoded */
    int n_prompt;     /* feed.v[0..n_prompt) is prompt, the rest was generated */
    int logits_at;    /* batch index of this step's logits, or -1 */
    int n_gen, max_gen;
    wim_tokens feed; /* tokens to decode: the prompt, then each sampled token */
    wim_strbuf raw;  /* the bytes generated */
    size_t sent;     /* answer bytes already streamed */
    struct llama_sampler *smpl;
    llama_token draft[WIM_MAX_DRAFT]; /* tokens fed this step after its last sampled one, */
    int n_draft;                      /* by prompt lookup, to be checked against the model */
    bool one_pass;                    /* a margin that stops at once on NO# */
    float p_yes;                      /* one-pass: P(YES) against NO at its first token */
    wim_tokens forced; /* test seam: its first tokens, written instead of sampled (seam.h) */
} wim_job;

/* A pooled session's outputs of its last step in one context: the logits the
 * shared decoder copied back for it, since the context's own are overwritten by
 * the next shared step. */
typedef struct wim_outputs {
    float *logits; /* [cap_rows * n_vocab] */
    int *row_of;   /* [cap_idx] batch index -> row of logits, -1 when none */
    int cap_rows, cap_idx;
    int last; /* row of the step's last output */
} wim_outputs;

/* A margin as the answer sees it: its note, the model's verdict, and the
 * person's, which wins (wim_session_overrule). */
typedef struct wim_note {
    wim_strbuf text;      /* the note shown in the answer prompt */
    signed char verdict;  /* -1 no margin yet, 0 dropped, 1 kept */
    signed char overrule; /* -1 none, 0 drop, 1 keep */
    bool let_go;          /* dropped from the carried notes, over their budget */
    int64_t said;         /* the byte just past where the document text its margin
                             was shown (the window's segments through its own)
                             last says it, or -1: read there, not only repeated
                             from the notes carried; notes are listed in that
                             order (wim_listed_notes) */
    float p_yes;          /* the verdict's strength: P(YES) against NO */
} wim_note;

/* The note goes into the answer (and the carried notes): written, judged
 * relevant by the model unless the person overruled it, and not let go. */
static inline bool wim_note_kept(const wim_note *n)
{
    bool keep = n->overrule >= 0 ? n->overrule == 1 : n->verdict == 1;
    return keep && n->verdict >= 0 && n->text.len > 0 && !n->let_go;
}

/* The two notes say the same words (a reading's margins often repeat). */
static inline bool wim_note_same_text(const wim_note *a, const wim_note *b)
{
    return a->text.len == b->text.len && memcmp(a->text.s, b->text.s, a->text.len) == 0;
}

struct wim_session {
    wim_model *m;
    wim_options o; /* string fields point at the owned copies below */
    char *templates_dir, *user_header, *generation_header;
    wim_templates tpl;
    wim_chat chat;

    struct llama_context *ctx; /* main: the document and its forks */
    struct llama_context *cls; /* verdicts: small, never holds the document */
    wim_pool *pool;            /* NULL, or the pool whose contexts ctx and cls are */
    int slot;                  /* pooled: the session's slot (its sequence ids) */
    wim_outputs out[2];        /* pooled: last step's logits, main and verdicts */
    llama_token_data *cand;    /* pooled: [n_vocab] candidates for sampling */
    int ctx_size, cls_size;    /* their n_ctx, 0 before the first run */
    int n_seq;                 /* sequences of the main context, at most WIM_MAX_SEQ */
    bool trace;                /* WIM_TRACE is set: print every step's shape and time */
    struct llama_batch batch;  /* o.n_batch tokens */
    struct llama_sampler *smpl;
    struct wim_pieces *pieces; /* the vocabulary by text, for quotes (quote.c) */
    wim_tokens cls_cached;     /* the verdict prompt in the small context's cache */
    wim_doc doc;               /* the document in the cache, kept for asking later */
    bool doc_whole;            /* doc was read to the end: it can be asked or saved */
    wim_tokens reply;          /* a chat run's answer prompt: its conversation's last token */
    int window;                /* sequence 0's cells at most, reading past the context; else 0 */
    int carry_budget;          /* tokens of carried notes at most, in a window */
    llama_token yes_no[2];     /* the first tokens of "YES" and "NO" (a verdict's strength) */

    /* The current run. */
    wim_event_fn cb;
    void *user;
    const char *const *queries;
    int n_queries;
    double t0_ms;         /* run start, monotonic */
    wim_stats st;         /* live counters, reported with every event */
    int stop;             /* the strongest WIM_STOP/WIM_ABORT asked for (wim_poll) */
    int stop_floor;       /* the stop level when the answers began: only a stronger one cuts them */
    atomic_int interrupt; /* wim_session_interrupt's request, from any thread or a signal */
    int test_slow_ms;     /* WIM_TEST_SLOW_MS: a test's pause before every step */
    char err[512];

    /* Jobs in flight and the sequences they hold. */
    wim_job jobs[WIM_MAX_SEQ];
    int n_jobs;
    bool seq_used[WIM_MAX_SEQ];
    wim_note *notes;     /* [n_queries * doc.n] each margin's note and verdicts */
    int n_sealed;        /* questions whose answer prompt is built: notes final */
    wim_strbuf *answers; /* [n_queries] */
};

double wim_now_ms(void);
void wim_doc_free(wim_doc *d);
/* Creates the contexts, unless those there already have these sizes: the main
 * one of ctx_size cells for n_seq sequences, the verdicts' one (if cls_size). */
int wim_session_reserve(wim_session *s, int ctx_size, int n_seq, int cls_size);
void wim_emit(wim_session *s, wim_event ev);
/* Takes in a stop asked for by wim_session_interrupt; the stop level now. */
int wim_poll(wim_session *s);
void wim_batch_add(struct llama_batch *b, llama_token t, llama_pos pos, llama_seq_id seq,
                   bool logits);
int wim_decode_batch(wim_session *s, struct llama_context *ctx);
/* The test seam WIM_TEST_SLOW_MS: a pause before every decode step and every
 * count of the segmenter, so that tests can rely on a lower bound. */
void wim_test_pause(const wim_session *s);
/* Decodes n tokens into seq at positions pos.., in micro-batches, keeping the
 * last token's logits when logits_last. With seg >= 0 they are document tokens
 * of that segment: progress is reported and a stop is honoured between
 * micro-batches. Returns 0, 1 when stopped, -1 on error (s->err). */
int wim_decode(wim_session *s, struct llama_context *ctx, const llama_token *t, int n,
               llama_seq_id seq, llama_pos pos, bool logits_last, int seg);
/* Samples up to max tokens into seq from pos, one token a decode (verdicts, in
 * their own context); the last prompt token's logits must be ready. Returns
 * tokens generated, or -1. */
int wim_generate_alone(wim_session *s, struct llama_context *ctx, llama_seq_id seq, llama_pos pos,
                       int max, wim_strbuf *out);

/* P(YES) against NO in the logits of batch index idx (-1: the last output):
 * how sure a verdict about to be written is. */
float wim_yes_prob(wim_session *s, struct llama_context *ctx, int idx);
/* The next token from the logits of batch index idx (-1: the last output). */
llama_token wim_sample(wim_session *s, struct llama_sampler *smpl, struct llama_context *ctx,
                       int idx);
/* Which of a session's two contexts: they may want other attention settings. */
typedef enum wim_ctx_role {
    WIM_CTX_MAIN,    /* the document, its margins and answers: long prefill, decoding deep */
    WIM_CTX_VERDICTS /* the verdict prompts: short, shallow */
} wim_ctx_role;
/* llama.cpp's KV cache types, flash attention and RoPE scaling for a context
 * of role, the options' autos resolved (docs/schedule.md says why), with
 * mem_free bytes of memory free (wim_memory_free). */
void wim_memory_params(const wim_model *m, const wim_options *o, wim_ctx_role role, double mem_free,
                       struct llama_context_params *p);
/* Bytes of memory free to take now (MemAvailable and free swap), 0 if unknown. */
double wim_memory_free(void);
struct llama_context *wim_context_new(wim_model *m, const wim_options *o, wim_ctx_role role,
                                      int n_ctx, int n_batch, int n_seq);
void wim_outputs_free(wim_outputs *out);
/* n rounded up to a whole number of 256-cell blocks: how contexts are sized
 * (64-bit, so a need past any context is rounded, then refused, not wrapped). */
long long wim_round_up(long long n);
/* Which of the pool's contexts ctx is. */
int wim_pooled(const wim_session *s, const struct llama_context *ctx);

#endif
