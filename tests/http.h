/*
 * http.h - for the server's tests: start wim-server on a free port, make plain
 * HTTP/1.0 requests to it (so every answer ends when the connection closes,
 * streams included), and read a Server-Sent Events stream event by event.
 */
#ifndef WIM_TEST_HTTP_H
#define WIM_TEST_HTTP_H

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A port nothing listens on now. */
static inline int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

static inline int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends a request; the connection, to read the answer from, or -1. */
static inline int http_send(int port, const char *method, const char *path, const char *key,
                            const char *body)
{
    int fd = connect_to(port);
    if (fd < 0) return -1;
    size_t len = body ? strlen(body) : 0;
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.0\r\nHost: localhost\r\n%s%s%s"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     method, path, key ? "Authorization: Bearer " : "", key ? key : "",
                     key ? "\r\n" : "", len);
    bool ok = write(fd, head, (size_t)n) == n;
    for (size_t sent = 0; ok && sent < len;) {
        ssize_t w = write(fd, body + sent, len - sent);
        ok = w > 0;
        sent += ok ? (size_t)w : 0;
    }
    return fd;
}

/* An answer: its status and body (malloc'd, NUL-terminated). */
typedef struct http_answer {
    int status;
    char *body;
} http_answer;

/* Reads everything up to the close. */
static inline http_answer http_read_all(int fd)
{
    size_t cap = 1 << 16, n = 0;
    char *text = malloc(cap + 1);
    ssize_t got;
    while ((got = read(fd, text + n, cap - n)) > 0) {
        n += (size_t)got;
        if (n == cap) text = realloc(text, (cap *= 2) + 1);
    }
    close(fd);
    text[n] = '\0';
    http_answer a = {0, NULL};
    sscanf(text, "HTTP/%*s %d", &a.status);
    char *body = strstr(text, "\r\n\r\n");
    a.body = strdup(body ? body + 4 : "");
    free(text);
    return a;
}

static inline http_answer http(int port, const char *method, const char *path, const char *key,
                               const char *body)
{
    int fd = http_send(port, method, path, key, body);
    if (fd < 0) return (http_answer){-1, strdup("")};
    return http_read_all(fd);
}

/* ---- a stream, event by event ---- */

typedef struct sse {
    int fd;
    char buf[1 << 16];
    size_t len;
    bool headers_done;
    int status;
    int comments; /* ": ..." lines seen: the server's keep-alives */
} sse;

/* The next event's JSON (the caller deletes it); or NULL, with *comment set
 * when a comment came first, else at the end. */
static inline cJSON *sse_step(sse *s, bool *comment)
{
    *comment = false;
    for (;;) {
        if (!s->headers_done) {
            char *end = strstr(s->buf, "\r\n\r\n");
            if (end) {
                sscanf(s->buf, "HTTP/%*s %d", &s->status);
                size_t skip = (size_t)(end + 4 - s->buf);
                memmove(s->buf, end + 4, s->len - skip + 1);
                s->len -= skip;
                s->headers_done = true;
            }
        }
        char *end = s->headers_done ? strstr(s->buf, "\n\n") : NULL;
        if (end && s->buf[0] == ':') {
            size_t skip = (size_t)(end + 2 - s->buf);
            memmove(s->buf, end + 2, s->len - skip + 1);
            s->len -= skip;
            s->comments++;
            *comment = true;
            return NULL;
        }
        if (end && strncmp(s->buf, "data: ", 6) == 0) {
            *end = '\0';
            cJSON *j = cJSON_Parse(s->buf + 6);
            size_t skip = (size_t)(end + 2 - s->buf);
            memmove(s->buf, end + 2, s->len - skip + 1);
            s->len -= skip;
            return j;
        }
        ssize_t got = read(s->fd, s->buf + s->len, sizeof s->buf - 1 - s->len);
        if (got <= 0) return NULL;
        s->len += (size_t)got;
        s->buf[s->len] = '\0';
    }
}

/* The next event's JSON (the caller deletes it), or NULL at the end. */
static inline cJSON *sse_next(sse *s)
{
    bool comment;
    cJSON *j;
    while (!(j = sse_step(s, &comment)) && comment)
        ;
    return j;
}

/* The next event of that name (others skipped), or NULL at the end. */
static inline cJSON *sse_until(sse *s, const char *event)
{
    cJSON *j;
    while ((j = sse_next(s))) {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "event")), event) == 0) return j;
        cJSON_Delete(j);
    }
    return NULL;
}

/* ---- the server ---- */

/* Until process pid listens on port: true; false when it exits first or 30 s pass. */
static inline bool wait_listening(pid_t pid, int port)
{
    for (int i = 0; i < 300; i++) {
        int fd = connect_to(port), st;
        if (fd >= 0) {
            close(fd);
            return true;
        }
        if (waitpid(pid, &st, WNOHANG) == pid) return false; /* it said why on stderr */
        struct timespec t = {0, 100 * 1000 * 1000};
        nanosleep(&t, NULL);
    }
    return false;
}

/* Readings in llm mode of a one-line document: a long one of at least 200
 * steps (on a server slowed by WIM_TEST_SLOW_MS, far past any test) and a short one. */
static const char long_reading[] =
    "{\"query\": \"Who?\", \"mode\": \"llm\", \"options\": {\"max_answer_tokens\": 200, "
    "\"fixed_length\": true}, \"document\": \"Barge 1 brought rye to Orrin.\"}";
static const char short_reading[] =
    "{\"query\": \"Who?\", \"mode\": \"llm\", \"options\": {\"max_answer_tokens\": 2}, "
    "\"document\": \"Barge 2 brought salt to Orrin.\"}";

/* Each started server's stderr, kept in a file until it stops. */
static struct {
    pid_t pid;
    char path[32];
} server_logs[8];

/* The port a server says it listens on in its log at path, or 0 if not yet. */
static inline int logged_port(const char *path)
{
    char text[4096] = "";
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[n] = '\0';
    const char *at = strstr(text, "listening on http://");
    const char *colon = at ? strchr(at + 20, ':') : NULL;
    return colon ? atoi(colon + 1) : 0;
}

/* Starts wim-server with these extra arguments on a port the kernel picks
 * (--port 0), read back from what it prints: a port chosen here and handed
 * over could be taken by another test's server in between, and this test
 * would then talk to that one. Its pid and *port; waits until it listens. */
static inline pid_t start_server(const char *bin, const char *model, int *port,
                                 const char *const *extra)
{
    int slot = 0;
    while (slot < 8 && server_logs[slot].pid > 0)
        slot++;
    if (slot == 8) return -1;
    snprintf(server_logs[slot].path, sizeof server_logs[slot].path, "/tmp/wim-server-XXXXXX");
    int log = mkstemp(server_logs[slot].path);
    if (log < 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        /* dies with the test, so a failed test never leaves it running */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(log, 2);
        const char *argv[32] = {bin, "-m", model, "--port", "0", "-t", "1"};
        int n = 7;
        for (int i = 0; extra && extra[i] && n < 31; i++)
            argv[n++] = extra[i];
        argv[n] = NULL;
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(log);
    server_logs[slot].pid = pid;
    for (int i = 0; i < 300 && (*port = logged_port(server_logs[slot].path)) == 0; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) break;
        struct timespec t = {0, 100 * 1000 * 1000};
        nanosleep(&t, NULL);
    }
    if (*port > 0 && wait_listening(pid, *port)) return pid;
    kill(pid, SIGKILL);
    return -1;
}

/* What server pid wrote to stderr, onto the test's own, and its file removed. */
static inline void server_log_flush(pid_t pid)
{
    for (int i = 0; i < 8; i++) {
        if (server_logs[i].pid != pid) continue;
        FILE *f = fopen(server_logs[i].path, "r");
        char buf[4096];
        size_t n;
        while (f && (n = fread(buf, 1, sizeof buf, f)) > 0)
            fwrite(buf, 1, n, stderr);
        if (f) fclose(f);
        unlink(server_logs[i].path);
        server_logs[i].pid = 0;
    }
}

/* SIGTERM and wait: its exit status, or -1 if it did not exit cleanly within
 * 30 s (then it is killed, so a hung shutdown fails the test, not CI). */
static inline int stop_server(pid_t pid)
{
    int st = 0;
    bool gone = false;
    kill(pid, SIGTERM);
    for (int i = 0; i < 300 && !gone; i++) {
        struct timespec t = {0, 100 * 1000 * 1000};
        if (!(gone = waitpid(pid, &st, WNOHANG) == pid)) nanosleep(&t, NULL);
    }
    if (!gone) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    server_log_flush(pid);
    return gone && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The one wim-server a test program talks to, on the tiny made model: its
 * group setup starts it with serve_tiny(), its teardown is stop_tiny_server. */
static int port;
static pid_t server;

static inline int serve_tiny(const char *const *extra)
{
    server =
        start_server(WIM_BIN_DIR "/wim-server", WIM_TEST_MODELS "/tiny-qwen2.gguf", &port, extra);
    return server > 0 ? 0 : -1;
}

/* serve_tiny with every decode step at least slow_ms long (the test seam
 * WIM_TEST_SLOW_MS): a reading then lasts at least so long on any machine. */
static inline int serve_tiny_slow(const char *const *extra, const char *slow_ms)
{
    setenv("WIM_TEST_SLOW_MS", slow_ms, 1);
    int rc = serve_tiny(extra);
    unsetenv("WIM_TEST_SLOW_MS");
    return rc;
}

static inline int stop_tiny_server(void **state)
{
    (void)state;
    return stop_server(server) == 0 ? 0 : -1;
}

#endif
