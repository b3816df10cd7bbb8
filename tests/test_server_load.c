/*
 * test_server_load.c - 16 clients sending 5 readings each at once to a server
 * reading 4 at a time with 16 queued: some read to the end, some leave in the
 * middle of their stream, some ask to stop. Every request ends with `done`, a
 * clean stop, or a 503; none is lost (the ones whose clients left are found
 * finished); the server still answers afterwards; and, over two such rounds,
 * its memory after the second is within 10% of what it was after the first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http.h"

#include <pthread.h>

enum { CLIENTS = 16, EACH = 5 };

static const char body[] =
    "{\"query\": \"Which barge came last?\", \"options\": {\"segment_tokens\": 48, "
    "\"max_margin_tokens\": 8, \"max_answer_tokens\": 8}, \"document\": \"Barge one brought rye "
    "to Orrin. Barge two brought salt. Barge three waited at the ford for a day. The keeper "
    "counted the sacks twice. Barge four came last, late in the evening, with timber.\"}";

/* What a client does with its reading, and how the reading ended. */
typedef enum plan { READ, LEAVE, STOP } plan;
typedef enum outcome { DONE, STOPPED, LEFT, REFUSED, BROKEN } outcome;

/* The reading's id from its first event ("" if none came). */
static cJSON *first_event(sse *s, char *id, size_t len)
{
    cJSON *j = sse_next(s);
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(j, "id"));
    snprintf(id, len, "%s", v ? v : "");
    return j;
}

/* A stop is clean when the stream ends in a stopped `done`, or, for one still
 * queued, in the error that says it never began. */
static outcome ending(const sse *s, const cJSON *last, plan p)
{
    const char *ev = cJSON_GetStringValue(cJSON_GetObjectItem(last, "event"));
    if (s->status == 503) return REFUSED; /* its body is a JSON error, not an event */
    if (s->status != 200 || !ev) return BROKEN;
    bool stopped = cJSON_IsTrue(cJSON_GetObjectItem(last, "stopped_early"));
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(last, "message"));
    if (strcmp(ev, "done") == 0) return stopped && p == STOP ? STOPPED : stopped ? BROKEN : DONE;
    if (p == STOP && msg && strcmp(msg, "stopped before its reading began") == 0) return STOPPED;
    return BROKEN;
}

static outcome one_reading(plan p, char *id, size_t len)
{
    sse s = {.fd = http_send(port, "POST", "/v1/wim", NULL, body)};
    if (s.fd < 0) return BROKEN;
    cJSON *j, *last = first_event(&s, id, len);
    if (p == LEAVE && id[0]) {
        cJSON_Delete(last);
        close(s.fd);
        return LEFT;
    }
    if (p == STOP && id[0]) {
        char path[96];
        snprintf(path, sizeof path, "/v1/wim/%s/stop", id);
        free(http(port, "POST", path, NULL, "").body); /* 404 if it finished first */
    }
    while ((j = sse_next(&s))) {
        cJSON_Delete(last);
        last = j;
    }
    close(s.fd);
    outcome o = ending(&s, last, p);
    if (p == STOP && o == DONE) o = STOPPED; /* it finished before the stop reached it */
    cJSON_Delete(last);
    return o;
}

typedef struct tally {
    int index;            /* which client: its plans rotate from here */
    int seen[BROKEN + 1]; /* readings by outcome */
    char left[EACH][32];  /* ids of the readings it left */
    int n_left;
} tally;

static void *client(void *arg)
{
    tally *t = arg;
    for (int i = 0; i < EACH; i++) {
        char id[32];
        outcome o = one_reading((plan)((t->index + i) % 3), id, sizeof id);
        t->seen[o]++;
        if (o == LEFT) snprintf(t->left[t->n_left++], 32, "%s", id);
    }
    return NULL;
}

/* A reading its client left ends: finished, or finished and forgotten (only
 * finished ones are). Waits for that, at most a minute. */
static bool ends(const char *id)
{
    char path[64];
    snprintf(path, sizeof path, "/v1/wim/%s", id);
    for (int i = 0; i < 600; i++) {
        http_answer a = http(port, "GET", path, NULL, NULL);
        bool over = a.status == 404 || strstr(a.body, "\"state\":\"done\"");
        free(a.body);
        if (over) return true;
        nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    }
    return false;
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
    static const char *const extra[] = {"--parallel", "4", "--queue", "16", NULL};
    return serve_tiny(extra);
}

/* One round: every client's readings, each left one waited on till it ends. */
static tally load_round(void)
{
    pthread_t threads[CLIENTS];
    tally t[CLIENTS] = {0}, all = {0};
    for (int i = 0; i < CLIENTS; i++) {
        t[i].index = i;
        assert_int_equal(pthread_create(&threads[i], NULL, client, &t[i]), 0);
    }
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(threads[i], NULL);
        for (int o = DONE; o <= BROKEN; o++)
            all.seen[o] += t[i].seen[o];
        for (int k = 0; k < t[i].n_left; k++)
            if (!ends(t[i].left[k])) fail_msg("reading %s was lost", t[i].left[k]);
    }
    return all;
}

static void assert_round(const tally *all, int round)
{
    printf("round %d: %d done, %d stopped, %d left (all found finished), %d refused (503), "
           "%d broken\n",
           round, all->seen[DONE], all->seen[STOPPED], all->seen[LEFT], all->seen[REFUSED],
           all->seen[BROKEN]);
    assert_int_equal(all->seen[BROKEN], 0);
    assert_int_equal(all->seen[DONE] + all->seen[STOPPED] + all->seen[LEFT] + all->seen[REFUSED],
                     CLIENTS * EACH);
    assert_true(all->seen[DONE] > 0 && all->seen[STOPPED] > 0 && all->seen[LEFT] > 0);
}

/* Memory is compared between the ends of two equal rounds, not with a lone
 * first reading: the first round warms what a steady server holds (threads'
 * malloc arenas, the last finished readings kept), and under ASan it grew
 * 5.5-10.1% past one reading (10.1% failed CI). Round 2 on round 1: +0.4% to
 * +3.4% here, -0.6% to +2.7% under ASan, then a plateau. 10% is 330 kB kept
 * per reading, less than any context, batch or stream that a leak per
 * reading would keep; small leaks are the sanitizer pass's. */
static void test_sixteen_clients_reading_leaving_and_stopping(void **state)
{
    (void)state;
    char id[32];
    assert_int_equal(one_reading(READ, id, sizeof id), DONE);
    long first = rss_kb(server);
    tally one = load_round();
    long after_one = rss_kb(server);
    tally two = load_round();
    long after_two = rss_kb(server);
    http_answer h = http(port, "GET", "/health", NULL, NULL);
    assert_int_equal(h.status, 200);
    assert_non_null(strstr(h.body, "\"reading\":0,\"queued\":0"));
    cJSON *health = cJSON_Parse(h.body);
    free(h.body);
    double steps = cJSON_GetNumberValue(cJSON_GetObjectItem(health, "steps"));
    double merged = cJSON_GetNumberValue(cJSON_GetObjectItem(health, "merged_steps"));
    cJSON_Delete(health);
    printf("load: RSS %ld kB after the first reading, %ld kB after round 1 (%+.1f%%), %ld kB "
           "after round 2 (%+.1f%% on round 1); %.0f steps, %.0f of them several readings' at "
           "once\n",
           first, after_one, 100.0 * (after_one - first) / first, after_two,
           100.0 * (after_two - after_one) / after_one, steps, merged);
    assert_true(steps > 0 && merged <= steps);
    assert_round(&one, 1);
    assert_round(&two, 2);
    assert_true(after_two <= after_one + after_one / 10);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sixteen_clients_reading_leaving_and_stopping)};
    return cmocka_run_group_tests(tests, setup, stop_tiny_server);
}
