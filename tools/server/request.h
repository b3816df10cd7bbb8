/*
 * request.h - what a POST /v1/wim body asks for: the document, the question,
 * and the mode and options over the server's defaults, read and checked from
 * its JSON. Apart from HTTP, so that tests and the fuzzer call it alone.
 */
#ifndef WIM_SERVER_REQUEST_H
#define WIM_SERVER_REQUEST_H

#include "wim.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct request {
    const char *document; /* checked text (wim_check_text), owned by json or extracted */
    char *extracted;      /* the text of "document_base64" (a file's bytes), or NULL */
    const char *query;    /* checked text, owned by json */
    wim_options options;  /* the defaults with the request's mode and options */
    struct cJSON *json;   /* the parsed body; NULL when it was refused */
} request;

/* Reads body[0..len) (body may be NULL when len is 0) over defaults into *r:
 * 0, or an HTTP status (400) with a one-line reason in err. request_free
 * frees it either way. */
unsigned request_read(const char *body, size_t len, const wim_options *defaults, request *r,
                      char *err, size_t errlen);

void request_free(request *r);

/* The parts the chat endpoint shares (chat_request.c): */

/* A "mode" and an "options" object (either may be NULL) over defaults into
 * *o, each option one a request may set, checked by the library's table: 0,
 * or -1 with a one-line reason in err. */
int request_settings(const wim_options *defaults, const struct cJSON *mode,
                     const struct cJSON *options, wim_options *o, char *err, size_t errlen);

/* The text of a file sent in base64 (b64[0..len)): text, PDF or HTML, told by
 * content (tools/common/extract.h). malloc'd, or NULL with a one-line reason in
 * err that names the field as what. */
char *request_file_text(const char *what, const char *b64, size_t len, char *err, size_t errlen);

#endif
