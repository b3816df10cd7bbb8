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
    size_t max_text;      /* the most text a file may give (0: extract.h's bound) */
    unsigned status;      /* why a file was refused (413, 503), else 0 */
} request;

/* Reads body[0..len) (body may be NULL when len is 0) over defaults into *r,
 * a file's text at most max_text bytes (what a reading here can hold; 0: no
 * bound but extract.h's): 0, or an HTTP status (400; 413 for a file's text over
 * max_text; 503 when too many files are being read at once) with a one-line
 * reason in err. request_free frees it either way. */
unsigned request_read(const char *body, size_t len, const wim_options *defaults, size_t max_text,
                      request *r, char *err, size_t errlen);

void request_free(request *r);

/* The parts the chat endpoint shares (chat_request.c): */

/* A "mode" and an "options" object (either may be NULL) over defaults into
 * *o, each option one a request may set, checked by the library's table: 0,
 * or -1 with a one-line reason in err. */
int request_settings(const wim_options *defaults, const struct cJSON *mode,
                     const struct cJSON *options, wim_options *o, char *err, size_t errlen);

/* Files read at once, at most: reading a PDF takes a core and memory for as
 * long as it takes, whatever the queue of readings says. */
enum { REQUEST_EXTRACTIONS = 4 };

/* Takes one of the REQUEST_EXTRACTIONS places, for as long as a file is read
 * (request_file_text takes one itself): false, taking nothing, when all are
 * taken. request_extraction_end gives it back. */
bool request_extraction_begin(void);
void request_extraction_end(void);

/* The text of a file sent in base64 (b64[0..len)): text, PDF or HTML, told by
 * content (tools/common/extract.h), at most max_text bytes (0: extract.h's
 * bound). malloc'd, or NULL with a one-line reason in err that names the field
 * as what, and *status: 413 over max_text, 503 with REQUEST_EXTRACTIONS
 * already under way, else 400. */
char *request_file_text(const char *what, const char *b64, size_t len, size_t max_text,
                        unsigned *status, char *err, size_t errlen);

#endif
