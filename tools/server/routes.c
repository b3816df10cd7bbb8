/*
 * routes.c - the server's endpoints: take a request (read by request.c), answer
 * with JSON or a Server-Sent Events stream, and say what is wrong with a bad one
 * in a JSON error with the right status.
 */
#include "routes.h"

#include "chat_request.h"
#include "json.h"
#include "openai.h"
#include "request.h"
#include "strbuf.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What is kept between the calls of one request: its body so far. */
typedef struct call {
    wim_strbuf body;
    bool too_big;
    bool answered; /* refused on its headers, before the body */
} call;

/* ============================================================================
 * Answers
 * ========================================================================= */

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *type,
                                 const char *text, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, cJSON *j)
{
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text) return MHD_NO;
    enum MHD_Result rc = send_text(c, status, "application/json", text, strlen(text));
    free(text);
    return rc;
}

/* {"error": {"code", "message", "type"}}, for every client alike */
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
    char message[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    char *json = openai_error_json(status, message);
    enum MHD_Result rc =
        json ? send_text(c, status, "application/json", json, strlen(json)) : MHD_NO;
    free(json);
    return rc;
}

/* ============================================================================
 * POST /v1/wim: the stream
 * ========================================================================= */

/* One connection's place in a reading's events: keep-alive comments make
 * the bytes sent run ahead of the events, so it is kept here. */
typedef struct stream {
    reading *r;
    size_t at;
    openai_reply *reply; /* /v1/chat/completions: the events told as chunks; NULL: as they are */
} stream;

/* The next bytes of the reading's events into the reply; false once they end. */
static bool feed_reply(reading *r, size_t *at, openai_reply *reply)
{
    char raw[16 * 1024];
    size_t n = reading_stream(r, at, raw, sizeof raw);
    openai_feed(reply, raw, n);
    if (openai_wants_stop(reply)) reading_stop(r); /* a stop string ended the answer */
    return n > 0;
}

static ssize_t stream_more(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream *st = cls;
    if (!st->reply) {
        size_t n = reading_stream(st->r, &st->at, buf, max);
        return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
    }
    for (;;) {
        size_t n = openai_take(st->reply, buf, max);
        if (n) return (ssize_t)n;
        if (openai_over(st->reply) || !feed_reply(st->r, &st->at, st->reply))
            return MHD_CONTENT_READER_END_OF_STREAM;
    }
}

/* A connection is done with reading r: a client that left before the end
 * stops it (or gives up its place in the queue); a finished one stays so. */
static void let_go(reading *r)
{
    reading_stop(r);
    reading_stream_end(r);
    reading_release(r);
}

static void stream_closed(void *cls)
{
    stream *st = cls;
    let_go(st->r);
    openai_reply_free(st->reply);
    free(st);
}

static enum MHD_Result send_stream(struct MHD_Connection *c, reading *r, openai_reply *reply)
{
    stream *st = malloc(sizeof *st);
    struct MHD_Response *resp =
        st ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_more, st,
                                               stream_closed)
           : NULL;
    if (!resp) {
        free(st);
        let_go(r);
        openai_reply_free(reply);
        return MHD_NO;
    }
    *st = (stream){r, 0, reply};
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* 413 when the document is longer in bytes than a reading can hold in tokens
 * (see slot_bytes in server.c), decided before anything is tokenized. */
static unsigned too_many_bytes(const server *sv, size_t bytes, char *err, size_t errlen)
{
    if (bytes <= sv->max_doc_bytes) return 0;
    snprintf(err, errlen,
             "the document is %zu bytes, more than a reading here can hold (at most %zu bytes)",
             bytes, sv->max_doc_bytes);
    return 413;
}

/* 413 when the document is over --max-doc-tokens (counted here only for that:
 * the reading tokenizes it anyway), with why in err; else 0. */
static unsigned over_limit(const server *sv, const char *document, char *err, size_t errlen)
{
    int tokens =
        sv->max_doc_tokens ? wim_model_count_tokens(sv->model, document, strlen(document)) : 0;
    if (tokens <= sv->max_doc_tokens || !sv->max_doc_tokens) return 0;
    snprintf(err, errlen, "the document is %d tokens, more than this server's limit of %ld", tokens,
             sv->max_doc_tokens);
    return 413;
}

static enum MHD_Result start_reading(const server *sv, struct MHD_Connection *c, const call *k)
{
    char err[640];
    request q;
    unsigned status =
        request_read(k->body.s, k->body.len, &sv->defaults, sv->max_doc_bytes, &q, err, sizeof err);
    if (!status) status = too_many_bytes(sv, strlen(q.document), err, sizeof err);
    if (!status) status = over_limit(sv, q.document, err, sizeof err);
    reading *r = status ? NULL : readings_add(sv->rs, q.document, q.query, &q.options);
    if (!status && !r) {
        status = 503;
        snprintf(err, sizeof err, "the queue is full: try again later");
    }
    request_free(&q);
    return status ? send_error(c, status, "%s", err) : send_stream(c, r, NULL);
}

/* ============================================================================
 * POST /v1/chat/completions: the same readings in OpenAI's shape
 * ========================================================================= */

/* The client of a reply that is not streamed has closed its connection.
 * Each connection has a thread of its own, so the handler may wait, and
 * look. */
static bool client_left(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    char byte;
    return ci && recv(ci->connect_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* Not streamed: the whole reply, once the reading is over, with the status it
 * calls for. A client that leaves stops the reading, as a stream's does. */
static enum MHD_Result send_whole(struct MHD_Connection *c, reading *r, openai_reply *reply)
{
    size_t at = 0;
    bool left = false;
    while (!openai_over(reply) && !(left = client_left(c)) && feed_reply(r, &at, reply))
        ;
    let_go(r);
    unsigned status = 0;
    char *json = left ? NULL : openai_result(reply, &status);
    openai_reply_free(reply);
    enum MHD_Result rc =
        json ? send_text(c, status, "application/json", json, strlen(json)) : MHD_NO;
    free(json);
    return rc;
}

/* A document long enough to read with WiM, or a chat for the model as it is. */
static bool read_with_wim(const server *sv, const chat_request *q)
{
    long min = chat_request_min_tokens(q, sv->min_doc_tokens);
    size_t bytes = q->document ? strlen(q->document) : 0;
    /* a token is at least a byte: a shorter text need not be counted */
    int tokens = bytes >= (size_t)min || q->forced
                     ? wim_model_count_tokens(sv->model, q->document, bytes)
                     : 0;
    return chat_request_is_reading(q, tokens, sv->min_doc_tokens);
}

static enum MHD_Result start_chat(const server *sv, struct MHD_Connection *c, const call *k)
{
    char err[640];
    chat_request q;
    unsigned status = chat_request_read(k->body.s, k->body.len, &sv->defaults, sv->max_doc_bytes,
                                        &q, err, sizeof err);
    if (!status && q.document) status = too_many_bytes(sv, strlen(q.document), err, sizeof err);
    bool wim = !status && q.document && read_with_wim(sv, &q);
    if (wim) status = over_limit(sv, q.document, err, sizeof err);
    reading *r = status ? NULL
                 : wim  ? readings_add(sv->rs, q.document, q.query, &q.options)
                        : readings_add_chat(sv->rs, q.msgs, q.n_msgs, &q.options);
    if (!status && !r) {
        status = 503;
        snprintf(err, sizeof err, "the queue is full: try again later");
    }
    openai_reply *reply = r ? openai_reply_new(reading_id(r), sv->model_name, q.stream,
                                               q.include_usage, q.stops, q.n_stops)
                            : NULL;
    bool streamed = q.stream;
    chat_request_free(&q);
    if (status) return send_error(c, status, "%s", err);
    if (!reply) {
        let_go(r);
        return MHD_NO;
    }
    return streamed ? send_stream(c, r, reply) : send_whole(c, r, reply);
}

/* ============================================================================
 * A reading's endpoints: GET /v1/wim/{id}, POST .../stop, POST .../margins/{k}
 * ========================================================================= */

static enum MHD_Result overrule(struct MHD_Connection *c, reading *r, const char *k_text,
                                const call *k)
{
    char err[256], *end;
    long seg = strtol(k_text, &end, 10);
    if (end == k_text || *end || seg < 0 || seg > 1 << 20)
        return send_error(c, 400, "margin '%s' is not a segment number", k_text);
    cJSON *j = json_read(k->body.s, k->body.len, err, sizeof err);
    const cJSON *keep = cJSON_GetObjectItemCaseSensitive(j, "keep");
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "question");
    bool ok = cJSON_IsObject(j) && (cJSON_IsBool(keep) || cJSON_IsNull(keep)) &&
              (!q || cJSON_IsNumber(q));
    int question = q ? q->valueint : 0, word = cJSON_IsNull(keep) ? -1 : cJSON_IsTrue(keep);
    cJSON_Delete(j);
    if (!ok)
        return send_error(c, 400,
                          "the body must be {\"keep\": true, false or null} with an "
                          "optional number \"question\"");
    int status = reading_overrule(r, question, (int)seg, word, err, sizeof err);
    if (status) return send_error(c, (unsigned)status, "%s", err);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "id", reading_id(r));
    cJSON_AddNumberToObject(out, "segment", (double)seg);
    if (word < 0)
        cJSON_AddNullToObject(out, "keep");
    else
        cJSON_AddBoolToObject(out, "keep", word);
    return send_json(c, 200, out);
}

static enum MHD_Result stop(struct MHD_Connection *c, reading *r)
{
    if (!reading_stop(r)) return send_error(c, 404, "request %s is finished", reading_id(r));
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "id", reading_id(r));
    cJSON_AddBoolToObject(out, "stopping", true);
    return send_json(c, 200, out);
}

/* /v1/wim/{id}[/stop | /margins/{k}] */
static enum MHD_Result one_reading(const server *sv, struct MHD_Connection *c, const char *path,
                                   const char *method, const call *k)
{
    char id[32] = "", rest[64] = "";
    sscanf(path, "%31[^/]%63s", id, rest);
    reading *r = readings_find(sv->rs, id);
    if (!r) return send_error(c, 404, "no request '%s'", id);
    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    enum MHD_Result rc;
    if (!rest[0] && get) {
        char *state = reading_state_json(r);
        rc = state ? send_text(c, 200, "application/json", state, strlen(state)) : MHD_NO;
        free(state);
    } else if (strcmp(rest, "/stop") == 0 && post) {
        rc = stop(c, r);
    } else if (strncmp(rest, "/margins/", 9) == 0 && post) {
        rc = overrule(c, r, rest + 9, k);
    } else if (!rest[0] || strcmp(rest, "/stop") == 0 || strncmp(rest, "/margins/", 9) == 0) {
        rc = send_error(c, 405, "%s is not allowed here", method);
    } else {
        rc = send_error(c, 404, "no such endpoint");
    }
    reading_release(r);
    return rc;
}

/* ============================================================================
 * The rest: health, the model, the page
 * ========================================================================= */

static enum MHD_Result health(const server *sv, struct MHD_Connection *c)
{
    int now, queued;
    readings_count(sv->rs, &now, &queued);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "status", "ok");
    if (sv->replica) cJSON_AddStringToObject(j, "replica", sv->replica);
    cJSON_AddNumberToObject(j, "reading", now);
    cJSON_AddNumberToObject(j, "queued", queued);
    wim_pool_stats st;
    wim_pool_get_stats(sv->pool, &st);
    cJSON_AddNumberToObject(j, "steps", (double)st.rounds);
    cJSON_AddNumberToObject(j, "merged_steps", (double)st.merged_rounds);
    return send_json(c, 200, j);
}

static enum MHD_Result models(const server *sv, struct MHD_Connection *c)
{
    wim_model_info info;
    wim_model_describe(sv->model, &info);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "object", "list");
    cJSON *m = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(j, "data"), m);
    cJSON_AddStringToObject(m, "id", sv->model_name);
    cJSON_AddStringToObject(m, "object", "model");
    cJSON_AddNumberToObject(m, "created", (double)sv->started);
    cJSON_AddStringToObject(m, "owned_by", "wim");
    cJSON_AddStringToObject(m, "architecture", info.architecture);
    cJSON_AddStringToObject(m, "description", info.description);
    cJSON_AddNumberToObject(m, "n_ctx_train", info.n_ctx_train);
    cJSON_AddNumberToObject(m, "parallel", sv->parallel);
    if (sv->replica) cJSON_AddStringToObject(m, "replica", sv->replica);
    return send_json(c, 200, j);
}

/* The page's three files, by name only: no path from the URL reaches the disk. */
static enum MHD_Result page(const server *sv, struct MHD_Connection *c, const char *url)
{
    static const char *const files[][3] = {{"/", "index.html", "text/html; charset=utf-8"},
                                           {"/app.js", "app.js", "text/javascript"},
                                           {"/style.css", "style.css", "text/css"}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (strcmp(url, files[i][0]) != 0) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", sv->web_dir, files[i][1]);
        FILE *f = fopen(path, "rb");
        if (!f) return send_error(c, 404, "the page is not installed (%s)", path);
        wim_strbuf b = {0};
        char chunk[8192];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
            wim_strbuf_append(&b, chunk, n);
        fclose(f);
        enum MHD_Result rc = send_text(c, 200, files[i][2], wim_strbuf_str(&b), b.len);
        wim_strbuf_free(&b);
        return rc;
    }
    return send_error(c, 404, "no such endpoint");
}

/* ============================================================================
 * Who may ask: decided on the headers, before any of the body is read
 * ========================================================================= */

/* a == b in time that depends on their lengths only, not on where they differ. */
static bool same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;
    for (size_t i = 0; i < la && lb; i++)
        diff |= (unsigned char)(a[i] ^ b[i % lb]);
    return diff == 0;
}

static bool from_loopback(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (!sa || sa->sa_family != AF_INET) return false;
    return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
}

/* The host part of a Host header: the name without its port, brackets kept
 * off an IPv6 address; false when it has no such form. */
static bool host_name(const char *host, char *name, size_t cap)
{
    const char *end = host[0] == '[' ? strchr(host, ']') : strchr(host, ':');
    const char *from = host[0] == '[' ? host + 1 : host;
    if (host[0] == '[' && !end) return false;
    size_t n = end ? (size_t)(end - from) : strlen(from);
    const char *port = end ? end + (host[0] == '[') : NULL;
    if (port && *port) {
        if (*port++ != ':' || !*port) return false;
        for (; *port; port++)
            if (*port < '0' || *port > '9') return false;
    }
    if (n == 0 || n >= cap) return false;
    memcpy(name, from, n);
    name[n] = '\0';
    return true;
}

/* Without a key a browser must have reached this server by a loopback name. A
 * page of another site that rebinds its own name to 127.0.0.1 (DNS rebinding)
 * is same-origin with itself: it sends its own name in Host and, when at all,
 * in Origin, so comparing the two proves nothing. A client without Host is no
 * browser. */
static bool loopback_host(struct MHD_Connection *c)
{
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    char name[64];
    struct in_addr a4;
    struct in6_addr a6;
    if (!host) return true;
    if (!host_name(host, name, sizeof name)) return false;
    if (strcasecmp(name, "localhost") == 0) return true;
    if (host[0] == '[') return inet_pton(AF_INET6, name, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    return inet_pton(AF_INET, name, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

/* A browser names the page that sent a request in Origin: without a key, only
 * this server's own page (or a client that is not a browser) may use the API,
 * so that no other web page a user visits can start readings here. */
static bool same_origin(struct MHD_Connection *c)
{
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    if (!origin) return true;
    return host && strncmp(origin, "http://", 7) == 0 && strcmp(origin + 7, host) == 0;
}

static enum MHD_Result count_authorization(void *n, enum MHD_ValueKind kind, const char *key,
                                           const char *value)
{
    (void)kind, (void)value;
    *(int *)n += strcasecmp(key, "Authorization") == 0;
    return MHD_YES;
}

/* The key of the one Authorization header, when it is "Bearer KEY" (the
 * scheme in any case, as HTTP has it); else NULL. Of two headers a proxy may
 * have checked one and the server read the other. */
static const char *bearer_key(struct MHD_Connection *c)
{
    int n = 0;
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_authorization, &n);
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    return n == 1 && h && strncasecmp(h, "Bearer ", 7) == 0 ? h + 7 : NULL;
}

/* 0 when the API may be used by this request, else the status to refuse it
 * with and why. With a key: the key. Without: this machine, by a loopback
 * name, from no other site's page. */
static unsigned refusal(const server *sv, struct MHD_Connection *c, const char **why)
{
    if (sv->api_key) {
        const char *key = bearer_key(c);
        *why = "a valid \"Authorization: Bearer KEY\" header is required";
        return key && same_secret(key, sv->api_key) ? 0 : 401;
    }
    *why = !from_loopback(c) ? "this server has no API key, so only its own machine may use it"
           : !loopback_host(c)
               ? "this server has no API key, so it answers only to a loopback Host (127.0.0.1, "
                 "localhost or [::1])"
           : !same_origin(c) ? "a request from another site's page needs an API key"
                             : NULL;
    return *why ? 403 : 0;
}

/* A body announced larger than the limit is refused before it is read. */
static bool announced_too_big(const server *sv, struct MHD_Connection *c)
{
    const char *len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    char *end;
    unsigned long long n = len ? strtoull(len, &end, 10) : 0;
    return len && *end == '\0' && n > sv->max_body;
}

/* The first call, with the headers only: the status to refuse the request
 * with before its body is read (why in why), or 0. */
static unsigned check_headers(const server *sv, struct MHD_Connection *c, const char *url,
                              char *why, size_t len)
{
    const char *reason;
    unsigned status = strncmp(url, "/v1/", 4) == 0 ? refusal(sv, c, &reason) : 0;
    if (status) {
        snprintf(why, len, "%s", reason);
        return status;
    }
    if (!announced_too_big(sv, c)) return 0;
    snprintf(why, len, "the body is over this server's limit of %zu bytes", sv->max_body);
    return 413;
}

/* ============================================================================
 * The handler
 * ========================================================================= */

static enum MHD_Result route(const server *sv, struct MHD_Connection *c, const char *url,
                             const char *method, const call *k)
{
    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    bool api = strncmp(url, "/v1/", 4) == 0;
    if (strcmp(url, "/health") == 0)
        return get ? health(sv, c) : send_error(c, 405, "%s is not allowed here", method);
    if (strcmp(url, "/v1/models") == 0)
        return get ? models(sv, c) : send_error(c, 405, "%s is not allowed here", method);
    if (strcmp(url, "/v1/wim") == 0)
        return post ? start_reading(sv, c, k)
                    : send_error(c, 405, "%s is not allowed here", method);
    if (strncmp(url, "/v1/wim/", 8) == 0) return one_reading(sv, c, url + 8, method, k);
    if (strcmp(url, "/v1/chat/completions") == 0)
        return post ? start_chat(sv, c, k) : send_error(c, 405, "%s is not allowed here", method);
    if (api) return send_error(c, 404, "no such endpoint");
    return get ? page(sv, c, url) : send_error(c, 405, "%s is not allowed here", method);
}

enum MHD_Result routes_handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **call_state)
{
    (void)version;
    const server *sv = cls;
    call *k = *call_state;
    if (!k) { /* the headers are in; the body may follow in later calls */
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        if (ci) guard_mark(sv->guard, ci->socket_context, true);
        *call_state = k = calloc(1, sizeof *k);
        if (!k) return MHD_NO;
        char why[160];
        unsigned status = check_headers(sv, c, url, why, sizeof why);
        k->answered = status != 0;
        return status ? send_error(c, status, "%s", why) : MHD_YES;
    }
    if (k->answered) { /* refused on its headers: any body that still comes is dropped */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        /* past the limit the rest is read and dropped, and refused at the end:
         * answering early would close on unread data, and a reset loses the answer */
        size_t n = *upload_size;
        *upload_size = 0;
        k->too_big = k->too_big || k->body.len + n > sv->max_body;
        if (k->too_big) wim_strbuf_free(&k->body);
        return k->too_big || wim_strbuf_append(&k->body, upload, n) ? MHD_YES : MHD_NO;
    }
    if (k->too_big)
        return send_error(c, 413, "the body is over this server's limit of %zu bytes",
                          sv->max_body);
    return route(sv, c, url, method, k);
}

void routes_completed(void *cls, struct MHD_Connection *c, void **call_state,
                      enum MHD_RequestTerminationCode why)
{
    (void)why;
    const server *sv = cls;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (ci) guard_mark(sv->guard, ci->socket_context, false); /* waits for headers again */
    call *k = *call_state;
    if (!k) return;
    wim_strbuf_free(&k->body);
    free(k);
    *call_state = NULL;
}

void routes_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                       enum MHD_ConnectionNotificationCode toe)
{
    const server *sv = cls;
    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        guard_close(sv->guard, *socket_context);
        *socket_context = NULL;
        return;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    *socket_context = ci ? guard_open(sv->guard, ci->connect_fd) : NULL;
}
