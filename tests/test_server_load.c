/*
 * test_server_load.c - 8 clients sending 10 readings each at once to a server
 * reading 2 at a time: every reading ends with `done` or a clear JSON error,
 * the server still answers afterwards, and its memory after the run is within
 * 10% of what it was after the first reading (nothing piles up per request).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http.h"

#include <pthread.h>

enum { CLIENTS = 8, EACH = 10 };

static const char body[] =
    "{\"query\": \"Which barge came last?\", \"options\": {\"segment_tokens\": 48, "
    "\"max_margin_tokens\": 8, \"max_answer_tokens\": 8}, \"document\": \"Barge one brought rye "
    "to Orrin. Barge two brought salt. Barge three waited at the ford for a day. The keeper "
    "counted the sacks twice. Barge four came last, late in the evening, with timber.\"}";

/* How one reading ended. */
typedef enum outcome { DONE, REFUSED, BROKEN } outcome;

static outcome one_reading(void)
{
    sse s = {.fd = http_send(port, "POST", "/v1/wim", NULL, body)};
    if (s.fd < 0) return BROKEN;
    cJSON *j, *last = NULL;
    while ((j = sse_next(&s))) {
        cJSON_Delete(last);
        last = j;
    }
    close(s.fd);
    outcome o = BROKEN;
    const char *ev = cJSON_GetStringValue(cJSON_GetObjectItem(last, "event"));
    if (s.status == 200 && ev && strcmp(ev, "done") == 0) o = DONE;
    if (s.status == 503) o = REFUSED; /* its body is a JSON error, not an event */
    cJSON_Delete(last);
    return o;
}

typedef struct tally {
    int done, refused, broken;
} tally;

static void *client(void *arg)
{
    tally *t = arg;
    for (int i = 0; i < EACH; i++) {
        outcome o = one_reading();
        t->done += o == DONE;
        t->refused += o == REFUSED;
        t->broken += o == BROKEN;
    }
    return NULL;
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1) break;
    if (f) fclose(f);
    return kb;
}

static int setup(void **state)
{
    (void)state;
    static const char *const extra[] = {"--parallel", "2", "--queue", "16", NULL};
    return serve_tiny(extra);
}

static void test_eight_clients_at_once(void **state)
{
    (void)state;
    assert_int_equal(one_reading(), DONE);
    long first = rss_kb(server);
    pthread_t threads[CLIENTS];
    tally t[CLIENTS] = {0};
    for (int i = 0; i < CLIENTS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, client, &t[i]), 0);
    tally all = {0};
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(threads[i], NULL);
        all.done += t[i].done;
        all.refused += t[i].refused;
        all.broken += t[i].broken;
    }
    long after = rss_kb(server);
    http_answer h = http(port, "GET", "/health", NULL, NULL);
    assert_int_equal(h.status, 200);
    assert_non_null(strstr(h.body, "\"reading\":0,\"queued\":0"));
    cJSON *health = cJSON_Parse(h.body);
    free(h.body);
    double steps = cJSON_GetNumberValue(cJSON_GetObjectItem(health, "steps"));
    double merged = cJSON_GetNumberValue(cJSON_GetObjectItem(health, "merged_steps"));
    cJSON_Delete(health);
    printf("load: %d readings done, %d refused (503), %d broken; RSS %ld kB after the first, "
           "%ld kB after all (%.1f%%); %.0f steps, %.0f of them two readings' at once\n",
           all.done, all.refused, all.broken, first, after, 100.0 * (after - first) / first, steps,
           merged);
    assert_true(steps > 0 && merged <= steps);
    assert_int_equal(all.broken, 0);
    assert_int_equal(all.done + all.refused, CLIENTS * EACH);
    assert_true(all.done > 0);
    assert_true(after <= first + first / 10);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_eight_clients_at_once)};
    return cmocka_run_group_tests(tests, setup, stop_tiny_server);
}
