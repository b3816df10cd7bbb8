/*
 * test_server.c - wim-server's API on a tiny made model: the event stream's
 * order, stopping by request and by leaving, the person's word on a margin,
 * the page's files, and every error case with its status and JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http.h"
#include "pdf.h"

#include <unistd.h>

#define KEY "secret"

static int setup(void **state)
{
    (void)state;
    static const char *const extra[] = {
        "--api-key",        KEY,    "--parallel", "1",      "--queue", "1",
        "--max-doc-tokens", "6000", "--max-body", "300000", NULL};
    /* every step at least 20 ms (a test seam): a long reading lasts seconds on any
     * machine, so a stop sent at its first margin always finds it still reading */
    return serve_tiny_slow(extra, "20");
}

/* A document of n made-up sentences, as a JSON body with a question and
 * options (a JSON object's inside, without braces). */
static char *body_of(int sentences, const char *options)
{
    size_t cap = (size_t)sentences * 80 + 512;
    char *b = malloc(cap);
    int n = snprintf(b, cap,
                     "{\"query\": \"Who opened the pier?\", \"options\": {%s}, "
                     "\"document\": \"",
                     options);
    for (int i = 0; i < sentences; i++)
        n += snprintf(b + n, cap - (size_t)n, "Barge %d brought %d sacks of rye to Orrin. ", i,
                      i * 7 % 50);
    snprintf(b + n, cap - (size_t)n, "\"}");
    return b;
}

static sse open_stream(const char *body)
{
    sse s = {.fd = http_send(port, "POST", "/v1/wim", KEY, body)};
    assert_true(s.fd >= 0);
    return s;
}

static const char *event_name(const cJSON *j)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(j, "event"));
}

static int number(const cJSON *j, const char *name)
{
    assert_non_null(j);
    assert_non_null(cJSON_GetObjectItem(j, name));
    return cJSON_GetObjectItem(j, name)->valueint;
}

/* ============================================================================
 * The stream
 * ========================================================================= */

static void test_events_come_in_order(void **state)
{
    (void)state;
    char *body = body_of(12, "\"segment_tokens\": 40, \"max_margin_tokens\": 6, "
                             "\"max_answer_tokens\": 6");
    sse s = open_stream(body);
    cJSON *j = sse_next(&s);
    assert_int_equal(s.status, 200);
    assert_string_equal(event_name(j), "request");
    char path[64];
    snprintf(path, sizeof path, "/v1/wim/%s", cJSON_GetObjectItem(j, "id")->valuestring);
    cJSON_Delete(j);
    int segments = -1, margins = 0, verdicts = 0, tokens = 0, answers = 0, last_seg = -1;
    bool done = false;
    while ((j = sse_next(&s))) {
        const char *ev = event_name(j);
        assert_false(done); /* nothing after done */
        if (strcmp(ev, "start") == 0) segments = number(j, "segments");
        if (strcmp(ev, "request") != 0) assert_true(segments > 0); /* start came first */
        if (strcmp(ev, "progress") == 0) {
            assert_true(number(j, "segment") >= last_seg);
            last_seg = number(j, "segment");
        }
        margins += strcmp(ev, "margin") == 0;
        if (strcmp(ev, "verdict") == 0) assert_true(++verdicts <= margins);
        if (strcmp(ev, "token") == 0) assert_int_equal(answers, 0), tokens++;
        answers += strcmp(ev, "answer") == 0;
        done = strcmp(ev, "done") == 0;
        cJSON_Delete(j);
        if (!done) continue;
        /* told done, the state says so at once; a reading that finished was not stopped */
        http_answer a = http(port, "GET", path, KEY, NULL);
        assert_non_null(strstr(a.body, "\"state\":\"done\""));
        assert_non_null(strstr(a.body, "\"stopped\":false"));
        free(a.body);
    }
    close(s.fd);
    assert_true(done);
    assert_true(segments >= 2);
    assert_int_equal(margins, segments);
    assert_int_equal(verdicts, segments);
    assert_int_equal(answers, 1);
    assert_true(tokens >= 1);
    free(body);
}

/* A long reading: every margin written to its limit. */
static char *long_body(void)
{
    return body_of(150, "\"segment_tokens\": 256, \"max_margin_tokens\": 100, "
                        "\"max_answer_tokens\": 4, \"fixed_length\": true");
}

/* Its id, from the stream's first event. */
static void read_id(sse *s, char *id, size_t cap)
{
    cJSON *j = sse_until(s, "request");
    assert_non_null(j);
    snprintf(id, cap, "%s", cJSON_GetObjectItem(j, "id")->valuestring);
    cJSON_Delete(j);
}

static void test_stop_answers_from_margins_so_far(void **state)
{
    (void)state;
    char *body = long_body(), id[32], path[96];
    sse s = open_stream(body);
    read_id(&s, id, sizeof id);
    cJSON_Delete(sse_until(&s, "margin"));
    snprintf(path, sizeof path, "/v1/wim/%s/stop", id);
    http_answer a = http(port, "POST", path, KEY, "");
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "\"stopping\":true"));
    free(a.body);
    cJSON *answer = sse_until(&s, "answer");
    assert_non_null(answer); /* still answered */
    cJSON *done = sse_until(&s, "done");
    assert_non_null(done);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(done, "stopped_early")));
    assert_true(number(done, "segments_read") < number(done, "segments"));
    cJSON_Delete(answer);
    cJSON_Delete(done);
    close(s.fd);
    a = http(port, "POST", path, KEY, ""); /* finished now */
    assert_int_equal(a.status, 404);
    free(a.body);
    snprintf(path, sizeof path, "/v1/wim/%s", id); /* done is said once the state is done */
    a = http(port, "GET", path, KEY, NULL);
    assert_non_null(strstr(a.body, "\"state\":\"done\""));
    assert_non_null(strstr(a.body, "\"stopped\":true"));
    free(a.body);
    /* "%00" is no end of the id: r1%00 is not r1 */
    snprintf(path, sizeof path, "/v1/wim/%s%%00", id);
    a = http(port, "GET", path, KEY, NULL);
    assert_int_equal(a.status, 404);
    free(a.body);
    free(body);
}

static void test_leaving_stops_the_reading(void **state)
{
    (void)state;
    char *body = long_body(), id[32], path[64];
    sse s = open_stream(body);
    read_id(&s, id, sizeof id);
    cJSON_Delete(sse_until(&s, "margin"));
    close(s.fd);
    snprintf(path, sizeof path, "/v1/wim/%s", id);
    cJSON *st = NULL;
    for (int i = 0; i < 600; i++) { /* until it is done: the leaving is noticed at a write */
        http_answer a = http(port, "GET", path, KEY, NULL);
        assert_int_equal(a.status, 200);
        cJSON_Delete(st);
        st = cJSON_Parse(a.body);
        free(a.body);
        if (strcmp(cJSON_GetObjectItem(st, "state")->valuestring, "done") == 0) break;
        usleep(100 * 1000);
    }
    assert_string_equal(cJSON_GetObjectItem(st, "state")->valuestring, "done");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(st, "stopped")));
    assert_true(cJSON_IsString(cJSON_GetObjectItem(st, "answer")));
    cJSON_Delete(st);
    free(body);
}

/* ============================================================================
 * The person's word
 * ========================================================================= */

static void test_a_kept_margin_feeds_the_answer(void **state)
{
    (void)state;
    /* the tiny model's verdicts never parse, so no margin is relevant by itself */
    char *body = body_of(12, "\"segment_tokens\": 40, \"max_margin_tokens\": 6, "
                             "\"max_answer_tokens\": 4"),
         id[32], path[96];
    sse s = open_stream(body);
    read_id(&s, id, sizeof id);
    snprintf(path, sizeof path, "/v1/wim/%s/margins/1", id);
    http_answer a = http(port, "POST", path, KEY, "{\"keep\": true}");
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "\"keep\":true"));
    free(a.body);
    a = http(port, "POST", path, KEY, "{\"keep\": \"yes\"}");
    assert_int_equal(a.status, 400);
    free(a.body);
    cJSON *answer = sse_until(&s, "answer");
    assert_non_null(answer);
    cJSON *used = cJSON_GetObjectItem(answer, "used");
    assert_int_equal(cJSON_GetArraySize(used), 1);
    assert_int_equal(cJSON_GetArrayItem(used, 0)->valueint, 1);
    cJSON_Delete(answer);
    cJSON_Delete(sse_until(&s, "done"));
    close(s.fd);
    a = http(port, "POST", path, KEY, "{\"keep\": false}");
    assert_int_equal(a.status, 404); /* finished */
    free(a.body);
    free(body);
}

/* ============================================================================
 * Errors
 * ========================================================================= */

static void expect(const char *method, const char *path, const char *key, const char *body,
                   int status, const char *needle)
{
    http_answer a = http(port, method, path, key, body);
    if (a.status != status || !strstr(a.body, needle))
        fail_msg("%s %s %.60s: %d %s, wanted %d and '%s'", method, path, body ? body : "", a.status,
                 a.body, status, needle);
    cJSON *j = cJSON_Parse(a.body);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code")->valueint,
                     status);
    cJSON_Delete(j);
    free(a.body);
}

static void test_bad_requests(void **state)
{
    (void)state;
    const char *p = "/v1/wim";
    expect("POST", p, KEY, "nope", 400, "not JSON");
    expect("POST", p, KEY, "[1]", 400, "must be a JSON object");
    expect("POST", p, KEY, "{\"query\": \"q\"}", 400, "missing field \\\"document\\\"");
    expect("POST", p, KEY, "{\"document\": 5, \"query\": \"q\"}", 400, "must be a string");
    expect("POST", p, KEY, "{\"document\": \"  \", \"query\": \"q\"}", 400, "document is empty");
    expect("POST", p, KEY, "{\"document\": \"a\\u0000b\", \"query\": \"q\"}", 400, "NUL character");
    expect("POST", p, KEY, "{\"document\": \"caf\xe9\", \"query\": \"q\"}", 400, "not valid UTF-8");
    expect("POST", p, KEY, "{\"document\": \"x\", \"query\": \"\"}", 400, "query is empty");
    expect("POST", p, KEY, "{\"document\": \"x\", \"query\": \"q\", \"mode\": \"fast\"}", 400,
           "unknown value 'fast'");
    expect("POST", p, KEY, "{\"document\": \"x\", \"query\": \"q\", \"mode\": 3}", 400,
           "\\\"mode\\\" must be a string");
    expect("POST", p, KEY, "{\"document\": \"x\", \"query\": \"q\", \"options\": []}", 400,
           "must be an object");
    expect("POST", p, KEY,
           "{\"document\": \"x\", \"query\": \"q\", \"options\": {\"segment_tokens\": \"ten\"}}",
           400, "options.segment_tokens: needs a whole number");
    expect("POST", p, KEY,
           "{\"document\": \"x\", \"query\": \"q\", \"options\": {\"frobnicate\": 1}}", 400,
           "options.frobnicate: no such option");
    expect("POST", p, KEY, "{\"document\": \"x\", \"query\": \"q\", \"options\": {\"threads\": 1}}",
           400, "set by the server");
    expect("POST", p, KEY, "{\"document\": \"x\", \"query\": \"q\", \"options\": {\"top_p\": 2}}",
           400, "top-p must be in (0, 1]");
    expect("POST", p, NULL, "{}", 401, "Authorization");
    expect("POST", p, "wrong", "{}", 401, "Authorization");
    expect("GET", "/v1/models", NULL, NULL, 401, "Authorization");
    expect("GET", p, KEY, NULL, 405, "GET is not allowed");
    expect("GET", "/v1/nothing", KEY, NULL, 404, "no such endpoint");
    expect("GET", "/v1/wim/r999", KEY, NULL, 404, "no request 'r999'");
    expect("POST", "/v1/wim/r1/margins/x", KEY, "{\"keep\": true}", 400, "not a segment");
}

/* ============================================================================
 * Documents as files: "document_base64"
 * ========================================================================= */

static const char *const three_pages[] = {"Alpha page one.", "Bravo page two.",
                                          "Charlie page three."};

/* A body whose document is pdf[0..len) in base64. */
static char *pdf_body(const char *pdf, size_t len)
{
    char *b64 = pdf_base64(pdf, len);
    size_t cap = strlen(b64) + 256;
    char *b = malloc(cap);
    snprintf(b, cap,
             "{\"query\": \"Who came third?\", \"options\": {\"segment_tokens\": 8, "
             "\"max_margin_tokens\": 2, \"max_answer_tokens\": 2}, \"document_base64\": \"%s\"}",
             b64);
    free(b64);
    return b;
}

/* A 3-page PDF, one short page a segment: read to the end, each segment event
 * naming its own page. */
static void test_a_pdf_sent_in_base64_is_read_with_its_pages(void **state)
{
    (void)state;
    size_t len;
    char *pdf = pdf_make(three_pages, 3, &len), *body = pdf_body(pdf, len);
    sse s = open_stream(body);
    int segments = 0;
    cJSON *j;
    while ((j = sse_next(&s)) && strcmp(event_name(j), "done") != 0) {
        assert_int_equal(s.status, 200);
        if (strcmp(event_name(j), "segment") == 0) {
            const cJSON *pages = cJSON_GetObjectItem(j, "pages");
            assert_int_equal(cJSON_GetArraySize(pages), 2);
            assert_int_equal(cJSON_GetArrayItem(pages, 0)->valueint, segments + 1);
            assert_int_equal(cJSON_GetArrayItem(pages, 1)->valueint, segments + 1);
            segments++;
        }
        cJSON_Delete(j);
    }
    assert_non_null(j); /* the stream reached done */
    cJSON_Delete(j);
    close(s.fd);
    assert_int_equal(segments, 3);
    free(body);
    free(pdf);
}

static void test_a_document_file_that_cannot_be_read_is_refused(void **state)
{
    (void)state;
    const char *p = "/v1/wim";
    expect("POST", p, KEY, "{\"document_base64\": \"QUJD!\", \"query\": \"q\"}", 400,
           "\\\"document_base64\\\" is not base64");
    expect("POST", p, KEY, "{\"document_base64\": 7, \"query\": \"q\"}", 400, "must be a string");
    expect("POST", p, KEY, "{\"document\": \"x\", \"document_base64\": \"eA==\", \"query\": \"q\"}",
           400, "not both");
    expect("POST", p, KEY, "{\"document_base64\": \"Y2Fm6Q==\", \"query\": \"q\"}", 400,
           "not valid UTF-8"); /* "caf\xe9" */
    size_t len = 0;
    char *pdf = pdf_make_encrypted(three_pages, 3, &len);
    assert_non_null(pdf);
    char *body = pdf_body(pdf, len);
    expect("POST", p, KEY, body, 400, "(PDF): the PDF is encrypted");
    free(body);
    body = pdf_body(pdf, 300); /* a PDF cut short */
    expect("POST", p, KEY, body, 400, "(PDF): not a readable PDF");
    free(body);
    free(pdf);
}

static void test_limits(void **state)
{
    (void)state;
    char *big = body_of(8000, ""); /* about 370 kB: over --max-body */
    expect("POST", "/v1/wim", KEY, big, 413, "over this server's limit of 300000 bytes");
    free(big);
    char *long_doc = body_of(1000, ""); /* about 45 kB and 13k tokens: over --max-doc-tokens */
    expect("POST", "/v1/wim", KEY, long_doc, 413, "more than this server's limit of 6000");
    free(long_doc);
    /* near INT_MAX a limit once wrapped the sizing and took other readings' cells */
    char *huge = body_of(3, "\"max_answer_tokens\": 2147483647");
    expect("POST", "/v1/wim", KEY, huge, 400, "options.max_answer_tokens: needs a whole number");
    free(huge);
    char *past = body_of(3, "\"max_answer_tokens\": 16777216");
    sse s = open_stream(past);
    cJSON *j = sse_until(&s, "error");
    assert_non_null(j);
    const char *message = cJSON_GetStringValue(cJSON_GetObjectItem(j, "message"));
    if (!strstr(message, "a pool slot's share")) fail_msg("%s", message);
    cJSON_Delete(j);
    close(s.fd);
    free(past);
}

static void test_a_full_queue_says_so(void **state)
{
    (void)state;
    char *body = long_body(), id_a[32], id_b[32], path[96];
    sse a = open_stream(body); /* read at once: --parallel 1 */
    read_id(&a, id_a, sizeof id_a);
    cJSON_Delete(sse_until(&a, "start")); /* a worker has it now */
    sse b = open_stream(body);            /* waits: --queue 1 */
    cJSON *j = sse_next(&b);
    assert_int_equal(number(j, "position"), 1);
    snprintf(id_b, sizeof id_b, "%s", cJSON_GetObjectItem(j, "id")->valuestring);
    cJSON_Delete(j);
    expect("POST", "/v1/wim", KEY, body, 503, "the queue is full");
    http_answer st = http(port, "GET", "/health", NULL, NULL); /* no key needed */
    assert_int_equal(st.status, 200);
    assert_non_null(strstr(st.body, "\"reading\":1,\"queued\":1"));
    free(st.body);
    /* a stopped reading that has not begun leaves the queue at once */
    snprintf(path, sizeof path, "/v1/wim/%s/stop", id_b);
    free(http(port, "POST", path, KEY, "").body);
    j = sse_until(&b, "error");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "message")),
                        "stopped before its reading began");
    cJSON_Delete(j);
    assert_null(sse_next(&b));
    st = http(port, "GET", "/health", NULL, NULL);
    assert_non_null(strstr(st.body, "\"reading\":1,\"queued\":0"));
    free(st.body);
    snprintf(path, sizeof path, "/v1/wim/%s", id_b);
    st = http(port, "GET", path, KEY, NULL);
    assert_non_null(strstr(st.body, "\"state\":\"done\""));
    assert_non_null(strstr(st.body, "\"stopped\":true"));
    free(st.body);
    snprintf(path, sizeof path, "/v1/wim/%s/stop", id_a);
    free(http(port, "POST", path, KEY, "").body);
    cJSON_Delete(sse_until(&a, "done"));
    close(a.fd);
    close(b.fd);
    free(body);
}

static void test_model_and_page(void **state)
{
    (void)state;
    http_answer a = http(port, "GET", "/v1/models", KEY, NULL);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "\"id\":\"tiny-qwen2.gguf\""));
    assert_non_null(strstr(a.body, "\"architecture\":\"qwen2\""));
    free(a.body);
    a = http(port, "GET", "/", NULL, NULL);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "<html"));
    free(a.body);
    a = http(port, "GET", "/app.js", NULL, NULL);
    assert_int_equal(a.status, 200);
    free(a.body);
    a = http(port, "GET", "/../CMakeLists.txt", NULL, NULL);
    assert_int_equal(a.status, 404);
    free(a.body);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_come_in_order),
        cmocka_unit_test(test_stop_answers_from_margins_so_far),
        cmocka_unit_test(test_leaving_stops_the_reading),
        cmocka_unit_test(test_a_kept_margin_feeds_the_answer),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_a_pdf_sent_in_base64_is_read_with_its_pages),
        cmocka_unit_test(test_a_document_file_that_cannot_be_read_is_refused),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_a_full_queue_says_so),
        cmocka_unit_test(test_model_and_page),
    };
    return cmocka_run_group_tests(tests, setup, stop_tiny_server);
}
