/*
 * chat_request.c - a POST /v1/chat/completions body read as OpenAI's clients
 * write it (llama-server's fields, the ones that mean something here), and the
 * document found in it.
 *
 * Clients put a long document where their users do: pasted into a user turn,
 * attached as a part of one, or in the system turn (Open WebUI's "full
 * context" files). So the candidate is the longest of those texts; the
 * question is the last user turn's words, less the document when it sits in
 * that turn too. Whether the candidate is long enough to be read with WiM is
 * decided by its tokens (chat_request_is_reading); a short chat goes to the
 * model as it is.
 */
#include "chat_request.h"
#include "json.h"

#include "request.h"
#include "strbuf.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ============================================================================
 * Strings made here, freed with the request
 * ========================================================================= */

/* s (malloc'd, or NULL) freed with the request; s, or NULL out of memory. */
static char *own_str(chat_request *r, char *s)
{
    char **more = s ? realloc(r->owned, (size_t)(r->n_owned + 1) * sizeof *more) : NULL;
    if (!more) {
        free(s);
        return NULL;
    }
    r->owned = more;
    r->owned[r->n_owned++] = s;
    return s;
}

static char *own(chat_request *r, wim_strbuf *b)
{
    char *s = b->s ? b->s : strdup("");
    *b = (wim_strbuf){0};
    return own_str(r, s);
}

static char *own_copy(chat_request *r, const char *text, size_t len)
{
    wim_strbuf b = {0};
    if (!wim_strbuf_append(&b, text, len)) return NULL;
    return own(r, &b);
}

/* ============================================================================
 * Messages
 * ========================================================================= */

/* OpenAI's file part, {"type": "file", "file": {"filename", "file_data":
 * "data:application/pdf;base64,..."}}: the file's text (text, PDF or HTML). */
static const char *file_text(chat_request *r, const cJSON *part, int i, int k, char *err,
                             size_t errlen)
{
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(part, "file");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(file, "file_data");
    if (!cJSON_IsString(data)) {
        snprintf(err, errlen,
                 "messages[%d].content[%d].file needs \"file_data\" (uploaded files' ids are "
                 "not kept here)",
                 i, k);
        return NULL;
    }
    const char *b64 = data->valuestring;
    const char *comma = strncmp(b64, "data:", 5) == 0 ? strchr(b64, ',') : NULL;
    if (comma) b64 = comma + 1;
    char what[64];
    snprintf(what, sizeof what, "messages[%d].content[%d]", i, k);
    return own_str(r,
                   request_file_text(what, b64, strlen(b64), r->max_text, &r->status, err, errlen));
}

/* The text of a content part; NULL with the reason when it has none we read. */
static const char *part_text(chat_request *r, const cJSON *part, int i, int k, char *err,
                             size_t errlen)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
    if (!cJSON_IsString(type)) {
        snprintf(err, errlen, "messages[%d].content[%d] needs a \"type\"", i, k);
        return NULL;
    }
    if (strcmp(type->valuestring, "file") == 0) return file_text(r, part, i, k, err, errlen);
    if (strcmp(type->valuestring, "text") != 0) {
        snprintf(err, errlen,
                 "messages[%d].content[%d]: parts of type \"%.40s\" are not read here "
                 "(text and file only)",
                 i, k, type->valuestring);
        return NULL;
    }
    if (!cJSON_IsString(text)) {
        snprintf(err, errlen, "messages[%d].content[%d].text must be a string", i, k);
        return NULL;
    }
    return text->valuestring;
}

/* Where the candidate document lies: which turn, and which part of it (-1:
 * the whole turn). */
typedef struct place {
    int msg, part;
    size_t len;
    const char *text;
} place;

static void consider(place *best, int msg, int part, const char *text)
{
    size_t len = strlen(text);
    if (len > best->len) *best = (place){msg, part, len, text};
}

/* A turn's content: a string, an array of text parts (joined by blank lines),
 * or null. Its system or user text is considered as the document. */
static const char *content_text(chat_request *r, const cJSON *m, int i, bool may_hold, place *best,
                                char *err, size_t errlen)
{
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
    if (!content || cJSON_IsNull(content)) return "";
    if (cJSON_IsString(content)) {
        if (may_hold) consider(best, i, -1, content->valuestring);
        return content->valuestring;
    }
    if (!cJSON_IsArray(content)) {
        snprintf(err, errlen, "messages[%d].content must be a string or an array of parts", i);
        return NULL;
    }
    wim_strbuf joined = {0};
    int k = 0;
    const cJSON *part;
    cJSON_ArrayForEach(part, content)
    {
        const char *text = part_text(r, part, i, k, err, errlen);
        if (!text) {
            wim_strbuf_free(&joined);
            return NULL;
        }
        if (may_hold) consider(best, i, k, text);
        if (k++ > 0) wim_strbuf_puts(&joined, "\n\n");
        wim_strbuf_puts(&joined, text);
    }
    return own(r, &joined);
}

/* What wim_check_text counts as blank: a text of these alone is empty. */
static const char space[] = " \t\r\n\f\v";

static bool blank(const char *text)
{
    return !text[strspn(text, space)];
}

static const char *role_of(const cJSON *m, int i, char *err, size_t errlen)
{
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
    if (!cJSON_IsString(role) || !role->valuestring[0]) {
        snprintf(err, errlen, "messages[%d] needs a \"role\"", i);
        return NULL;
    }
    /* OpenAI's newer name for the system turn; templates know "system" */
    return strcmp(role->valuestring, "developer") == 0 ? "system" : role->valuestring;
}

static int read_messages(chat_request *r, const cJSON *msgs, place *best, char *err, size_t errlen)
{
    int n = cJSON_GetArraySize(msgs);
    if (!cJSON_IsArray(msgs) || n < 1) {
        snprintf(err, errlen, "\"messages\" must be an array of at least one message");
        return -1;
    }
    r->msgs = calloc((size_t)n, sizeof *r->msgs);
    if (!r->msgs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs)
    {
        int i = r->n_msgs;
        if (!cJSON_IsObject(m)) {
            snprintf(err, errlen, "messages[%d] must be an object", i);
            return -1;
        }
        const char *role = role_of(m, i, err, errlen);
        if (!role) return -1;
        bool may_hold = strcmp(role, "user") == 0 || strcmp(role, "system") == 0;
        const char *text = content_text(r, m, i, may_hold, best, err, errlen);
        if (!text) return -1;
        if (!blank(text) && wim_check_text("message", text, strlen(text), err, errlen) != 0) {
            snprintf(err + strlen(err), errlen - strlen(err), " (messages[%d])", i);
            return -1;
        }
        r->msgs[r->n_msgs++] = (wim_message){role, text};
    }
    return 0;
}

/* ============================================================================
 * The document and the question
 * ========================================================================= */

static int last_user(const chat_request *r)
{
    for (int i = r->n_msgs - 1; i >= 0; i--)
        if (r->msgs[i].role && strcmp(r->msgs[i].role, "user") == 0) return i;
    return -1;
}

/* The words of a turn's text parts but part `skip`, joined by blank lines. */
static const char *other_parts(chat_request *r, const cJSON *m, int skip)
{
    wim_strbuf b = {0};
    int k = 0;
    const cJSON *part;
    cJSON_ArrayForEach(part, cJSON_GetObjectItemCaseSensitive(m, "content"))
    {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (k++ == skip || !cJSON_IsString(text) || blank(text->valuestring)) continue;
        if (b.len) wim_strbuf_puts(&b, "\n\n");
        wim_strbuf_puts(&b, text->valuestring);
    }
    return b.len ? own(r, &b) : (wim_strbuf_free(&b), NULL);
}

/* A turn that holds both: the document, and after its last blank line the question. */
static void split_turn(chat_request *r, const char *text)
{
    size_t len = strlen(text);
    while (len && strchr(space, text[len - 1]))
        len--;
    const char *gap = NULL;
    for (const char *p = text; (p = strstr(p, "\n\n")) && p < text + len; p++)
        gap = p;
    if (!gap) return;
    const char *q = gap + strspn(gap, space);
    r->document = own_copy(r, text, (size_t)(gap - text));
    r->query = own_copy(r, q, len - (size_t)(q - text));
}

static void find_document(chat_request *r, const cJSON *msgs, place best)
{
    int u = last_user(r);
    if (!best.len || u < 0) return;
    const cJSON *m = cJSON_GetArrayItem(msgs, best.msg);
    const char *text = best.text;
    if (best.msg != u) {
        r->document = text;
        r->query = r->msgs[u].content;
        return;
    }
    const char *rest = best.part >= 0 ? other_parts(r, m, best.part) : NULL;
    if (rest) {
        r->document = text;
        r->query = rest;
        return;
    }
    split_turn(r, text);
}

/* ============================================================================
 * OpenAI's fields, and wim's
 * ========================================================================= */

/* A JSON number into option key, under the field's own name in messages. */
static int number_option(wim_options *o, const cJSON *j, const char *field, const char *key,
                         char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, field);
    if (!v || cJSON_IsNull(v)) return 0;
    char text[32], why[256];
    if (!cJSON_IsNumber(v)) {
        snprintf(err, errlen, "\"%s\" must be a number", field);
        return -1;
    }
    snprintf(text, sizeof text, "%.17g", v->valuedouble);
    if (wim_options_set(o, key, text, why, sizeof why) == 0) return 0;
    snprintf(err, errlen, "%s: %s", field, why);
    return -1;
}

static int sampling(chat_request *r, const cJSON *j, char *err, size_t errlen)
{
    wim_options *o = &r->options;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "n");
    if (n && !cJSON_IsNull(n) && !(cJSON_IsNumber(n) && n->valuedouble == 1)) {
        snprintf(err, errlen, "\"n\" must be 1: one choice is written");
        return -1;
    }
    char why[256];
    int rc = number_option(o, j, "max_tokens", "max_answer_tokens", err, errlen) ||
             number_option(o, j, "max_completion_tokens", "max_answer_tokens", err, errlen) ||
             number_option(o, j, "temperature", "temp", err, errlen) ||
             number_option(o, j, "top_p", "top_p", err, errlen) ||
             number_option(o, j, "seed", "seed", err, errlen);
    if (rc == 0 && wim_options_check(o, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s", why);
        rc = -1;
    }
    return rc ? -1 : 0;
}

static int read_stops(chat_request *r, const cJSON *stop, char *err, size_t errlen)
{
    if (!stop || cJSON_IsNull(stop)) return 0;
    const cJSON *s = cJSON_IsString(stop) ? stop : stop->child;
    bool ok = cJSON_IsString(stop) || cJSON_IsArray(stop);
    for (; ok && s && r->n_stops < CHAT_MAX_STOPS; s = cJSON_IsString(stop) ? NULL : s->next) {
        ok = cJSON_IsString(s) && s->valuestring[0];
        if (ok) r->stops[r->n_stops++] = s->valuestring;
    }
    if (ok && !s) return 0;
    snprintf(err, errlen, "\"stop\" must be a string or an array of at most %d non-empty strings",
             CHAT_MAX_STOPS);
    return -1;
}

static int read_stream(chat_request *r, const cJSON *j, char *err, size_t errlen)
{
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(j, "stream");
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(j, "stream_options");
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(so, "include_usage");
    if ((stream && !cJSON_IsNull(stream) && !cJSON_IsBool(stream)) ||
        (so && !cJSON_IsNull(so) && !cJSON_IsObject(so)) ||
        (usage && !cJSON_IsNull(usage) && !cJSON_IsBool(usage))) {
        snprintf(err, errlen, "\"stream\" and \"stream_options.include_usage\" must be booleans");
        return -1;
    }
    r->stream = cJSON_IsTrue(stream);
    r->include_usage = cJSON_IsTrue(usage);
    return 0;
}

/* The "wim" object: {"mode": wim|llm|rag|chat, "options": {...},
 * "min_document_tokens": N}. */
static int read_wim(chat_request *r, const wim_options *defaults, const cJSON *w, char *err,
                    size_t errlen)
{
    r->min_doc_tokens = -1;
    if (!w || cJSON_IsNull(w)) {
        r->options = *defaults;
        return 0;
    }
    if (!cJSON_IsObject(w)) {
        snprintf(err, errlen, "\"wim\" must be an object");
        return -1;
    }
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(w, "mode");
    const cJSON *min = cJSON_GetObjectItemCaseSensitive(w, "min_document_tokens");
    r->chat_only = cJSON_IsString(mode) && strcmp(mode->valuestring, "chat") == 0;
    r->forced = mode && !r->chat_only;
    if (min && !(cJSON_IsNumber(min) && min->valuedouble >= 0 && min->valuedouble <= 1 << 30)) {
        snprintf(err, errlen, "wim.min_document_tokens must be a number from 0 to %d", 1 << 30);
        return -1;
    }
    if (min) r->min_doc_tokens = (long)min->valuedouble;
    return request_settings(defaults, r->chat_only ? NULL : mode,
                            cJSON_GetObjectItemCaseSensitive(w, "options"), &r->options, err,
                            errlen);
}

/* ============================================================================
 * The body
 * ========================================================================= */

static int read_body(chat_request *r, const cJSON *j, const wim_options *defaults, char *err,
                     size_t errlen)
{
    place best = {-1, -1, 0, NULL};
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(j, "messages");
    if (read_wim(r, defaults, cJSON_GetObjectItemCaseSensitive(j, "wim"), err, errlen) != 0 ||
        sampling(r, j, err, errlen) != 0 || read_stream(r, j, err, errlen) != 0 ||
        read_stops(r, cJSON_GetObjectItemCaseSensitive(j, "stop"), err, errlen) != 0 ||
        read_messages(r, msgs, &best, err, errlen) != 0)
        return -1;
    int u = last_user(r);
    if (u < 0 || blank(r->msgs[u].content)) {
        snprintf(err, errlen, "the conversation needs a user message with words in it, last");
        return -1;
    }
    find_document(r, msgs, best);
    if (r->document && (blank(r->document) || blank(r->query))) r->document = r->query = NULL;
    if (r->forced && !r->document) {
        snprintf(err, errlen,
                 "wim.mode %s needs a document and a question: put the question in its own "
                 "message or part, or after a blank line",
                 wim_mode_name(r->options.mode));
        return -1;
    }
    return 0;
}

unsigned chat_request_read(const char *body, size_t len, const wim_options *defaults,
                           size_t max_text, chat_request *r, char *err, size_t errlen)
{
    *r = (chat_request){.max_text = max_text};
    char why[200];
    r->json = json_read(body, len, why, sizeof why);
    if (!r->json) {
        snprintf(err, errlen, "the body: %s", why);
        return 400;
    }
    if (!cJSON_IsObject(r->json)) {
        snprintf(err, errlen, "the body must be a JSON object");
        return 400;
    }
    if (read_body(r, r->json, defaults, err, errlen) == 0) return 0;
    return r->status ? r->status : 400;
}

long chat_request_min_tokens(const chat_request *r, long min_doc_tokens)
{
    return r->min_doc_tokens >= 0 ? r->min_doc_tokens : min_doc_tokens;
}

bool chat_request_is_reading(const chat_request *r, int doc_tokens, long min_doc_tokens)
{
    if (r->chat_only || !r->document) return false;
    return r->forced || doc_tokens >= chat_request_min_tokens(r, min_doc_tokens);
}

void chat_request_free(chat_request *r)
{
    cJSON_Delete(r->json);
    for (int i = 0; i < r->n_owned; i++)
        free(r->owned[i]);
    free(r->owned);
    free(r->msgs);
    *r = (chat_request){0};
}
