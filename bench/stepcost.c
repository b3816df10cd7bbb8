/*
 * stepcost.c - what one llama_decode costs, at a given cache depth, for the
 * step shapes WiM's schedules use, under the engine's attention settings.
 *
 *   wim-stepcost -m MODEL.gguf [--depth D] [--reps N] [--riding] [engine flags:
 *                -t, -fa, -ctk, -ctv, -ngl ... as wim takes them]
 *
 * It prints the median milliseconds of:
 *   - prefill: 512 document tokens at depth, and what one of them costs;
 *   - verify: k tokens of one job in one step (the job's last token plus k-1
 *     drafted ones, speculative decoding), against k single steps; and the same
 *     for 4 jobs at once. From c(k), the step of k tokens, a job that accepts a
 *     drafted tokens a step on average (0 <= a <= k-1) makes 1 + a tokens in
 *     c(k) where plain decoding makes one in c(1): speed-up (1 + a) c(1) / c(k),
 *     and break-even at a = c(k) / c(1) - 1;
 *   - with --riding: N document tokens; N-R document tokens plus R riding
 *     tokens, one each in R sequences forked from the document; the R alone.
 * The decoded cells are removed after every step, so every rep sees the same
 * cache. Contexts are made as the engine makes its main one (wim_context_new).
 */
#include "args.h"
#include "session.h"

#include <llama.h>

#include <stdio.h>
#include <stdlib.h>

enum { MAX_REPS = 64, BATCH = 512, JOBS = 16 };

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median ms of decoding n_doc document tokens and, in each of n_jobs forked
 * sequences, k consecutive tokens with logits, at depth. */
static double step(struct llama_context *ctx, struct llama_batch *b, int depth, int n_doc,
                   int n_jobs, int k, int reps)
{
    llama_memory_t mem = llama_get_memory(ctx);
    double t[MAX_REPS + 1];
    for (int r = 0; r <= reps; r++) { /* the first, unmeasured, warms the shape up */
        b->n_tokens = 0;
        for (int i = 0; i < n_doc; i++)
            wim_batch_add(b, 1000 + i, depth + i, 0, false);
        for (int j = 0; j < n_jobs; j++)
            for (int i = 0; i < k; i++)
                wim_batch_add(b, 2000 + 7 * j + i, depth + i, 1 + j, true);
        double t0 = wim_now_ms();
        if (llama_decode(ctx, *b) != 0) return -1;
        t[r] = wim_now_ms() - t0;
        for (int s = 0; s <= n_jobs; s++)
            llama_memory_seq_rm(mem, s, depth, -1);
    }
    qsort(t + 1, (size_t)reps, sizeof t[0], cmp_double);
    return t[1 + reps / 2];
}

static void print_prefill(struct llama_context *ctx, struct llama_batch *b, int depth, int reps)
{
    double ms = step(ctx, b, depth, 512, 0, 0, reps);
    printf("prefill: 512 tokens %.1f ms, %.2f ms a token\n", ms, ms / 512);
}

static void print_verify(struct llama_context *ctx, struct llama_batch *b, int depth, int reps)
{
    static const int ks[] = {1, 2, 4, 8};
    printf("%4s %6s %10s %8s %10s %10s %8s\n", "k", "jobs", "step ms", "c(k)/c1", "break-even",
           "k singles", "4 jobs");
    double c1 = 0, c1x4 = 0;
    for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
        int k = ks[i];
        double ck = step(ctx, b, depth, 0, 1, k, reps);
        double ck4 = step(ctx, b, depth, 0, 4, k, reps);
        if (k == 1) c1 = ck, c1x4 = ck4;
        printf("%4d %6d %10.1f %8.2f %10.2f %10.1f %8.2f\n", k, 1, ck, ck / c1, ck / c1 - 1, k * c1,
               ck4 / c1x4);
    }
    printf("(4 jobs: c(k)/c(1) for 4 jobs verifying k each in one step; one step of 4 singles "
           "%.1f ms)\n",
           c1x4);
}

static void print_riding(struct llama_context *ctx, struct llama_batch *b, int depth, int reps)
{
    printf("%6s %6s %10s %10s %10s\n", "batch", "riding", "doc only", "doc+ride", "ride only");
    static const int batches[] = {32, 64, 128, 256, 512};
    static const int rides[] = {1, 4, 16};
    for (size_t i = 0; i < sizeof batches / sizeof *batches; i++)
        for (size_t j = 0; j < sizeof rides / sizeof *rides; j++) {
            int n = batches[i], r = rides[j];
            if (r >= n) continue;
            printf("%6d %6d %10.1f %10.1f %10.1f\n", n, r, step(ctx, b, depth, n, 0, 0, reps),
                   step(ctx, b, depth, n - r, r, 1, reps), step(ctx, b, depth, 0, r, 1, reps));
        }
}

int main(int argc, char **argv)
{
    args_program = "wim-stepcost";
    const char *path = NULL;
    int depth = 2048, reps = 5;
    bool riding = false;
    wim_options o;
    wim_model_params mp;
    wim_options_default(&o);
    wim_model_params_default(&mp);
    o.n_threads = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int *count = args_is(a, NULL, "--depth")  ? &depth
                     : args_is(a, NULL, "--reps") ? &reps
                                                  : NULL;
        if (args_is(a, NULL, "--riding")) {
            riding = true;
        } else if (args_is(a, "-m", "--model") || count) {
            if (!v) args_die("%s needs a value", a);
            if (count) *count = (int)args_whole(a, v, 1, count == &reps ? MAX_REPS : 1 << 20);
            if (!count) path = v;
            i++;
        } else if (!args_engine(argc, argv, &i, &o, &mp)) {
            args_die("unknown option '%s'", a);
        }
    }
    if (!path) args_die("give -m MODEL.gguf");
    o.n_batch = BATCH; /* the shapes measured are at most one micro-batch */
    char err[512];
    wim_model *m = wim_model_load(path, &mp, err, sizeof err);
    if (!m) args_die("%s", err);
    struct llama_context *ctx =
        wim_context_new(m, &o, WIM_CTX_MAIN, depth + BATCH, BATCH, JOBS + 1);
    if (!ctx) args_die("cannot create a context of %d tokens", depth + BATCH);
    struct llama_batch b = llama_batch_init(BATCH, 0, 1);
    for (int done = 0; done < depth; done += 512) { /* the document so far */
        b.n_tokens = 0;
        for (int i = done; i < depth && i < done + 512; i++)
            wim_batch_add(&b, 500 + i % 3000, i, 0, false);
        llama_decode(ctx, b);
    }
    for (int s = 1; s <= JOBS; s++)
        llama_memory_seq_cp(llama_get_memory(ctx), 0, s, -1, -1);
    struct llama_context_params p = llama_context_default_params();
    wim_memory_params(m, &o, WIM_CTX_MAIN, wim_memory_free(), &p); /* what auto came to */
    printf("depth %d, %d threads, flash attention %s, K %s, V %s: median ms of one decode\n", depth,
           o.n_threads, p.flash_attn_type == LLAMA_FLASH_ATTN_TYPE_DISABLED ? "off" : "on",
           ggml_type_name(p.type_k), ggml_type_name(p.type_v));
    print_prefill(ctx, &b, depth, reps);
    print_verify(ctx, &b, depth, reps);
    if (riding) print_riding(ctx, &b, depth, reps);
    llama_batch_free(b);
    llama_free(ctx);
    wim_model_free(m);
    return 0;
}
