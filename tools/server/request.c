/*
 * request.c - a POST /v1/wim body read into a document, a question and
 * options: JSON with the right fields, text that can be read (or a file's
 * bytes in base64 whose text can be extracted), and only the options a request
 * may set, each checked by the library's own table.
 */
#include "request.h"
#include "json.h"

#include "base64.h"
#include "extract.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ============================================================================
 * Options
 * ========================================================================= */

/* The options a request may set; the rest are the server's. */
static const char *const request_options[] = {"classify",
                                              "schedule",
                                              "segment_tokens",
                                              "max_margin_tokens",
                                              "max_verdict_tokens",
                                              "max_answer_tokens",
                                              "temp",
                                              "top_p",
                                              "seed",
                                              "fixed_length",
                                              "assume_relevant",
                                              "think",
                                              "window",
                                              "carry_tokens",
                                              "window_shift",
                                              "quoted_margins",
                                              "quoted_answers",
                                              NULL};

static bool may_set(const char *key)
{
    for (int i = 0; request_options[i]; i++)
        if (strcmp(key, request_options[i]) == 0) return true;
    return false;
}

/* One option from its JSON value; 0, or -1 with the reason in err. */
static int set_option(wim_options *o, const cJSON *v, char *err, size_t errlen)
{
    char number[32], why[256];
    if (!may_set(v->string)) {
        snprintf(err, errlen, "options.%s: %s", v->string,
                 wim_options_set(&(wim_options){0}, v->string, "0", why, sizeof why) ==
                         WIM_OPTION_UNKNOWN
                     ? "no such option"
                     : "set by the server, not by a request");
        return -1;
    }
    const char *text = number;
    if (cJSON_IsString(v))
        text = v->valuestring; /* whole: cut short, "0.5000...x" would pass for 0.5 */
    else if (cJSON_IsBool(v))
        text = cJSON_IsTrue(v) ? "true" : "false";
    else if (cJSON_IsNumber(v))
        snprintf(number, sizeof number, "%.17g", v->valuedouble);
    else {
        snprintf(err, errlen, "options.%s must be a string, a number or a boolean", v->string);
        return -1;
    }
    if (wim_options_set(o, v->string, text, why, sizeof why) == 0) return 0;
    snprintf(err, errlen, "options.%s: %s", v->string, why);
    return -1;
}

int request_settings(const wim_options *defaults, const cJSON *mode, const cJSON *options,
                     wim_options *o, char *err, size_t errlen)
{
    char why[256];
    *o = *defaults;
    if (mode && !cJSON_IsString(mode)) {
        snprintf(err, errlen, "\"mode\" must be a string (wim, llm or rag)");
        return -1;
    }
    if (mode && wim_options_set(o, "mode", mode->valuestring, why, sizeof why) != 0) {
        snprintf(err, errlen, "mode: %s", why);
        return -1;
    }
    if (options && !cJSON_IsObject(options)) {
        snprintf(err, errlen, "\"options\" must be an object");
        return -1;
    }
    const cJSON *v;
    cJSON_ArrayForEach(v, options)
    {
        if (set_option(o, v, err, errlen) != 0) return -1;
    }
    if (wim_options_check(o, why, sizeof why) == 0) return 0;
    snprintf(err, errlen, "options: %s", why);
    return -1;
}

/* ============================================================================
 * Document and query
 * ========================================================================= */

/* The field name as a string to read: present, a string, something to read. */
static const char *text_field(const cJSON *j, const char *name, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    if (!v) {
        snprintf(err, errlen, "missing field \"%s\"", name);
        return NULL;
    }
    if (!cJSON_IsString(v)) {
        snprintf(err, errlen, "\"%s\" must be a string", name);
        return NULL;
    }
    if (wim_check_text(name, v->valuestring, strlen(v->valuestring), err, errlen) != 0) return NULL;
    return v->valuestring;
}

static atomic_int extracting; /* files being read now, by every connection */

bool request_extraction_begin(void)
{
    int now = atomic_load(&extracting);
    while (now < REQUEST_EXTRACTIONS && !atomic_compare_exchange_weak(&extracting, &now, now + 1))
        ;
    return now < REQUEST_EXTRACTIONS;
}

void request_extraction_end(void)
{
    atomic_fetch_sub(&extracting, 1);
}

char *request_file_text(const char *what, const char *b64, size_t len, size_t max_text,
                        unsigned *status, char *err, size_t errlen)
{
    char *bytes, *text = NULL, why[400];
    size_t n, text_len;
    *status = 400;
    if (base64_decode(b64, len, &bytes, &n, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s is %s", what, why);
        return NULL;
    }
    if (!request_extraction_begin()) {
        *status = 503;
        snprintf(err, errlen, "%s: %d files are being read already: try again later", what,
                 REQUEST_EXTRACTIONS);
    } else {
        extract_kind k = extract_kind_of(bytes, n);
        int rc = extract_text(bytes, n, max_text, &text, &text_len, why, sizeof why);
        if (rc != 0) snprintf(err, errlen, "%s (%s): %s", what, extract_kind_name(k), why);
        if (rc == EXTRACT_TOO_LONG) *status = 413;
        request_extraction_end();
    }
    free(bytes);
    return text;
}

/* "document_base64" into r->extracted; 0, or -1 with the reason. */
static int extract_field(request *r, const cJSON *v, char *err, size_t errlen)
{
    if (!cJSON_IsString(v)) {
        snprintf(err, errlen, "\"document_base64\" must be a string");
        return -1;
    }
    r->extracted = request_file_text("\"document_base64\"", v->valuestring, strlen(v->valuestring),
                                     r->max_text, &r->status, err, errlen);
    return r->extracted ? 0 : -1;
}

/* The document: the "document" text or the text of "document_base64", one of them. */
static const char *document(request *r, const cJSON *j, char *err, size_t errlen)
{
    const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(j, "document_base64");
    if (!b64 && !cJSON_HasObjectItem(j, "document")) {
        snprintf(err, errlen, "missing field \"document\" (or \"document_base64\")");
        return NULL;
    }
    if (!b64) return text_field(j, "document", err, errlen);
    if (cJSON_HasObjectItem(j, "document")) {
        snprintf(err, errlen, "give \"document\" or \"document_base64\", not both");
        return NULL;
    }
    return extract_field(r, b64, err, errlen) == 0 ? r->extracted : NULL;
}

/* ============================================================================
 * The body
 * ========================================================================= */

unsigned request_read(const char *body, size_t len, const wim_options *defaults, size_t max_text,
                      request *r, char *err, size_t errlen)
{
    *r = (request){.max_text = max_text};
    char why[200];
    cJSON *j = json_read(body, len, why, sizeof why);
    if (!j) {
        snprintf(err, errlen, "the body: %s", why);
        return 400;
    }
    bool ok = false;
    if (!cJSON_IsObject(j))
        snprintf(err, errlen, "the body must be a JSON object");
    else
        ok = (r->document = document(r, j, err, errlen)) &&
             (r->query = text_field(j, "query", err, errlen)) &&
             request_settings(defaults, cJSON_GetObjectItemCaseSensitive(j, "mode"),
                              cJSON_GetObjectItemCaseSensitive(j, "options"), &r->options, err,
                              errlen) == 0;
    if (ok) {
        r->json = j;
        return 0;
    }
    unsigned status = r->status ? r->status : 400; /* a file's own, else the body's */
    cJSON_Delete(j);
    free(r->extracted);
    *r = (request){0};
    return status;
}

void request_free(request *r)
{
    cJSON_Delete(r->json);
    free(r->extracted);
    *r = (request){0};
}
