/*
 * test_deploy.c - two wim-server replicas behind nginx, configured by the
 * example docs/deploy/nginx.conf itself (its addresses replaced by free
 * ports): new readings are spread over both, a reading's own requests (its
 * state, its stop) reach the replica that has it, a client that leaves nginx
 * stops its reading on the replica, and a dead replica is passed over.
 *
 * nginx runs as this user in a temporary prefix, one process, in the
 * foreground. Each replica reads one reading at a time, and every decode step
 * takes at least 200 ms (the test seam WIM_TEST_SLOW_MS): a long reading lasts
 * at least 40 s, so the readings queued behind it keep their connections open
 * while the next ones are sent, and least_conn's choice is certain.
 */
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http.h"
#include "tool.h"

#include <ftw.h>
#include <sys/stat.h>

enum { READINGS = 10 };

static char prefix[64];    /* nginx's temporary prefix */
static int port_a, port_b; /* the replicas'; nginx's is http.h's port */
static pid_t replica_a, replica_b, nginx;

/* ============================================================================
 * nginx, from the example configuration
 * ========================================================================= */

/* nginx's path, or NULL: Debian puts it in /usr/sbin, outside most users' PATH. */
static const char *find_nginx(void)
{
    static char path[4096];
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s:/usr/sbin:/usr/local/sbin",
             getenv("PATH") ? getenv("PATH") : "");
    for (char *save, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(path, sizeof path, "%s/nginx", d);
        if (access(path, X_OK) == 0) return path;
    }
    return NULL;
}

/* text (freed) with every `from` replaced by `to`, and how many there were. */
static char *replace_all(char *text, const char *from, const char *to, size_t *count)
{
    size_t lf = strlen(from), lt = strlen(to), n = 0;
    for (const char *p = text; (p = strstr(p, from)); p += lf)
        n++;
    char *out = malloc(strlen(text) + n * lt + 1), *o = out;
    const char *p = text, *hit;
    while ((hit = strstr(p, from))) {
        memcpy(o, p, (size_t)(hit - p));
        o += hit - p;
        memcpy(o, to, lt);
        o += lt;
        p = hit + lf;
    }
    memcpy(o, p, strlen(p) + 1);
    free(text);
    *count = n;
    return out;
}

static bool write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    bool ok = f && fputs(text, f) >= 0;
    return f && fclose(f) == 0 && ok;
}

/* prefix/wim.conf: the example on this test's ports; prefix/nginx.conf: the
 * rest of a configuration, all of it inside prefix. */
static bool write_confs(void)
{
    char *site = tool_read_file(WIM_SOURCE_DIR "/docs/deploy/nginx.conf");
    if (!site) return false;
    const struct {
        const char *from;
        int port;
    } addresses[] = {
        {"127.0.0.1:8080", port}, {"127.0.0.1:8081", port_a}, {"127.0.0.1:8082", port_b}};
    for (size_t i = 0; i < 3; i++) {
        char to[32];
        size_t count;
        snprintf(to, sizeof to, "127.0.0.1:%d", addresses[i].port);
        site = replace_all(site, addresses[i].from, to, &count);
        if (!count) { /* a changed example must fail here, not test something else */
            fprintf(stderr, "test_deploy: docs/deploy/nginx.conf no longer has %s\n",
                    addresses[i].from);
            free(site);
            return false;
        }
    }
    char path[128];
    snprintf(path, sizeof path, "%s/wim.conf", prefix);
    bool ok = write_file(path, site);
    free(site);
    /* relative paths are inside the prefix; as root (CI in a container) nginx
     * would serve as nobody, who cannot enter it, so it stays root there */
    static const char main_conf[] =
        "daemon off;\nmaster_process off;\npid nginx.pid;\nerror_log stderr;\n"
        "events { worker_connections 256; }\n"
        "http {\n  access_log off;\n  client_body_temp_path body;\n  proxy_temp_path proxy;\n"
        "  fastcgi_temp_path fastcgi;\n  uwsgi_temp_path uwsgi;\n  scgi_temp_path scgi;\n"
        "  include wim.conf;\n}\n";
    char text[sizeof main_conf + 16];
    snprintf(text, sizeof text, "%s%s", geteuid() == 0 ? "user root;\n" : "", main_conf);
    snprintf(path, sizeof path, "%s/nginx.conf", prefix);
    return ok && write_file(path, text);
}

static pid_t start_nginx(const char *bin)
{
    char conf[128];
    snprintf(conf, sizeof conf, "%s/nginx.conf", prefix);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* one process (master_process off): it dies too */
        execl(bin, "nginx", "-p", prefix, "-c", conf, "-e", "stderr", (char *)NULL);
        _exit(127);
    }
    if (wait_listening(pid, port)) return pid;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* ============================================================================
 * Fixtures: the replicas a and b, nginx in front
 * ========================================================================= */

/* Replica name on replica_port: one reading at a time, each step >= 200 ms. */
static pid_t start_replica(const char *name, int *replica_port)
{
    const char *const extra[] = {"--replica", name, "--parallel", "1", "--queue", "16", NULL};
    setenv("WIM_TEST_SLOW_MS", "200", 1);
    pid_t pid = start_server(WIM_BIN_DIR "/wim-server", WIM_TEST_MODELS "/tiny-qwen2.gguf",
                             replica_port, extra);
    unsetenv("WIM_TEST_SLOW_MS");
    return pid;
}

static int setup(void **state)
{
    (void)state;
    const char *bin = find_nginx();
    if (!bin) {
        fprintf(stderr, "test_deploy: nginx is not installed (scripts/setup.sh installs it: "
                        "apt-get install nginx)\n");
        return -1;
    }
    snprintf(prefix, sizeof prefix, "/tmp/wim-nginx-XXXXXX");
    if (!mkdtemp(prefix)) return -1;
    port = free_port();
    replica_a = start_replica("a", &port_a);
    replica_b = start_replica("b", &port_b);
    if (replica_a < 0 || replica_b < 0 || !write_confs()) return -1;
    nginx = start_nginx(bin);
    if (nginx < 0) fprintf(stderr, "test_deploy: nginx did not start (%s)\n", bin);
    return nginx > 0 ? 0 : -1;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(path);
}

static int teardown(void **state)
{
    (void)state;
    int ok = 0;
    if (nginx > 0) {
        kill(nginx, SIGTERM);
        waitpid(nginx, NULL, 0);
    }
    if (replica_a > 0 && stop_server(replica_a) != 0) ok = -1;
    if (replica_b > 0 && stop_server(replica_b) != 0) ok = -1;
    nftw(prefix, remove_one, 8, FTW_DEPTH | FTW_PHYS);
    return ok;
}

/* ============================================================================
 * Helpers
 * ========================================================================= */

/* A socket whose reads give up after 60 s, so a hang fails instead. */
static int patient(int fd)
{
    assert_true(fd >= 0);
    struct timeval tv = {60, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static sse post_reading(const char *body)
{
    return (sse){.fd = patient(http_send(port, "POST", "/v1/wim", NULL, body))};
}

/* The next event of that name, which must come. */
static cJSON *expect_event(sse *s, const char *event)
{
    cJSON *j = sse_until(s, event);
    if (!j) fail_msg("the stream ended without a '%s' event", event);
    return j;
}

static void read_id(sse *s, char *id, size_t cap)
{
    cJSON *j = expect_event(s, "request");
    snprintf(id, cap, "%s", cJSON_GetObjectItem(j, "id")->valuestring);
    cJSON_Delete(j);
}

/* GET /v1/wim/{id} through nginx: its state, which must be this reading's. */
static cJSON *state_of(const char *id)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/wim/%s", id);
    http_answer a = http(port, "GET", path, NULL, NULL);
    if (a.status != 200) fail_msg("GET %s through nginx: %d %s", path, a.status, a.body);
    cJSON *j = cJSON_Parse(a.body);
    free(a.body);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "id")->valuestring, id);
    return j;
}

/* Its state once it is done; polled, as a reading's end is noticed at its next write. */
static cJSON *finished(const char *id)
{
    for (int i = 0; i < 600; i++) { /* at most 60 s */
        cJSON *j = state_of(id);
        if (strcmp(cJSON_GetObjectItem(j, "state")->valuestring, "done") == 0) return j;
        cJSON_Delete(j);
        struct timespec t = {0, 100 * 1000 * 1000};
        nanosleep(&t, NULL);
    }
    fail_msg("reading %s never finished", id);
    return NULL;
}

static void expect_replica_name(int replica_port, const char *name)
{
    char want[32];
    snprintf(want, sizeof want, "\"replica\":\"%s\"", name);
    http_answer a = http(replica_port, "GET", "/health", NULL, NULL);
    assert_int_equal(a.status, 200);
    if (!strstr(a.body, want)) fail_msg("replica %s's /health: %s", name, a.body);
    free(a.body);
}

/* ============================================================================
 * Tests
 * ========================================================================= */

static void test_readings_are_spread_and_their_requests_routed(void **state)
{
    (void)state;
    expect_replica_name(port_a, "a");
    expect_replica_name(port_b, "b");
    /* two long readings, one on each replica; then short ones, queued behind
     * them, so every stream stays open and least_conn alternates */
    sse s[READINGS];
    char id[READINGS][48];
    int on_a = 0;
    for (int i = 0; i < READINGS; i++) {
        s[i] = post_reading(i < 2 ? long_reading : short_reading);
        read_id(&s[i], id[i], sizeof id[i]);
        on_a += strncmp(id[i], "a-r", 3) == 0;
        if (strncmp(id[i], "a-r", 3) != 0 && strncmp(id[i], "b-r", 3) != 0)
            fail_msg("id '%s' names neither replica", id[i]);
    }
    assert_int_equal(on_a, READINGS / 2);
    assert_int_not_equal(id[0][0], id[1][0]);
    for (int i = 0; i < READINGS; i++) /* each reading's state, from its own replica */
        cJSON_Delete(state_of(id[i]));

    /* the first one's stop, sent to nginx, stops it on its replica (in its
     * answer, which then ends where it is) */
    cJSON_Delete(expect_event(&s[0], "token"));
    char path[96];
    snprintf(path, sizeof path, "/v1/wim/%s/stop", id[0]);
    http_answer a = http(port, "POST", path, NULL, "");
    if (a.status != 200 || !strstr(a.body, "\"stopping\":true"))
        fail_msg("POST %s through nginx: %d %s", path, a.status, a.body);
    free(a.body);
    cJSON *done = expect_event(&s[0], "done");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(done, "stopped_early")));
    cJSON_Delete(done);
    close(s[0].fd);

    /* the second one's client leaves nginx: nginx closes its connection to the
     * replica, and the replica stops the reading */
    cJSON_Delete(expect_event(&s[1], "token"));
    close(s[1].fd);
    cJSON *st = finished(id[1]);
    if (!cJSON_IsTrue(cJSON_GetObjectItem(st, "stopped")))
        fail_msg("reading %s, left, was not stopped: %s", id[1], cJSON_PrintUnformatted(st));
    cJSON_Delete(st);

    /* the queued ones are read to the end on their replicas */
    for (int i = 2; i < READINGS; i++) {
        done = expect_event(&s[i], "done");
        assert_false(cJSON_IsTrue(cJSON_GetObjectItem(done, "stopped_early")));
        cJSON_Delete(done);
        close(s[i].fd);
    }
}

/* OpenAI's endpoint through nginx: answered by a replica, whose reading its
 * id then reaches through nginx too. */
static void test_chat_completions_through_nginx(void **state)
{
    (void)state;
    http_answer a = http(port, "POST", "/v1/chat/completions", NULL,
                         "{\"model\": \"any\", \"max_tokens\": 3, \"messages\": "
                         "[{\"role\": \"user\", \"content\": \"Hello\"}]}");
    if (a.status != 200) fail_msg("%d: %s", a.status, a.body);
    cJSON *j = cJSON_Parse(a.body);
    assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring, "chat.completion");
    const char *id = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "wim"), "id")->valuestring;
    assert_true(strncmp(id, "a-r", 3) == 0 || strncmp(id, "b-r", 3) == 0);
    char path[96];
    snprintf(path, sizeof path, "/v1/wim/%s", id);
    http_answer st = http(port, "GET", path, NULL, NULL);
    assert_int_equal(st.status, 200);
    assert_non_null(strstr(st.body, id));
    free(st.body);
    cJSON_Delete(j);
    free(a.body);
}

/* A NUL ends a C string, not a header: libmicrohttpd 0.9.75 would read
 * "Bearer KEY<NUL>junk" as "Bearer KEY" (docs/server.md); nginx in front refuses
 * such a header before any replica sees it. */
static void test_a_nul_in_a_header_is_refused(void **state)
{
    (void)state;
    static const char req[] =
        "GET /v1/models HTTP/1.0\r\nHost: localhost\r\nAuthorization: Bearer k\0junk\r\n\r\n";
    int fd = connect_to(port);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    http_answer a = http_read_all(fd);
    if (a.status != 400) fail_msg("a NUL in a header got %d: %s", a.status, a.body);
    free(a.body);
}

static void test_a_dead_replica_is_passed_over(void **state)
{
    (void)state;
    assert_int_equal(stop_server(replica_b), 0);
    replica_b = 0;
    for (int i = 0; i < 2; i++) { /* whichever nginx tries first, a reads it */
        sse s = post_reading(short_reading);
        char id[48];
        read_id(&s, id, sizeof id);
        if (strncmp(id, "a-r", 3) != 0) fail_msg("with b down, '%s' was not read by a", id);
        cJSON_Delete(expect_event(&s, "done"));
        close(s.fd);
    }
}

static void test_a_bad_replica_name_is_refused(void **state)
{
    (void)state;
    FILE *p = popen(
        WIM_BIN_DIR "/wim-server -m " WIM_TEST_MODELS "/tiny-qwen2.gguf --replica 'a/b' 2>&1", "r");
    assert_non_null(p);
    char out[512] = "";
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    assert_string_equal(out, "wim-server: error: --replica 'a/b' must be 1 to 16 letters, "
                             "digits, '-' or '_'\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readings_are_spread_and_their_requests_routed),
        cmocka_unit_test(test_chat_completions_through_nginx),
        cmocka_unit_test(test_a_nul_in_a_header_is_refused),
        cmocka_unit_test(test_a_dead_replica_is_passed_over),
        cmocka_unit_test(test_a_bad_replica_name_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
