/*
 * test_openai.c - a reading's events told as OpenAI chat completion chunks, on
 * made-up event streams: the role first, margins and verdicts as
 * reasoning_content, the answer as content cut at a stop string however the
 * tokens split it, the finish reason, usage, [DONE], errors; and the same
 * reply whatever pieces the bytes arrive in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "openai.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A reading's event stream, as reading_stream gives it. */
static const char reading[] =
    "data: {\"event\":\"request\",\"id\":\"r1\",\"position\":2}\n\n"
    ": keep-alive\n\n"
    "data: {\"event\":\"start\",\"segments\":2,\"doc_tokens\":900,\"mode\":\"wim\","
    "\"max_answer_tokens\":4}\n\n"
    "data: {\"event\":\"progress\",\"segment\":0}\n\n"
    "data: {\"event\":\"margin\",\"segment\":0,\"segments\":2,\"text\":\"M0\"}\n\n"
    "data: {\"event\":\"verdict\",\"segment\":0,\"segments\":2,\"relevant\":true,"
    "\"reason\":\"yes\"}\n\n"
    "data: {\"event\":\"margin\",\"segment\":1,\"segments\":2,\"text\":\"M1\"}\n\n"
    "data: {\"event\":\"verdict\",\"segment\":1,\"segments\":2,\"relevant\":false,"
    "\"reason\":\"\"}\n\n"
    "data: {\"event\":\"token\",\"text\":\"Hel\"}\n\n"
    "data: {\"event\":\"token\",\"text\":\"lo E\"}\n\n"
    "data: {\"event\":\"token\",\"text\":\"ND more\"}\n\n"
    "data: {\"event\":\"answer\",\"text\":\"Hello END more\",\"tokens\":3,\"used\":[0]}\n\n"
    "data: {\"event\":\"done\",\"prefill_tokens\":1000,\"decode_tokens\":20,"
    "\"stopped_early\":false,\"segments_read\":2}\n\n";

static const char *const no_stops[] = {NULL};
static const char *const end_stop[] = {"END"};

/* Everything a streamed reply sends, the events fed `piece` bytes at a time. */
static char *stream_all(const char *events, size_t piece, const char *const *stops, int n_stops,
                        bool usage, bool *wants_stop)
{
    openai_reply *o = openai_reply_new("r1", "m.gguf", true, usage, stops, n_stops);
    assert_non_null(o);
    size_t len = strlen(events), cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    for (size_t at = 0; at < len; at += piece) {
        openai_feed(o, events + at, len - at < piece ? len - at : piece);
        n += openai_take(o, out + n, cap - n - 1);
    }
    out[n] = '\0';
    assert_true(openai_over(o));
    *wants_stop = openai_wants_stop(o);
    openai_reply_free(o);
    return out;
}

/* The data lines of a stream, in order, each parsed ("[DONE]" as NULL). */
typedef struct told {
    char reasoning[1024], content[256], finish[16];
    int chunks, usage_total;
    bool role_first, done_last, keep_alive;
    cJSON *wim;
} told;

static void delta_of(told *t, const cJSON *choice)
{
    const cJSON *d = cJSON_GetObjectItem(choice, "delta");
    const cJSON *r = cJSON_GetObjectItem(d, "reasoning_content");
    const cJSON *c = cJSON_GetObjectItem(d, "content");
    const cJSON *f = cJSON_GetObjectItem(choice, "finish_reason");
    if (t->chunks == 1) t->role_first = cJSON_GetObjectItem(d, "role") != NULL;
    size_t nr = strlen(t->reasoning), nc = strlen(t->content);
    if (r) snprintf(t->reasoning + nr, sizeof t->reasoning - nr, "%s", r->valuestring);
    if (c) snprintf(t->content + nc, sizeof t->content - nc, "%s", c->valuestring);
    if (cJSON_IsString(f)) snprintf(t->finish, sizeof t->finish, "%s", f->valuestring);
}

static told tell(char *out)
{
    told t = {0};
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        t.done_last = strcmp(line, "data: [DONE]") == 0;
        t.keep_alive |= strcmp(line, ": keep-alive") == 0;
        cJSON *j = strncmp(line, "data: {", 7) == 0 ? cJSON_Parse(line + 6) : NULL;
        if (!j) continue;
        t.chunks++;
        assert_string_equal(cJSON_GetObjectItem(j, "id")->valuestring, "chatcmpl-r1");
        assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring, "chat.completion.chunk");
        const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
        if (choice) delta_of(&t, choice);
        const cJSON *usage = cJSON_GetObjectItem(j, "usage");
        if (usage) t.usage_total = cJSON_GetObjectItem(usage, "total_tokens")->valueint;
        if (cJSON_GetObjectItem(j, "wim"))
            t.wim = cJSON_Duplicate(cJSON_GetObjectItem(j, "wim"), 1);
        cJSON_Delete(j);
    }
    return t;
}

static const char margins[] = "Waiting: 2 readings ahead.\n\n"
                              "Reading 900 tokens in 2 segments, writing in the margins.\n\n"
                              "[1/2] M0\n-> kept: yes\n\n[2/2] M1\n-> dropped\n\n";

static void test_chunks_tell_the_reading(void **state)
{
    (void)state;
    bool stop;
    char *out = stream_all(reading, strlen(reading), no_stops, 0, true, &stop);
    told t = tell(out);
    assert_true(t.role_first);
    assert_string_equal(t.reasoning, margins);
    assert_string_equal(t.content, "Hello END more");
    assert_string_equal(t.finish, "stop"); /* 3 tokens of 4 */
    assert_int_equal(t.usage_total, 1020);
    assert_true(t.done_last);
    assert_true(t.keep_alive);
    assert_false(stop);
    assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(t.wim, "used"), 0)->valueint, 0);
    assert_string_equal(cJSON_GetObjectItem(t.wim, "id")->valuestring, "r1");
    cJSON_Delete(t.wim);
    free(out);
}

/* "E" may begin "END", so it is held back until the next token says. */
static void test_stop_string_across_tokens(void **state)
{
    (void)state;
    char *whole = NULL;
    for (size_t piece = 1; piece <= strlen(reading); piece += piece < 40 ? 1 : 97) {
        bool stop;
        char *out = stream_all(reading, piece, end_stop, 1, false, &stop);
        if (!whole) whole = strdup(out);
        assert_string_equal(out, whole); /* however the bytes came */
        told t = tell(out);
        assert_string_equal(t.content, "Hello ");
        assert_string_equal(t.finish, "stop");
        assert_int_equal(t.usage_total, 0); /* not asked for */
        assert_true(stop);
        cJSON_Delete(t.wim);
        free(out);
    }
    free(whole);
}

static void test_length_when_the_answer_ran_out(void **state)
{
    (void)state;
    char events[sizeof reading + 16];
    snprintf(events, sizeof events, "%s", reading);
    strstr(events, "\"tokens\":3")[9] = '4';
    bool stop;
    char *out = stream_all(events, 7, no_stops, 0, false, &stop);
    told t = tell(out);
    assert_string_equal(t.finish, "length");
    cJSON_Delete(t.wim);
    free(out);
}

static void test_whole_reply(void **state)
{
    (void)state;
    openai_reply *o = openai_reply_new("r1", "m.gguf", false, false, end_stop, 1);
    openai_feed(o, reading, strlen(reading));
    assert_true(openai_over(o));
    char buf[16];
    assert_int_equal(openai_take(o, buf, sizeof buf), 0); /* nothing streams */
    unsigned status;
    char *text = openai_result(o, &status);
    assert_int_equal(status, 200);
    cJSON *j = cJSON_Parse(text);
    assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring, "chat.completion");
    const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    const cJSON *m = cJSON_GetObjectItem(choice, "message");
    assert_string_equal(cJSON_GetObjectItem(m, "content")->valuestring, "Hello ");
    assert_string_equal(cJSON_GetObjectItem(m, "reasoning_content")->valuestring, margins);
    assert_string_equal(cJSON_GetObjectItem(choice, "finish_reason")->valuestring, "stop");
    const cJSON *usage = cJSON_GetObjectItem(j, "usage");
    assert_int_equal(cJSON_GetObjectItem(usage, "prompt_tokens")->valueint, 1000);
    assert_int_equal(cJSON_GetObjectItem(usage, "completion_tokens")->valueint, 20);
    cJSON_Delete(j);
    free(text);
    openai_reply_free(o);
}

/* An error event ends the reply: a data line in OpenAI's error shape, or the
 * status of a reply not streamed. */
static void test_errors(void **state)
{
    (void)state;
    static const char failed[] =
        "data: {\"event\":\"request\",\"id\":\"r1\",\"position\":0}\n\n"
        "data: {\"event\":\"error\",\"message\":\"document is too long\"}\n\n";
    bool stop;
    char *out = stream_all(failed, 5, no_stops, 0, true, &stop);
    assert_non_null(strstr(out, "data: {\"error\":{\"code\":400,\"message\":\"document is too "
                                "long\",\"type\":\"invalid_request_error\"}}\n\n"));
    assert_null(strstr(out, "[DONE]"));
    free(out);
    static const char down[] =
        "data: {\"event\":\"error\",\"message\":\"the server is shutting down\"}\n\n";
    openai_reply *o = openai_reply_new("r1", "m.gguf", false, false, NULL, 0);
    openai_feed(o, down, strlen(down));
    unsigned status;
    char *text = openai_result(o, &status);
    assert_int_equal(status, 503);
    assert_non_null(strstr(text, "unavailable_error"));
    free(text);
    openai_reply_free(o);
    text = openai_error_json(401, "no key");
    assert_string_equal(text, "{\"error\":{\"code\":401,\"message\":\"no key\","
                              "\"type\":\"authentication_error\"}}");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunks_tell_the_reading),
        cmocka_unit_test(test_stop_string_across_tokens),
        cmocka_unit_test(test_length_when_the_answer_ran_out),
        cmocka_unit_test(test_whole_reply),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
