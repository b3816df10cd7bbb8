/*
 * test_server_openai.c - POST /v1/chat/completions on wim-server with a tiny
 * made model: a client that leaves stops its reading (streamed or not), the
 * document threshold decides between a reading and a chat to the token, and
 * errors before and during a stream come in OpenAI's error shape. (OpenAI's
 * own client is run against it by tests/openai.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http.h"
#include "wim.h"

#define KEY  "secret"
#define PATH "/v1/chat/completions"

static int setup(void **state)
{
    (void)state;
    static const char *const extra[] = {"--api-key",        KEY,    "--parallel", "1",
                                        "--queue",          "2",    "-c",         "4096",
                                        "--max-doc-tokens", "3000", NULL};
    /* every step at least 20 ms (a test seam): a reading lasts seconds on any
     * machine, so a client leaving at its first margin always finds it reading */
    return serve_tiny_slow(extra, "20");
}

/* A chat body: a system turn of n sentences, a question, and extra fields
 * (a JSON object's inside, after a comma; may be ""). */
static char *chat_body(int sentences, const char *extra)
{
    size_t cap = (size_t)sentences * 80 + strlen(extra) + 512;
    char *b = malloc(cap);
    int n = snprintf(b, cap,
                     "{\"model\": \"any\", \"messages\": [{\"role\": \"system\", \"content\": \"");
    for (int i = 0; i < sentences; i++)
        n += snprintf(b + n, cap - (size_t)n, "Barge %d brought %d sacks of rye to Orrin. ", i,
                      i * 7 % 50);
    snprintf(b + n, cap - (size_t)n,
             "\"}, {\"role\": \"user\", \"content\": \"Who opened the pier?\"}]%s%s}",
             *extra ? ", " : "", extra);
    return b;
}

static cJSON *post_whole(const char *body, int expect_status)
{
    http_answer a = http(port, "POST", PATH, KEY, body);
    if (a.status != expect_status) fail_msg("status %d: %s", a.status, a.body);
    cJSON *j = cJSON_Parse(a.body);
    free(a.body);
    assert_non_null(j);
    return j;
}

/* GET /v1/wim/{id} until it is done; its state. */
static cJSON *when_done(const char *id)
{
    char path[64];
    snprintf(path, sizeof path, "/v1/wim/%s", id);
    cJSON *st = NULL;
    for (int i = 0; i < 600; i++) {
        http_answer a = http(port, "GET", path, KEY, NULL);
        assert_int_equal(a.status, 200);
        cJSON_Delete(st);
        st = cJSON_Parse(a.body);
        free(a.body);
        if (strcmp(cJSON_GetObjectItem(st, "state")->valuestring, "done") == 0) return st;
        usleep(100 * 1000);
    }
    fail_msg("reading %s never finished", id);
    return NULL;
}

static const char slow_reading[] =
    "\"stream\": true, \"wim\": {\"min_document_tokens\": 1, \"options\": "
    "{\"segment_tokens\": 128, \"max_margin_tokens\": 40, \"fixed_length\": true}}";

/* ============================================================================
 * Leaving
 * ========================================================================= */

static void test_leaving_a_stream_stops_the_reading(void **state)
{
    (void)state;
    char *body = chat_body(60, slow_reading);
    sse s = {.fd = http_send(port, "POST", PATH, KEY, body)};
    char id[32] = "";
    for (cJSON *j; (j = sse_next(&s));) {
        const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
        const cJSON *r =
            cJSON_GetObjectItem(cJSON_GetObjectItem(choice, "delta"), "reasoning_content");
        sscanf(cJSON_GetObjectItem(j, "id")->valuestring, "chatcmpl-%31s", id);
        bool margin = cJSON_IsString(r) && strncmp(r->valuestring, "[1/", 3) == 0;
        cJSON_Delete(j);
        if (margin) break;
    }
    assert_int_equal(s.status, 200);
    assert_true(id[0]);
    close(s.fd);
    cJSON *st = when_done(id);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(st, "stopped")));
    cJSON_Delete(st);
    free(body);
}

/* The id of the one reading being read now (ids count up from r1). */
static bool reading_now(char *id, size_t len)
{
    for (int k = 1; k < 100; k++) {
        char path[64];
        snprintf(path, sizeof path, "/v1/wim/r%d", k);
        http_answer a = http(port, "GET", path, KEY, NULL);
        bool found = a.status == 200 && strstr(a.body, "\"state\":\"reading\"");
        free(a.body);
        if (a.status == 404 && k > 1) return false;
        if (found) {
            snprintf(id, len, "r%d", k);
            return true;
        }
    }
    return false;
}

static void test_leaving_a_whole_reply_stops_the_reading(void **state)
{
    (void)state;
    char *body = chat_body(60, strstr(slow_reading, "\"wim\""));
    int fd = http_send(port, "POST", PATH, KEY, body);
    char id[32] = "";
    for (int i = 0; i < 300 && !reading_now(id, sizeof id); i++)
        usleep(100 * 1000);
    assert_true(id[0]);
    close(fd);
    cJSON *st = when_done(id);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(st, "stopped")));
    cJSON_Delete(st);
    free(body);
}

/* ============================================================================
 * The threshold
 * ========================================================================= */

static cJSON *message_of(cJSON *reply)
{
    return cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(reply, "choices"), 0),
                               "message");
}

/* The tokens of the system turn of chat_body(sentences), as the server counts them. */
static int document_tokens(int sentences)
{
    char *body = chat_body(sentences, ""), err[512];
    cJSON *j = cJSON_Parse(body);
    const char *doc =
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "messages"), 0), "content")
            ->valuestring;
    wim_model *m = wim_model_load(WIM_TEST_MODELS "/tiny-qwen2.gguf", NULL, err, sizeof err);
    assert_non_null(m);
    int n = wim_model_count_tokens(m, doc, strlen(doc));
    wim_model_free(m);
    cJSON_Delete(j);
    free(body);
    return n;
}

/* A document of exactly the threshold's tokens is read with WiM; one token
 * short of it, the conversation goes to the model as it is. */
static void test_threshold_to_the_token(void **state)
{
    (void)state;
    int tokens = document_tokens(20);
    assert_true(tokens > 100);
    for (int min = tokens; min <= tokens + 1; min++) {
        char extra[256];
        snprintf(extra, sizeof extra,
                 "\"max_tokens\": 2, \"wim\": {\"min_document_tokens\": %d, \"options\": "
                 "{\"segment_tokens\": 128, \"max_margin_tokens\": 4}}",
                 min);
        char *body = chat_body(20, extra);
        cJSON *r = post_whole(body, 200);
        bool read = cJSON_GetObjectItem(message_of(r), "reasoning_content") != NULL;
        int segments =
            cJSON_GetObjectItem(cJSON_GetObjectItem(r, "wim"), "segments_read")->valueint;
        assert_int_equal(read, min == tokens);
        assert_int_equal(segments > 0, min == tokens);
        cJSON_Delete(r);
        free(body);
    }
}

/* ============================================================================
 * Errors, in OpenAI's shape
 * ========================================================================= */

static void expect_error(cJSON *j, int code, const char *type, const char *words)
{
    const cJSON *e = cJSON_GetObjectItem(j, "error");
    assert_non_null(e);
    assert_int_equal(cJSON_GetObjectItem(e, "code")->valueint, code);
    assert_string_equal(cJSON_GetObjectItem(e, "type")->valuestring, type);
    if (!strstr(cJSON_GetObjectItem(e, "message")->valuestring, words))
        fail_msg("'%s' lacks '%s'", cJSON_GetObjectItem(e, "message")->valuestring, words);
}

static void test_errors_in_openai_shape(void **state)
{
    (void)state;
    cJSON *j =
        post_whole("{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"n\": 3}", 400);
    expect_error(j, 400, "invalid_request_error", "\"n\" must be 1");
    cJSON_Delete(j);
    http_answer a = http(port, "POST", PATH, NULL, "{}");
    assert_int_equal(a.status, 401);
    j = cJSON_Parse(a.body);
    expect_error(j, 401, "authentication_error", "Bearer");
    cJSON_Delete(j);
    free(a.body);
    a = http(port, "GET", PATH, KEY, NULL);
    assert_int_equal(a.status, 405);
    free(a.body);
    /* over --max-doc-tokens: refused before it queues */
    char *body = chat_body(400, "\"wim\": {\"mode\": \"wim\"}");
    j = post_whole(body, 413);
    expect_error(j, 413, "invalid_request_error", "more than this server's limit");
    cJSON_Delete(j);
    free(body);
}

/* A reading that fails once its stream began (too many margins for the
 * slot, with no window to read it in): the stream's last data line is the
 * error, and no [DONE]. */
static void test_error_in_the_stream(void **state)
{
    (void)state;
    char *body = chat_body(100, "\"stream\": true, \"wim\": {\"mode\": \"wim\", \"options\": "
                                "{\"segment_tokens\": 64, \"max_margin_tokens\": 400, "
                                "\"window\": \"off\"}}");
    http_answer a = http(port, "POST", PATH, KEY, body);
    assert_int_equal(a.status, 200);
    char *last = strstr(a.body, "data: {\"error\":");
    assert_non_null(last);
    char *end = strstr(last, "\n\n");
    assert_non_null(end);
    *end = '\0';
    cJSON *j = cJSON_Parse(last + 6);
    expect_error(j, 400, "invalid_request_error", "context limit");
    assert_null(strstr(end + 1, "data:"));
    cJSON_Delete(j);
    free(a.body);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaving_a_stream_stops_the_reading),
        cmocka_unit_test(test_leaving_a_whole_reply_stops_the_reading),
        cmocka_unit_test(test_threshold_to_the_token),
        cmocka_unit_test(test_errors_in_openai_shape),
        cmocka_unit_test(test_error_in_the_stream),
    };
    return cmocka_run_group_tests(tests, setup, stop_tiny_server);
}
