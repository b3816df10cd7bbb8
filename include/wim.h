/*
 * wim.h - Writing in the Margins (arXiv 2408.14906) on llama.cpp: the public C API.
 *
 * A wim_model is a loaded GGUF model. A wim_session reads one document at a time
 * on that model and answers a query, in one of three modes:
 *
 *   WIM_MODE_WIM  the document is prefilled segment by segment; after each segment
 *                 the model writes a "margin" (what the segment says about the
 *                 query), each margin is classified relevant or not, and the answer
 *                 is generated after the whole document plus the relevant margins.
 *   WIM_MODE_LLM  the whole document, then the query (long-context baseline).
 *   WIM_MODE_RAG  each raw segment is classified; kept segments, then the query.
 *
 * Everything the session does is reported through one callback, as it happens,
 * so a caller can show progress, margins and verdicts live, and ask to stop.
 *
 *     wim_options o;
 *     wim_options_default(&o);
 *     wim_model *m = wim_model_load("model.gguf", 0, err, sizeof err);
 *     wim_session *s = wim_session_new(m, &o, err, sizeof err);
 *     if (wim_session_run(s, doc, doc_len, query, on_event, user) != 0)
 *         fprintf(stderr, "%s\n", wim_session_error(s));
 */
#ifndef WIM_H
#define WIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The version of this header; wim_version() gives the library's, which a
 * program loading libwim.so at run time may compare with it. */
#define WIM_VERSION_MAJOR  0
#define WIM_VERSION_MINOR  4
#define WIM_VERSION_PATCH  0
#define WIM_VERSION_STRING "0.4.0"

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here, and nothing else, is exported from libwim.so (it
 * is built with hidden visibility). */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* "MAJOR.MINOR.PATCH" of the library. */
const char *wim_version(void);

typedef struct wim_model wim_model;
typedef struct wim_session wim_session;

typedef enum wim_mode { WIM_MODE_WIM, WIM_MODE_LLM, WIM_MODE_RAG } wim_mode;

/* How margins are judged relevant. TWO_PASS asks a separate classification
 * prompt per margin; ONE_PASS makes the margin itself start with YES# or NO#
 * and stops writing it at once on NO#. */
typedef enum wim_classify { WIM_CLASSIFY_TWO_PASS, WIM_CLASSIFY_ONE_PASS } wim_classify;

/* When margins are written. SEQUENTIAL (default) writes each right after its
 * segment, as the reference code does, so it is shown as soon as possible.
 * OVERLAP starts it there but lets its tokens ride in the next segments' prefill
 * micro-batches and finishes the rest together at the end: meant for GPUs, where
 * a riding token is nearly free. On a CPU every token costs about the same
 * compute wherever it goes, and the two measure the same (docs/schedule.md).
 * Greedy results are the same on one thread; elsewhere batched arithmetic may
 * round differently and flip a near-tie. */
typedef enum wim_schedule { WIM_SCHEDULE_SEQUENTIAL, WIM_SCHEDULE_OVERLAP } wim_schedule;

/* The KV cache's element type (llama.cpp's -ctk/-ctv): q8_0 halves the memory
 * of a long document's cache. A quantized V cache needs flash attention. Auto,
 * the default, is wim's choice, measured (docs/schedule.md): on a CPU the
 * document's context keeps K in q8_0 with flash attention off, where the
 * model's heads allow it; everything else f16. */
typedef enum wim_cache_type {
    WIM_CACHE_AUTO,
    WIM_CACHE_F16,
    WIM_CACHE_F32,
    WIM_CACHE_BF16,
    WIM_CACHE_Q8_0,
    WIM_CACHE_Q4_0,
    WIM_CACHE_Q4_1,
    WIM_CACHE_IQ4_NL,
    WIM_CACHE_Q5_0,
    WIM_CACHE_Q5_1
} wim_cache_type;

typedef enum wim_flash_attn {
    WIM_FLASH_ATTN_AUTO,
    WIM_FLASH_ATTN_ON,
    WIM_FLASH_ATTN_OFF
} wim_flash_attn;

/* RoPE scaling for a context beyond the trained one: the model's own (from
 * its file), none, linear or YaRN (with rope_scale, the context's factor). */
typedef enum wim_rope_scaling {
    WIM_ROPE_MODEL,
    WIM_ROPE_NONE,
    WIM_ROPE_LINEAR,
    WIM_ROPE_YARN
} wim_rope_scaling;

typedef struct wim_model_params {
    int n_gpu_layers; /* layers to offload; 0 = CPU only */
    bool use_mmap;    /* map the file instead of reading it (true) */
    bool use_mlock;   /* keep the weights in RAM, never swapped (false) */
    /* llama.cpp RPC servers whose devices take layers too, "HOST:PORT,..." (NULL:
     * none); needs llama.cpp built with GGML_RPC=ON (docs/deploy.md) */
    const char *rpc_servers;
} wim_model_params;

/* The most tokens speculative decoding drafts for one job in one step. */
enum { WIM_MAX_DRAFT = 16 };

/* wim_options.window's two settings that are not a size. */
enum { WIM_WINDOW_AUTO = 0, WIM_WINDOW_OFF = -1 };

/* The most bytes of a document read past the context, in a window (16 MiB,
 * some four million tokens of prose), unless the context holds more: so that
 * reading a pipe without end stops somewhere. */
enum { WIM_MAX_DOC_BYTES = 16 << 20 };

typedef struct wim_options {
    wim_mode mode;
    wim_classify classify;
    wim_schedule schedule;
    int segment_tokens;            /* target segment length in model tokens (4096) */
    int max_margin_tokens;         /* per margin (100) */
    int max_verdict_tokens;        /* per classification answer (10) */
    int max_answer_tokens;         /* final answer (100) */
    float temp;                    /* 0 = greedy (default) */
    float top_p;                   /* nucleus sampling when temp > 0 (1.0 = off) */
    uint32_t seed;                 /* sampler seed when temp > 0 */
    int n_threads;                 /* 0 = one per online CPU */
    int n_ctx;                     /* 0 = enough for document and prompts, capped by the model */
    int n_batch;                   /* prefill micro-batch in tokens (512) */
    int n_ubatch;                  /* physical batch of one compute step; 0 = n_batch */
    wim_cache_type cache_type_k;   /* K cache type (auto) */
    wim_cache_type cache_type_v;   /* V cache type (auto: f16) */
    wim_flash_attn flash_attn;     /* flash attention (auto: off for the document's context
                                      on a CPU while its attention scores fit in a quarter
                                      of the memory free, else where the backend has it) */
    int draft_max;                 /* speculative decoding by prompt lookup: tokens drafted
                                      a step at most (3; 0 = off; up to WIM_MAX_DRAFT) */
    wim_rope_scaling rope_scaling; /* for contexts past the trained one (the model's) */
    float rope_scale;              /* context scaling factor; 0 = the model's */
    const char *templates_dir;     /* directory of *.txt prompt overrides, or NULL */
    const char *user_header;       /* chat text before user content, or NULL = model's */
    const char *generation_header; /* chat text after user content, or NULL = model's */
    bool think;                    /* let thinking models think before margins, verdicts
                                      and answers (off: their template's no-thinking turn) */
    /* Reading past the context (wim mode): the main context holds the preamble,
     * the notes carried so far and the latest segments, in at most window
     * tokens; once a segment's margins are judged its cells are let go, and its
     * kept margins are carried on as notes. WIM_WINDOW_AUTO (0, the default):
     * only a document that does not fit the context limit is read so, in the
     * largest window that leaves room for the margins; WIM_WINDOW_OFF: such a
     * document is refused; N: always, in N tokens. */
    int window;
    /* The most tokens of carried notes; past it the weakest (the verdict's
     * lowest probability of YES) are let go (0: a quarter of the window). */
    int carry_tokens;
    /* Past the window, shift (where the memory can: plain attention) rather
     * than restart: the oldest segments' cells are let go and the later ones
     * moved back (llama.cpp's K-shift), so the latest segments stay in view
     * and the notes of those let go go to the answer alone, not into the
     * cache. Off (the default, docs/schedule.md): the window restarts from
     * the preamble and the notes carried. */
    bool window_shift;
    /* Margins quote the document, the text each was shown (the window's
     * segments through its own). While one is written, once its last two
     * tokens are found together in that text, it may only go on as the text
     * does there or end where a word ends; and one whose note (less the
     * spaces around it) is not found there word for word is dropped before
     * any verdict. For extractive readers, whose margins copy the facts they
     * find (tools/reader): it mends their slips in copying a name or a place,
     * and drops their broken copies and their repeats of the notes carried;
     * off (the default) for models that paraphrase. */
    bool quoted_margins;
    /* The answer restates the notes it is given (wim mode): while it is
     * written, once its last two tokens are found together in them (whatever
     * the case of their letters: an answer starts a sentence its note has
     * inside one), it may only go on as they do there or end where a word
     * ends. For extractive readers, whose answer copies a kept note's fact
     * and slips as their margins do (the reader's "The price" for a note's
     * "the pantry", after the filler's "the price of"); off (the default)
     * for models that answer in words of their own. */
    bool quoted_answers;
    /* For benchmarks: the worst case, fixed so that runs compare. */
    bool fixed_length;    /* generate to every token limit, ignoring end-of-generation */
    bool assume_relevant; /* keep every margin for the answer, whatever its verdict */
} wim_options;

typedef enum wim_event_type {
    WIM_EVENT_START,        /* settings and token counts are known */
    WIM_EVENT_PROGRESS,     /* a prefill micro-batch finished */
    WIM_EVENT_SEGMENT,      /* a segment is fully prefilled (or classified, in rag) */
    WIM_EVENT_MARGIN,       /* a margin was written */
    WIM_EVENT_VERDICT,      /* a margin (wim) or segment (rag) was classified */
    WIM_EVENT_ANSWER_TOKEN, /* one piece of an answer */
    WIM_EVENT_ANSWER,       /* one question's answer is complete */
    WIM_EVENT_DONE,         /* the run finished; stats are final */
    WIM_EVENT_WINDOW,       /* reading past the context: the window moves on to start
                               at segment, after n_tokens of carried notes (0 when
                               shifted: the notes go to the answer alone) */
    WIM_EVENT_LET_GO        /* a kept margin (segment, question, text) is let go: the
                               carried notes were over their budget, and it was the
                               weakest */
} wim_event_type;

typedef struct wim_stats {
    int n_doc_tokens;      /* document tokens */
    int n_segments;        /* segments the document was cut into */
    int n_segments_read;   /* segments read before the end or an early stop */
    int n_read_tokens;     /* document tokens read so far */
    int n_margins;         /* margins written */
    int n_relevant;        /* margins (or segments, in rag) judged relevant */
    int n_prefill_tokens;  /* every token prefilled, prompts included */
    int n_decode_tokens;   /* every token generated */
    int n_decode_steps;    /* a job's decodes that generated: tokens / steps is tokens a step */
    int n_draft_tokens;    /* tokens drafted by prompt lookup and verified */
    int n_draft_accepted;  /* of those, the ones the model wrote too */
    double prefill_ms;     /* time in prompt/document prefill */
    double decode_ms;      /* time in token generation */
    double total_ms;       /* whole run */
    int n_ctx;             /* main context size used */
    bool stopped_early;    /* reading was cut short by the callback */
    int n_window;          /* the window's tokens when read past the context, else 0 */
    int n_segments_let_go; /* segments whose cells were let go to read on */
    int n_margins_let_go;  /* kept margins let go from the carried notes */
} wim_stats;

/* One event. Fields not listed for a type are zero/NULL. Pointers are valid
 * only during the callback. */
typedef struct wim_event {
    wim_event_type type;
    double elapsed_ms;  /* since the run started (all types) */
    int segment;        /* 0-based segment index (PROGRESS, SEGMENT, MARGIN, VERDICT) */
    int n_segments;     /* (all types) */
    int question;       /* which question (MARGIN, VERDICT, ANSWER_TOKEN, ANSWER) */
    int n_tokens;       /* tokens in this segment (SEGMENT), margin (MARGIN) or answer (ANSWER) */
    const char *text;   /* margin, verdict's raw answer, answer piece or answer */
    bool relevant;      /* VERDICT */
    bool parsed;        /* VERDICT: the answer had the YES#/NO# shape */
    const char *reason; /* VERDICT: text after '#', may be "" */
    const wim_options *options; /* START */
    const char *const *queries; /* the questions, n_queries of them (all types) */
    int n_queries;              /* (all types) */
    const wim_stats *stats;     /* live counters (all types); final in DONE */
    const char *const *answers; /* DONE: the answer to each question */
    const int *used;            /* ANSWER (wim): segments whose margins fed it, ascending */
    int n_used;
    /* SEGMENT, MARGIN: the 1-based first and last page the segment covers, pages
     * being separated by form feeds ('\f', as a PDF's text is given); 0 when the
     * document has no form feed */
    int first_page, last_page;
    /* VERDICT: the probability the model gave YES against NO at the verdict's
     * first token (its strength, by which carried notes are let go) */
    float p_yes;
} wim_event;

/* What a callback returns. */
enum {
    WIM_CONTINUE = 0,
    WIM_STOP = 1, /* stop reading; answer from what was gathered so far */
    WIM_ABORT = 2 /* end the run now, without an answer */
};

typedef int (*wim_event_fn)(const wim_event *ev, void *user);

void wim_options_default(wim_options *o);

/* What wim_options_set returns. */
enum {
    WIM_OPTION_UNKNOWN = -1,     /* no option has that name */
    WIM_OPTION_NEEDS_VALUE = -2, /* value was NULL for an option that is not a switch */
    WIM_OPTION_BAD_VALUE = -3    /* the value does not parse or is out of range */
};

/* Sets one option from text, by its name: the settings' keys in the start
 * event (docs/events.md), which the tools spell as flags (segment_tokens is
 * --segment-tokens). Also threads, ctx_size, batch_size, templates (the
 * templates_dir), user_header, generation_header. Switches (fixed_length,
 * assume_relevant) take "true"/"false", or NULL for true. Strings are not
 * copied. Returns 0, or one of the codes above with a one-line reason in err
 * that does not repeat the name ("needs a number, got 'x'"). */
int wim_options_set(wim_options *o, const char *key, const char *value, char *err, size_t errlen);
/* 0 when the options make sense together, else -1 and a one-line reason. */
int wim_options_check(const wim_options *o, char *err, size_t errlen);
void wim_model_params_default(wim_model_params *p);

/* Loads a GGUF model. On failure returns NULL and writes a one-line reason to err. */
wim_model *wim_model_load(const char *path, const wim_model_params *p, char *err, size_t errlen);
void wim_model_free(wim_model *m);

/* What a server tells its clients about the model. */
typedef struct wim_model_info {
    int n_ctx_train;       /* the context it was trained for */
    char architecture[64]; /* "qwen2", "llama", "phi3", ... */
    char description[128]; /* llama.cpp's one-line description (type, size) */
} wim_model_info;
void wim_model_describe(const wim_model *m, wim_model_info *info);

/* 0 when text[0..len) is something to read: not blank, no NUL byte, valid
 * UTF-8; else -1 and a one-line reason naming it by what ("document"). */
int wim_check_text(const char *what, const char *text, size_t len, char *err, size_t errlen);

/* Tokens in text as a document is counted (no BOS; chat markers stay text). */
int wim_model_count_tokens(const wim_model *m, const char *text, size_t len);

/* The most bytes a document can have and still be read: that many tokens of
 * the vocabulary's longest piece as fit the context limit (o's n_ctx, else the
 * model's trained context), or WIM_MAX_DOC_BYTES if more where o reads past
 * the context (wim mode, window not off). A longer one is refused anyway, so a
 * reader of input without end (a pipe, /dev/zero) can stop one byte past it. */
size_t wim_model_max_doc_bytes(const wim_model *m, const wim_options *o);

/* A session owns the llama contexts; it may run many documents one after another. */
wim_session *wim_session_new(wim_model *m, const wim_options *o, char *err, size_t errlen);
void wim_session_free(wim_session *s);

/* A pool: one main and one verdict context shared by up to n_slots sessions at
 * once, each in sequences of its own. A thread per context decodes whatever
 * micro-batches the sessions have waiting as one batch (continuous batching),
 * so readings that run together share every step. Each session gets n_ctx /
 * n_slots cells of the main context (0: the model's trained context in all).
 * o gives the batch size and threads of the shared contexts, and the segment
 * and margin sizes the verdict context is made for. */
typedef struct wim_pool wim_pool;
typedef struct wim_pool_stats {
    long rounds;        /* llama_decode calls on the main context */
    long merged_rounds; /* of those, ones that carried more than one session's tokens */
    long tokens;        /* tokens they decoded */
} wim_pool_stats;
wim_pool *wim_pool_new(wim_model *m, const wim_options *o, int n_slots, int n_ctx, char *err,
                       size_t errlen);
void wim_pool_free(wim_pool *p); /* after every session in it is freed */
void wim_pool_get_stats(wim_pool *p, wim_pool_stats *st);
/* A session in a free slot of the pool (NULL and a reason when none is free);
 * its n_ctx, n_batch and threads are the pool's. It cannot save or load documents. */
wim_session *wim_session_new_in_pool(wim_pool *p, const wim_options *o, char *err, size_t errlen);

/* Reads doc (doc_len bytes of UTF-8, no NUL) and answers query, reporting every
 * step to cb. Returns 0 on success (also after WIM_STOP), 1 if the callback
 * aborted, -1 on error (see wim_session_error). */
int wim_session_run(wim_session *s, const char *doc, size_t doc_len, const char *query,
                    wim_event_fn cb, void *user);
/* Asks the session's run, from any thread or a signal handler, to stop
 * (WIM_STOP: reading ends and the answer comes from what was read; asked
 * during the answer, the answer ends where it is) or to end without an answer
 * (WIM_ABORT), as if the callback had returned it. It takes effect within one
 * decode step; an abort also ends the decode in flight, through llama.cpp's
 * abort callback, where the session has contexts of its own. A margin being
 * written when the stop comes is dropped. Either also ends the cutting of a
 * document into segments at its next count; a stop there ends the run with
 * nothing read (START, then DONE with empty answers, stopped early). The next
 * run starts afresh. */
void wim_session_interrupt(wim_session *s, int how);

/* The same for several questions at once: the document is read once, and each
 * question gets its own margins (in parallel sequences) and answer. */
int wim_session_run_many(wim_session *s, const char *doc, size_t doc_len,
                         const char *const *queries, int n_queries, wim_event_fn cb, void *user);

/* One turn of a conversation: role "system", "user" or "assistant" (what the
 * model's template knows), and its text. */
typedef struct wim_message {
    const char *role;
    const char *content;
} wim_message;

/* Answers a conversation as the model's own chat would, with no margins: the
 * messages rendered by its chat template (think: its thinking switch), then
 * the reply, as an llm run of a document of no segments reports it (START,
 * ANSWER_TOKEN, ANSWER, DONE; the query is the last message's text). For a
 * server that reads long documents with WiM and lets short chats through.
 * Returns as wim_session_run does. */
int wim_session_chat(wim_session *s, const wim_message *msgs, int n_msgs, wim_event_fn cb,
                     void *user);

/* Asks new questions about the document already in the session (read to the end
 * by the last run, or loaded), without reading it again: in wim mode every
 * segment's margin is written at once, each from its own prefix of the cache.
 * Not for rag mode, which reads only the segments it keeps. */
int wim_session_ask(wim_session *s, const char *const *queries, int n_queries, wim_event_fn cb,
                    void *user);

/* The person's word on a margin, from inside the callback of a wim run (or
 * ask): keep (1) or drop (0) margin `segment` of question `question` in the
 * answer whatever its verdict, or -1 to leave it to the verdict again. It may
 * come before the margin is written. Returns 0, or -1 with a one-line reason in
 * err: not a wim run, no such question or margin, or that question's answer is
 * already being written. */
int wim_session_overrule(wim_session *s, int question, int segment, int keep, char *err,
                         size_t errlen);

/* Saves the document the last run read to the end: its KV cache, segments and
 * text, with the model's identity and a checksum. 0, or -1. */
int wim_session_save_doc(wim_session *s, const char *path);
/* Loads a saved document for wim_session_ask. A file of another model or
 * context size, or a damaged one, is refused. The document keeps the segments
 * it was cut into: the session's segment size becomes theirs. 0, or -1. */
int wim_session_load_doc(wim_session *s, const char *path);
const char *wim_session_error(const wim_session *s);
/* The settings in force: the session's own, but for a loaded document's segment size. */
const wim_options *wim_session_options(const wim_session *s);

/* The event as one line of JSON (no newline), the schema of docs/events.md.
 * Returns a malloc'd string for free(), or NULL when out of memory. */
char *wim_event_to_json(const wim_event *ev);

/* Reads an answer shaped YES#why or NO#why as the classifier's are read
 * (case, spaces, quotes and emphasis forgiven): 1 for yes, 0 for no, -1 when
 * it is neither. For tools that ask the model their own yes-or-no questions. */
int wim_yes_no(const char *text);

const char *wim_mode_name(wim_mode m);
const char *wim_classify_name(wim_classify c);
const char *wim_schedule_name(wim_schedule s);
const char *wim_cache_type_name(wim_cache_type t);
const char *wim_flash_attn_name(wim_flash_attn f);
const char *wim_rope_scaling_name(wim_rope_scaling r);
const char *wim_event_name(wim_event_type t);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif /* WIM_H */
