/*
 * test_server_faults.c - wim-server against careless and hostile clients: a
 * queued stream held past libmicrohttpd's idle timeout, a client that leaves
 * the queue, shutdown in the middle of a long answer, the key checked before
 * a body is read, no key meaning this machine only, headers sent too slowly,
 * and one address opening too many connections.
 *
 * Readings are made slow with the test seam WIM_TEST_SLOW_MS (a pause before
 * every decode step), so "long" is a lower bound that holds on any machine.
 * Every wait is for an event; the socket timeouts only turn a hang into a
 * failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http.h"

#include <fcntl.h>
#include <ifaddrs.h>
#include <poll.h>

#define KEY "0123456789abcdef"

static int restart(const char *const *extra)
{
    if (server > 0) stop_server(server);
    return serve_tiny(extra);
}

/* A socket whose reads give up after s seconds, so a hang fails instead. */
static int patient(int fd, int s)
{
    struct timeval tv = {s, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* A connection from source address src (any 127.x.y.z) to the server. */
static int connect_from(const char *src, const char *dst)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET}, b = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &a.sin_addr);
    inet_pton(AF_INET, dst, &b.sin_addr);
    b.sin_port = htons((uint16_t)port);
    if (src[0] && bind(fd, (struct sockaddr *)&a, sizeof a) != 0) goto fail;
    if (connect(fd, (struct sockaddr *)&b, sizeof b) != 0) goto fail;
    return patient(fd, 60);
fail:
    close(fd);
    return -1;
}

/* Sends text as it is and reads the answer to the close. */
static http_answer raw(int fd, const char *text)
{
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    return http_read_all(fd);
}

static void expect_status(http_answer a, int status, const char *needle)
{
    if (a.status != status || !strstr(a.body, needle))
        fail_msg("expected %d with '%s', got %d: %s", status, needle, a.status, a.body);
    free(a.body);
}

/* A server reading one at a time at 500 ms a step, and the stream of a
 * reading on it that lasts at least 100 s. */
static sse long_reading_on_a_slow_server(void)
{
    static const char *const extra[] = {"--api-key", KEY, "--parallel", "1", NULL};
    if (server > 0) stop_server(server);
    assert_int_equal(serve_tiny_slow(extra, "500"), 0);
    return (sse){.fd = patient(http_send(port, "POST", "/v1/wim", KEY, long_reading), 60)};
}

/* A count in /health: "queued" or "reading". */
static int health_count(const char *what)
{
    http_answer a = http(port, "GET", "/health", NULL, NULL);
    char key[32];
    int len = snprintf(key, sizeof key, "\"%s\":", what);
    const char *at = strstr(a.body, key);
    int n = at ? atoi(at + len) : -1;
    free(a.body);
    return n;
}

/* ============================================================================
 * Streams that wait, clients that leave, and shutdown
 * ========================================================================= */

static void test_a_queued_stream_outlives_the_idle_timeout(void **state)
{
    (void)state;
    sse a = long_reading_on_a_slow_server();
    cJSON *j = sse_until(&a, "request");
    char stop_a[96];
    snprintf(stop_a, sizeof stop_a, "/v1/wim/%s/stop", cJSON_GetObjectItem(j, "id")->valuestring);
    cJSON_Delete(j);
    j = sse_until(&a, "start"); /* the worker has it */
    assert_non_null(j);
    cJSON_Delete(j);
    sse b = {.fd = patient(http_send(port, "POST", "/v1/wim", KEY, short_reading), 60)};
    j = sse_until(&b, "request");
    assert_int_equal(cJSON_GetObjectItem(j, "position")->valueint, 1);
    char id_b[32];
    snprintf(id_b, sizeof id_b, "%s", cJSON_GetObjectItem(j, "id")->valuestring);
    cJSON_Delete(j);

    /* a client that leaves the queue gives up its place at the next keep-alive */
    int c = http_send(port, "POST", "/v1/wim", KEY, short_reading);
    sse cs = {.fd = patient(c, 60)};
    cJSON_Delete(sse_until(&cs, "request"));
    assert_int_equal(health_count("queued"), 2);
    close(c);

    /* 9 keep-alives of 5 s: 45 s queued, past libmicrohttpd's 30 s idle timeout */
    while (b.comments < 9) {
        bool comment;
        j = sse_step(&b, &comment);
        if (j) fail_msg("a queued reading got an event: %s", cJSON_PrintUnformatted(j));
        if (!comment) fail_msg("the queued stream ended after %d keep-alives", b.comments);
    }
    assert_int_equal(health_count("queued"), 1); /* c is gone */
    char path[96];
    snprintf(path, sizeof path, "/v1/wim/%s", id_b);
    expect_status(http(port, "GET", path, KEY, NULL), 200, "\"state\":\"queued\"");

    /* the long reading stopped, within a step: the queued one is read to the end */
    expect_status(http(port, "POST", stop_a, KEY, ""), 200, "\"stopping\":true");
    j = sse_until(&a, "done");
    assert_non_null(j);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "stopped_early")));
    cJSON_Delete(j);
    j = sse_until(&b, "done");
    assert_non_null(j);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(j, "stopped_early")));
    cJSON_Delete(j);
    close(a.fd);
    close(b.fd);
    /* a reading that finished is not "stopped", whoever closed its stream */
    expect_status(http(port, "GET", path, KEY, NULL), 200, "\"stopped\":false");
}

/* SIGTERM to the server (stop_server allows it 30 s), and the shutdown's error
 * as the last event of stream s. */
static void expect_shutdown_error(sse *s)
{
    assert_int_equal(stop_server(server), 0);
    server = 0;
    cJSON *j = sse_until(s, "error");
    assert_non_null(j);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "message")),
                        "the server is shutting down");
    cJSON_Delete(j);
    close(s->fd);
}

static void test_shutdown_ends_a_long_answer_at_once(void **state)
{
    (void)state;
    sse a = long_reading_on_a_slow_server();
    cJSON *j = sse_until(&a, "token"); /* the answer, 200 steps of 500 ms, has begun */
    assert_non_null(j);
    cJSON_Delete(j);
    expect_shutdown_error(&a); /* finishing the answer would take 100 s */
}

/* ============================================================================
 * Keys and origins
 * ========================================================================= */

/* Headers that announce a body the test never sends: only a server that
 * answers on the headers can answer at all. */
static http_answer announce(const char *key, unsigned long long length)
{
    char head[512];
    snprintf(head, sizeof head,
             "POST /v1/wim HTTP/1.0\r\nHost: localhost\r\n%s%s%sContent-Length: %llu\r\n\r\n",
             key ? "Authorization: Bearer " : "", key ? key : "", key ? "\r\n" : "", length);
    return raw(connect_from("", "127.0.0.1"), head);
}

static void test_the_key_is_checked_before_the_body(void **state)
{
    (void)state;
    setenv("WIM_API_KEY", KEY, 1);
    static const char *const extra[] = {"--max-body", "1000000", NULL};
    assert_int_equal(restart(extra), 0);
    unsetenv("WIM_API_KEY");
    expect_status(announce(NULL, 50000000), 401, "Authorization: Bearer KEY");
    expect_status(announce("0123456789abcdeX", 50000000), 401, "Authorization");
    expect_status(announce("0123456789abcde", 50000000), 401, "Authorization");
    expect_status(announce(KEY "0", 50000000), 401, "Authorization");
    expect_status(announce(KEY, 50000000), 413, "limit of 1000000 bytes");
    expect_status(http(port, "GET", "/v1/models", KEY, NULL), 200, "\"object\":\"model\"");
    /* the scheme in any case, as HTTP has it; one such header, not the first of two */
    static const char lower[] = "GET /v1/models HTTP/1.0\r\nAuthorization: bearer " KEY "\r\n\r\n";
    expect_status(raw(connect_from("", "127.0.0.1"), lower), 200, "\"object\"");
    expect_status(raw(connect_from("", "127.0.0.1"),
                      "GET /v1/models HTTP/1.0\r\nAuthorization: Bearer " KEY
                      "\r\nAuthorization: Bearer wrong\r\n\r\n"),
                  401, "Authorization");

    char path[] = "/tmp/wim-key-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "file-key\n", 9), 9);
    close(fd);
    static const char *file_extra[] = {"--api-key-file", NULL, NULL};
    file_extra[1] = path;
    assert_int_equal(restart(file_extra), 0);
    expect_status(http(port, "GET", "/v1/models", "file-key", NULL), 200, "\"object\"");
    expect_status(http(port, "GET", "/v1/models", KEY, NULL), 401, "Authorization");
    unlink(path);
}

static void test_without_a_key_only_this_machine(void **state)
{
    (void)state;
    static const char *const extra[] = {"--host", "0.0.0.0", NULL};
    assert_int_equal(restart(extra), 0);
    expect_status(
        raw(connect_from("", "127.0.0.1"), "GET /v1/models HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"),
        200, "\"object\"");
    char same[256];
    snprintf(same, sizeof same,
             "GET /v1/models HTTP/1.0\r\nHost: 127.0.0.1:%d\r\nOrigin: http://127.0.0.1:%d\r\n\r\n",
             port, port);
    expect_status(raw(connect_from("", "127.0.0.1"), same), 200, "\"object\"");
    /* DNS rebinding: another site's name, resolved to this machine, in Host and Origin alike */
    char rebound[256];
    snprintf(rebound, sizeof rebound,
             "GET /v1/models HTTP/1.0\r\nHost: attacker.example:%d\r\nOrigin: "
             "http://attacker.example:%d\r\n\r\n",
             port, port);
    expect_status(raw(connect_from("", "127.0.0.1"), rebound), 403, "loopback Host");
    static const char *const hosts[] = {"attacker.example",
                                        "127.0.0.1.attacker.example",
                                        "localhost.attacker.example:80",
                                        "127.0.0.1:80x",
                                        "[::1",
                                        ""};
    for (size_t k = 0; k < sizeof hosts / sizeof *hosts; k++) {
        char req[256];
        snprintf(req, sizeof req, "GET /v1/models HTTP/1.0\r\nHost: %s\r\n\r\n", hosts[k]);
        http_answer a = raw(connect_from("", "127.0.0.1"), req);
        if (a.status != 403 && a.status != 400) fail_msg("Host '%s' got %d", hosts[k], a.status);
        free(a.body);
    }
    static const char *const loopbacks[] = {"localhost", "LocalHost:8080", "127.0.0.2", "[::1]:80"};
    for (size_t k = 0; k < sizeof loopbacks / sizeof *loopbacks; k++) {
        char req[256];
        snprintf(req, sizeof req, "GET /v1/models HTTP/1.0\r\nHost: %s\r\n\r\n", loopbacks[k]);
        expect_status(raw(connect_from("", "127.0.0.1"), req), 200, "\"object\"");
    }
    /* a text/plain POST from another site's page needs no CORS preflight */
    expect_status(raw(connect_from("", "127.0.0.1"),
                      "POST /v1/wim HTTP/1.0\r\nHost: 127.0.0.1\r\nOrigin: http://evil.example\r\n"
                      "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}"),
                  403, "another site's page needs an API key");
    /* from this machine's own non-loopback address, as another machine would be */
    struct ifaddrs *all, *i;
    char addr[INET_ADDRSTRLEN] = "";
    assert_int_equal(getifaddrs(&all), 0);
    for (i = all; i && !addr[0]; i = i->ifa_next)
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET) {
            struct in_addr a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
            if ((ntohl(a.s_addr) >> 24) != 127) inet_ntop(AF_INET, &a, addr, sizeof addr);
        }
    freeifaddrs(all);
    if (!addr[0]) skip(); /* a machine with loopback only cannot play another */
    expect_status(raw(connect_from("", addr), "GET /v1/models HTTP/1.0\r\nHost: x\r\n\r\n"), 403,
                  "only its own machine");
    expect_status(raw(connect_from("", addr), "GET /health HTTP/1.0\r\nHost: x\r\n\r\n"), 200,
                  "\"status\":\"ok\"");
}

/* ============================================================================
 * Documents too long to read
 * ========================================================================= */

/* A body of fmt with a document of n bytes ("word word ...") in its %s. */
static char *with_document(const char *fmt, size_t n)
{
    char *doc = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        doc[i] = "word "[i % 5];
    doc[n] = '\0';
    size_t cap = strlen(fmt) + n + 1;
    char *body = malloc(cap);
    snprintf(body, cap, fmt, doc);
    free(doc);
    return body;
}

/* 3 MB of text cannot fit the tiny model's slot of 4096 tokens whatever they
 * are: it is refused on its length, before a worker spends a minute (60 MB:
 * four) tokenizing it, on both routes; the refusal names bytes, which only
 * that check does. */
static void test_a_document_too_long_is_refused_on_its_bytes(void **state)
{
    (void)state;
    assert_int_equal(restart(NULL), 0);
    static const char *const bodies[][2] = {
        {"/v1/wim", "{\"query\": \"q\", \"document\": \"%s\"}"},
        {"/v1/chat/completions", "{\"messages\": [{\"role\": \"system\", \"content\": \"%s\"}, "
                                 "{\"role\": \"user\", \"content\": \"q\"}]}"}};
    for (int i = 0; i < 2; i++) {
        char *body = with_document(bodies[i][1], 3u << 20);
        expect_status(http(port, "POST", bodies[i][0], NULL, body), 413,
                      "bytes, more than a reading here can hold");
        free(body);
    }
}

/* Cutting a document into segments takes a count of tokens for each candidate
 * segment, and each count waits 500 ms on this server (the slow seam): this
 * one, 400 sentences in segments of 16 tokens, would take minutes to cut up.
 * SIGTERM must end it at the next count: the stream ends with the shutdown's
 * error, and the server exits within stop_server's 30 s. */
/* A reading of 400 sentences on a server whose every count takes 500 ms: cutting
 * it up would take minutes. Returns its stream, past the request event, once a
 * worker has it (no event says so while it is cut up: /health does), and its
 * id in id. */
static sse cutting_up_on_a_slow_server(char *id, size_t idlen)
{
    static const char *const extra[] = {"--parallel", "1", NULL};
    if (server > 0) stop_server(server);
    assert_int_equal(serve_tiny_slow(extra, "500"), 0);
    enum { SENTENCES = 400 };
    char *doc = malloc(SENTENCES * 40), *at = doc;
    for (int i = 0; i < SENTENCES; i++)
        at += sprintf(at, "Barge %d brought rye to Orrin. ", i);
    char *body = malloc(strlen(doc) + 128);
    sprintf(body,
            "{\"query\": \"Who?\", \"options\": {\"segment_tokens\": 16}, \"document\": \"%s\"}",
            doc);
    sse s = {.fd = patient(http_send(port, "POST", "/v1/wim", NULL, body), 60)};
    free(doc);
    free(body);
    cJSON *j = sse_until(&s, "request");
    assert_non_null(j);
    snprintf(id, idlen, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")));
    cJSON_Delete(j);
    for (int i = 0; i < 600 && health_count("reading") != 1; i++)
        poll(NULL, 0, 100);
    assert_int_equal(health_count("reading"), 1);
    return s;
}

static void test_shutdown_ends_the_cutting_up(void **state)
{
    (void)state;
    char id[32];
    sse s = cutting_up_on_a_slow_server(id, sizeof id);
    expect_shutdown_error(&s);
}

/* A stop while the document is cut up ends the reading at the next count:
 * nothing read, no answer, stopped early (before: at the first step, after
 * every count). */
static void test_stop_ends_the_cutting_up(void **state)
{
    (void)state;
    char id[32], path[64];
    sse s = cutting_up_on_a_slow_server(id, sizeof id);
    snprintf(path, sizeof path, "/v1/wim/%s/stop", id);
    http_answer a = http(port, "POST", path, NULL, "");
    assert_int_equal(a.status, 200);
    free(a.body);
    cJSON *j = sse_until(&s, "done");
    assert_non_null(j);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "stopped_early")));
    assert_int_equal(cJSON_GetObjectItem(j, "segments_read")->valueint, 0);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "answer")), "");
    cJSON_Delete(j);
    close(s.fd);
}

/* A client that leaves while its document is cut up frees the slot at the next
 * count, not after minutes of counting for no one. */
static void test_a_client_leaving_ends_the_cutting_up(void **state)
{
    (void)state;
    char id[32];
    sse s = cutting_up_on_a_slow_server(id, sizeof id);
    close(s.fd);
    int n = 1;
    for (int i = 0; i < 60 && n != 0; i++) { /* the cutting alone would take 200 s */
        sleep(1);
        n = health_count("reading");
    }
    assert_int_equal(n, 0);
}

/* ============================================================================
 * Slow and many connections
 * ========================================================================= */

static void test_headers_have_a_deadline(void **state)
{
    (void)state;
    assert_int_equal(restart(NULL), 0);
    int fd = connect_from("", "127.0.0.1");
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "GET /health HTTP/1.0\r\n", 22), 22);
    /* a header byte a second keeps libmicrohttpd's idle timeout from firing */
    bool closed = false;
    for (int i = 0; i < 60 && !closed; i++) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 1000) > 0) {
            char c;
            closed = read(fd, &c, 1) <= 0;
        }
        if (!closed) closed = write(fd, "X", 1) != 1;
    }
    assert_true(closed);
    close(fd);
}

static void test_one_address_cannot_take_every_connection(void **state)
{
    (void)state;
    assert_int_equal(restart(NULL), 0);
    signal(SIGPIPE, SIG_IGN);
    enum { MANY = 70, LIMIT = 64 };
    int fds[MANY];
    for (int i = 0; i < MANY; i++)
        fds[i] = connect_from("127.0.0.1", "127.0.0.1");
    /* past the limit a connection is closed at once, with nothing said */
    for (int i = LIMIT; i < MANY; i++) {
        char c;
        assert_true(fds[i] < 0 || read(fds[i], &c, 1) == 0);
    }
    expect_status(raw(connect_from("127.0.0.2", "127.0.0.1"),
                      "GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n"),
                  200, "\"status\":\"ok\"");
    for (int i = 0; i < MANY; i++)
        if (fds[i] >= 0) close(fds[i]);
}

static int stop_last(void **state)
{
    (void)state;
    return server > 0 && stop_server(server) != 0 ? -1 : 0;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_queued_stream_outlives_the_idle_timeout),
        cmocka_unit_test(test_shutdown_ends_a_long_answer_at_once),
        cmocka_unit_test(test_the_key_is_checked_before_the_body),
        cmocka_unit_test(test_without_a_key_only_this_machine),
        cmocka_unit_test(test_a_document_too_long_is_refused_on_its_bytes),
        cmocka_unit_test(test_shutdown_ends_the_cutting_up),
        cmocka_unit_test(test_stop_ends_the_cutting_up),
        cmocka_unit_test(test_a_client_leaving_ends_the_cutting_up),
        cmocka_unit_test(test_headers_have_a_deadline),
        cmocka_unit_test(test_one_address_cannot_take_every_connection),
    };
    return cmocka_run_group_tests(tests, NULL, stop_last);
}
