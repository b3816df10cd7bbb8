/*
 * poolbench.c - what a shared context buys a server: K readings one after
 * another in one session, against the same K at once in a pool of K slots
 * (each in a thread of its own, their micro-batches decoded together).
 *
 *   wim-poolbench -m MODEL.gguf -f DOC.txt [--readings K] [--reps N] [engine flags]
 *
 * Each reading asks its own question. The two ways alternate, N times each;
 * every run prints its wall and CPU seconds, then the medians and their ratio.
 * Not a test: timings drift.
 */
#include "args.h"
#include "slurp.h"
#include "wim.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

enum { MAX_READINGS = 16, MAX_REPS = 15 };

typedef struct reading {
    wim_session *s;
    const char *doc;
    size_t len;
    char query[96];
    int rc;
} reading;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static void *read_it(void *arg)
{
    reading *r = arg;
    r->rc = wim_session_run(r->s, r->doc, r->len, r->query, NULL, NULL);
    if (r->rc < 0) args_die("%s", wim_session_error(r->s));
    return NULL;
}

static void one_after_another(wim_model *m, const wim_options *o, reading *g, int k)
{
    char err[512];
    wim_session *s = wim_session_new(m, o, err, sizeof err);
    if (!s) args_die("%s", err);
    for (int i = 0; i < k; i++) {
        g[i].s = s;
        read_it(&g[i]);
    }
    wim_session_free(s);
}

static void at_once(wim_model *m, const wim_options *o, reading *g, int k, wim_pool_stats *st)
{
    char err[512];
    wim_pool *p = wim_pool_new(m, o, k, o->n_ctx * k, err, sizeof err);
    if (!p) args_die("%s", err);
    pthread_t t[MAX_READINGS];
    for (int i = 0; i < k; i++)
        if (!(g[i].s = wim_session_new_in_pool(p, o, err, sizeof err))) args_die("%s", err);
    for (int i = 0; i < k; i++)
        pthread_create(&t[i], NULL, read_it, &g[i]);
    for (int i = 0; i < k; i++) {
        pthread_join(t[i], NULL);
        wim_session_free(g[i].s);
    }
    wim_pool_get_stats(p, st);
    wim_pool_free(p);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    args_program = "wim-poolbench";
    const char *model_path = NULL, *doc_path = NULL;
    int k = 4, reps = 3;
    wim_options o;
    wim_model_params mp;
    wim_options_default(&o);
    wim_model_params_default(&mp);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **text = args_is(a, "-m", "--model")  ? &model_path
                            : args_is(a, "-f", "--file") ? &doc_path
                                                         : NULL;
        int *count = args_is(a, NULL, "--readings") ? &k
                     : args_is(a, NULL, "--reps")   ? &reps
                                                    : NULL;
        if (text || count) {
            if (!v) args_die("%s needs a value", a);
            if (text) *text = v;
            if (count) *count = (int)args_whole(a, v, 1, count == &k ? MAX_READINGS : MAX_REPS);
            i++;
        } else if (!args_engine(argc, argv, &i, &o, &mp)) {
            args_die("unknown option '%s'", a);
        }
    }
    if (!model_path || !doc_path) args_die("give -m MODEL.gguf and -f DOC.txt");
    char err[512];
    wim_model *m = wim_model_load(model_path, &mp, err, sizeof err);
    if (!m) args_die("%s", err);
    size_t len;
    char *doc = slurp("document", doc_path, &len);
    /* every reading gets the same room alone and in the pool */
    if (!o.n_ctx) o.n_ctx = wim_model_count_tokens(m, doc, len) * 5 / 4 + 2048;
    reading g[MAX_READINGS];
    for (int i = 0; i < k; i++) {
        g[i] = (reading){.doc = doc, .len = len};
        snprintf(g[i].query, sizeof g[i].query, "What did boat %d carry to Orrin?", i + 1);
    }
    double wall[2][MAX_REPS], cpu[2][MAX_REPS];
    wim_pool_stats st = {0};
    for (int r = 0; r < reps; r++)
        for (int way = 0; way < 2; way++) {
            int w = (way + r) % 2; /* alternate which goes first */
            double t0 = now_s(), c0 = cpu_s();
            if (w == 0)
                one_after_another(m, &o, g, k);
            else
                at_once(m, &o, g, k, &st);
            wall[w][r] = now_s() - t0;
            cpu[w][r] = cpu_s() - c0;
            printf("rep %d, %s: %.2f s wall, %.2f s cpu\n", r + 1,
                   w ? "pooled, at once" : "one after another", wall[w][r], cpu[w][r]);
            fflush(stdout);
        }
    double serial = median(wall[0], reps), pooled = median(wall[1], reps);
    printf("%d readings: one after another %.2f s (cpu %.2f), at once in a pool %.2f s (cpu %.2f); "
           "pooled/serial %.3f; last pooled run: %ld steps, %ld merged\n",
           k, serial, median(cpu[0], reps), pooled, median(cpu[1], reps), pooled / serial,
           st.rounds, st.merged_rounds);
    free(doc);
    wim_model_free(m);
    return 0;
}
