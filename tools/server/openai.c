/*
 * openai.c - a reading told as an OpenAI chat completion.
 *
 * Clients of the chat API know two streams of text: the answer ("content")
 * and the model's thinking ("reasoning_content", which Open WebUI, LibreChat
 * and llama-server's own page show folded). WiM's margins and verdicts are its
 * thinking about the document, so they go there, and the answer is the
 * content. The reading's events come in as the bytes the /v1/wim stream
 * sends, so both endpoints follow one reading the same way.
 */
#include "openai.h"

#include "strbuf.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct openai_reply {
    char id[64], model[256]; /* "chatcmpl-" and the reading's id; the model file's name */
    long created;
    bool stream, include_usage;
    char **stops; /* copied */
    int n_stops;

    wim_strbuf in;        /* event bytes not yet a whole event */
    wim_strbuf out;       /* streaming: chunks not yet taken */
    size_t out_at;        /* of out, bytes taken */
    wim_strbuf reasoning; /* not streaming: all of it */
    wim_strbuf content;   /* not streaming: all of it; streaming: held back */
    bool began;           /* the role chunk is out */
    bool cut;             /* a stop string ended the content */
    bool over;            /* done or failed */
    const char *finish;   /* "stop" or "length" */
    char mode[8];         /* the reading's, from its start event */
    int max_answer, answer_tokens;
    cJSON *usage, *wim; /* from the done event */
    unsigned status;    /* an error event's status, else 0 */
    char *error;        /* its message */
};

/* ============================================================================
 * Errors
 * ========================================================================= */

static const char *error_type(unsigned status)
{
    switch (status) {
    case 401:
        return "authentication_error";
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 503:
        return "unavailable_error";
    default:
        return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

static cJSON *error_object(unsigned status, const char *message)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(j, "error");
    cJSON_AddNumberToObject(e, "code", status);
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddStringToObject(e, "type", error_type(status));
    return j;
}

static char *print(cJSON *j)
{
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return text;
}

char *openai_error_json(unsigned status, const char *message)
{
    return print(error_object(status, message));
}

/* ============================================================================
 * Chunks
 * ========================================================================= */

static cJSON *head(const openai_reply *o, const char *object)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", o->id);
    cJSON_AddStringToObject(j, "object", object);
    cJSON_AddNumberToObject(j, "created", (double)o->created);
    cJSON_AddStringToObject(j, "model", o->model);
    return j;
}

static void send_data(openai_reply *o, cJSON *j)
{
    char *text = print(j);
    if (!text) return;
    wim_strbuf_puts(&o->out, "data: ");
    wim_strbuf_puts(&o->out, text);
    wim_strbuf_puts(&o->out, "\n\n");
    free(text);
}

/* One chunk of one choice: a delta (field: text), or the finish. */
static void send_chunk(openai_reply *o, const char *field, const char *text, const char *finish)
{
    cJSON *j = head(o, "chat.completion.chunk");
    cJSON *choice = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(j, "choices"), choice);
    cJSON_AddNumberToObject(choice, "index", 0);
    cJSON *delta = cJSON_AddObjectToObject(choice, "delta");
    if (!o->began) cJSON_AddStringToObject(delta, "role", "assistant");
    o->began = true;
    if (field) cJSON_AddStringToObject(delta, field, text);
    cJSON_AddNullToObject(choice, "logprobs");
    if (finish)
        cJSON_AddStringToObject(choice, "finish_reason", finish);
    else
        cJSON_AddNullToObject(choice, "finish_reason");
    if (finish && o->wim) cJSON_AddItemReferenceToObject(j, "wim", o->wim);
    send_data(o, j);
}

static void reason(openai_reply *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Margins, verdicts and the reading's progress: the completion's thinking. */
static void reason(openai_reply *o, const char *fmt, ...)
{
    char small[512], *text = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof small && (text = malloc((size_t)n + 1))) {
        va_start(ap, fmt);
        vsnprintf(text, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    if (!text) return;
    if (o->stream)
        send_chunk(o, "reasoning_content", text, NULL);
    else
        wim_strbuf_puts(&o->reasoning, text);
    if (text != small) free(text);
}

/* ============================================================================
 * The answer, cut at a stop string
 * ========================================================================= */

/* The longest end of s[0..len) that begins one of the stop strings. */
static size_t stop_prefix(const openai_reply *o, const char *s, size_t len)
{
    size_t most = 0;
    for (int i = 0; i < o->n_stops; i++) {
        size_t sl = strlen(o->stops[i]);
        for (size_t k = sl - 1 < len ? sl - 1 : len; k > most; k--)
            if (memcmp(s + len - k, o->stops[i], k) == 0) {
                most = k;
                break;
            }
    }
    return most;
}

/* Where the first stop string begins in s, or NULL. */
static const char *first_stop(const openai_reply *o, const char *s)
{
    const char *first = NULL;
    for (int i = 0; i < o->n_stops; i++) {
        const char *at = strstr(s, o->stops[i]);
        if (at && (!first || at < first)) first = at;
    }
    return first;
}

/* Streaming sends content[sent..upto) and keeps the rest. */
static void send_content(openai_reply *o, size_t upto)
{
    if (!o->stream || !upto) return;
    char *text = strndup(o->content.s, upto);
    if (text) send_chunk(o, "content", text, NULL);
    free(text);
    memmove(o->content.s, o->content.s + upto, o->content.len - upto + 1);
    o->content.len -= upto;
}

static void answer_piece(openai_reply *o, const char *text)
{
    if (o->cut || !*text || !wim_strbuf_puts(&o->content, text)) return;
    const char *stop = first_stop(o, o->content.s);
    if (stop) {
        o->content.len = (size_t)(stop - o->content.s);
        o->content.s[o->content.len] = '\0';
        o->cut = true;
        send_content(o, o->content.len);
        return;
    }
    send_content(o, o->content.len - stop_prefix(o, o->content.s, o->content.len));
}

/* ============================================================================
 * Events
 * ========================================================================= */

static int number(const cJSON *ev, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, name);
    return cJSON_IsNumber(v) ? v->valueint : 0;
}

static const char *string(const cJSON *ev, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static void on_start(openai_reply *o, const cJSON *ev)
{
    o->max_answer = number(ev, "max_answer_tokens");
    int segments = number(ev, "segments"), tokens = number(ev, "doc_tokens");
    const char *mode = string(ev, "mode");
    snprintf(o->mode, sizeof o->mode, "%s", mode);
    if (strcmp(mode, "wim") == 0)
        reason(o, "Reading %d tokens in %d segments, writing in the margins.\n\n", tokens,
               segments);
    else if (strcmp(mode, "rag") == 0)
        reason(o, "Reading %d tokens in %d segments, keeping the relevant ones.\n\n", tokens,
               segments);
    else if (segments > 0)
        reason(o, "Reading %d tokens whole.\n\n", tokens);
}

static void on_verdict(openai_reply *o, const cJSON *ev)
{
    const char *why = string(ev, "reason");
    bool kept = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "relevant"));
    if (strcmp(o->mode, "rag") == 0)
        reason(o, "[%d/%d] %s%s%s\n\n", number(ev, "segment") + 1, number(ev, "segments"),
               kept ? "kept" : "dropped", *why ? ": " : "", why);
    else
        reason(o, "-> %s%s%s\n\n", kept ? "kept" : "dropped", *why ? ": " : "", why);
}

static void on_done(openai_reply *o, const cJSON *ev)
{
    int prompt = number(ev, "prefill_tokens"), completion = number(ev, "decode_tokens");
    o->usage = cJSON_CreateObject();
    cJSON_AddNumberToObject(o->usage, "prompt_tokens", prompt);
    cJSON_AddNumberToObject(o->usage, "completion_tokens", completion);
    cJSON_AddNumberToObject(o->usage, "total_tokens", (double)prompt + completion);
    cJSON_AddBoolToObject(o->wim, "stopped_early",
                          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "stopped_early")));
    cJSON_AddNumberToObject(o->wim, "segments_read", number(ev, "segments_read"));
    o->finish = !o->cut && o->max_answer && o->answer_tokens >= o->max_answer ? "length" : "stop";
    if (!o->cut) send_content(o, o->content.len);
    if (o->stream) {
        send_chunk(o, NULL, NULL, o->finish);
        if (o->include_usage) {
            cJSON *j = head(o, "chat.completion.chunk");
            cJSON_AddArrayToObject(j, "choices");
            cJSON_AddItemReferenceToObject(j, "usage", o->usage);
            send_data(o, j);
        }
        wim_strbuf_puts(&o->out, "data: [DONE]\n\n");
    }
    o->over = true;
}

/* A run that failed after its stream began: the request's fault (a document
 * too long for its slot...), unless the server is going away. */
static void on_error(openai_reply *o, const char *message)
{
    o->status = strstr(message, "shutting down") ? 503 : 400;
    o->error = strdup(message);
    if (o->stream) send_data(o, error_object(o->status, message));
    o->over = true;
}

static void on_event(openai_reply *o, const cJSON *ev)
{
    const char *name = string(ev, "event");
    if (o->stream && !o->began) send_chunk(o, "content", "", NULL);
    if (strcmp(name, "request") == 0 && number(ev, "position") > 0)
        reason(o, "Waiting: %d readings ahead.\n\n", number(ev, "position"));
    else if (strcmp(name, "start") == 0)
        on_start(o, ev);
    else if (strcmp(name, "margin") == 0)
        reason(o, "[%d/%d] %s\n", number(ev, "segment") + 1, number(ev, "segments"),
               string(ev, "text"));
    else if (strcmp(name, "verdict") == 0)
        on_verdict(o, ev);
    else if (strcmp(name, "token") == 0)
        answer_piece(o, string(ev, "text"));
    else if (strcmp(name, "answer") == 0) {
        o->answer_tokens = number(ev, "tokens");
        cJSON_AddItemToObject(o->wim, "used",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(ev, "used"), 1));
    } else if (strcmp(name, "done") == 0)
        on_done(o, ev);
    else if (strcmp(name, "error") == 0)
        on_error(o, string(ev, "message"));
}

/* ============================================================================
 * The reply
 * ========================================================================= */

openai_reply *openai_reply_new(const char *id, const char *model, bool stream, bool include_usage,
                               const char *const *stops, int n_stops)
{
    openai_reply *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    snprintf(o->id, sizeof o->id, "chatcmpl-%s", id);
    snprintf(o->model, sizeof o->model, "%s", model);
    o->created = (long)time(NULL);
    o->stream = stream;
    o->include_usage = include_usage;
    o->stops = calloc((size_t)n_stops + 1, sizeof *o->stops);
    for (int i = 0; o->stops && i < n_stops; i++)
        if ((o->stops[i] = strdup(stops[i]))) o->n_stops++;
    o->wim = cJSON_CreateObject();
    cJSON_AddStringToObject(o->wim, "id", id);
    if (o->wim && o->stops && o->n_stops == n_stops) return o;
    openai_reply_free(o);
    return NULL;
}

void openai_reply_free(openai_reply *o)
{
    if (!o) return;
    wim_strbuf_free(&o->in);
    wim_strbuf_free(&o->out);
    wim_strbuf_free(&o->reasoning);
    wim_strbuf_free(&o->content);
    cJSON_Delete(o->usage);
    cJSON_Delete(o->wim);
    free(o->error);
    for (int i = 0; i < o->n_stops; i++)
        free(o->stops[i]);
    free(o->stops);
    free(o);
}

void openai_feed(openai_reply *o, const char *bytes, size_t n)
{
    if (!n || !wim_strbuf_append(&o->in, bytes, n)) return; /* nothing new (or no memory) */
    size_t at = 0;
    for (char *end; !o->over && (end = strstr(o->in.s + at, "\n\n"));
         at = (size_t)(end + 2 - o->in.s)) {
        *end = '\0';
        const char *line = o->in.s + at;
        if (line[0] ==
            ':') { /* a keep-alive: passed on, so the client's proxies keep waiting too */
            if (o->stream) wim_strbuf_puts(&o->out, ": keep-alive\n\n");
            continue;
        }
        cJSON *ev = strncmp(line, "data: ", 6) == 0 ? cJSON_Parse(line + 6) : NULL;
        if (ev) on_event(o, ev);
        cJSON_Delete(ev);
    }
    memmove(o->in.s, o->in.s + at, o->in.len - at + 1);
    o->in.len -= at;
}

size_t openai_take(openai_reply *o, char *buf, size_t cap)
{
    size_t n = o->out.len - o->out_at < cap ? o->out.len - o->out_at : cap;
    if (!n) return 0;
    memcpy(buf, o->out.s + o->out_at, n);
    o->out_at += n;
    if (o->out_at == o->out.len) {
        wim_strbuf_clear(&o->out);
        o->out_at = 0;
    }
    return n;
}

bool openai_over(const openai_reply *o)
{
    return o->over && o->out_at == o->out.len;
}

bool openai_wants_stop(const openai_reply *o)
{
    return o->cut;
}

char *openai_result(openai_reply *o, unsigned *status)
{
    if (!o->over || o->status) {
        *status = o->status ? o->status : 500;
        return openai_error_json(*status,
                                 o->error ? o->error : "the reading ended without an answer");
    }
    *status = 200;
    cJSON *j = head(o, "chat.completion");
    cJSON *choice = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(j, "choices"), choice);
    cJSON_AddNumberToObject(choice, "index", 0);
    cJSON *m = cJSON_AddObjectToObject(choice, "message");
    cJSON_AddStringToObject(m, "role", "assistant");
    cJSON_AddStringToObject(m, "content", wim_strbuf_str(&o->content));
    if (o->reasoning.len) cJSON_AddStringToObject(m, "reasoning_content", o->reasoning.s);
    cJSON_AddNullToObject(choice, "logprobs");
    cJSON_AddStringToObject(choice, "finish_reason", o->finish);
    cJSON_AddItemReferenceToObject(j, "usage", o->usage);
    cJSON_AddItemReferenceToObject(j, "wim", o->wim);
    return print(j);
}
