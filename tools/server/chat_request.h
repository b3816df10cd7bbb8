/*
 * chat_request.h - what a POST /v1/chat/completions body asks for, in OpenAI's
 * shape: the conversation, the sampling fields, streaming, and wim's own
 * "wim" object; and whether the conversation holds a document long enough to
 * be read with WiM, or goes to the model as it is. Apart from HTTP, so that
 * tests and the fuzzer call it alone.
 */
#ifndef WIM_SERVER_CHAT_REQUEST_H
#define WIM_SERVER_CHAT_REQUEST_H

#include "wim.h"

#include <stdbool.h>
#include <stddef.h>

enum { CHAT_MAX_STOPS = 4 };

typedef struct chat_request {
    wim_options options;               /* the server's defaults, the wim object's mode and options,
                                          then max_tokens, temperature, top_p and seed */
    bool stream;                       /* answer with chunks as Server-Sent Events */
    bool include_usage;                /* stream_options.include_usage: a last chunk with usage */
    const char *stops[CHAT_MAX_STOPS]; /* "stop": the reply ends before any of them */
    int n_stops;
    wim_message *msgs; /* [n_msgs] the conversation, text parts joined */
    int n_msgs;
    bool forced;          /* wim.mode named a reading mode: read whatever the length */
    bool chat_only;       /* wim.mode "chat": never a reading */
    long min_doc_tokens;  /* wim.min_document_tokens, or -1 for the server's */
    const char *document; /* the longest text, the candidate document */
    const char *query;    /* the question about it: the last user turn's words */
    struct cJSON *json;   /* the parsed body */
    char **owned;         /* strings made here (joined parts, a split turn) */
    int n_owned;
    size_t max_text; /* the most text a file part may give (0: extract.h's bound) */
    unsigned status; /* why a file part was refused (413, 503), else 0 */
} chat_request;

/* Reads body[0..len) over defaults into *r, a file part's text at most
 * max_text bytes (0: extract.h's bound): 0, or an HTTP status (400; 413 or 503
 * for a file part, as request_read) with a one-line reason in err.
 * chat_request_free frees it either way. */
unsigned chat_request_read(const char *body, size_t len, const wim_options *defaults,
                           size_t max_text, chat_request *r, char *err, size_t errlen);

/* The threshold in force: the request's wim.min_document_tokens, else the server's. */
long chat_request_min_tokens(const chat_request *r, long min_doc_tokens);

/* Whether it is a reading (document and query, in the mode of r->options) or
 * a chat (msgs), given the document's length in tokens and the server's
 * threshold: a document of at least that many tokens is read with WiM. */
bool chat_request_is_reading(const chat_request *r, int doc_tokens, long min_doc_tokens);

void chat_request_free(chat_request *r);

#endif
