/*
 * stepcost.c - what one llama_decode costs for the micro-batch shapes the
 * overlapped WiM schedule could use, at a given cache depth.
 *
 *   wim-stepcost -m MODEL.gguf [-t THREADS] [--depth D] [--reps N]
 *
 * For each shape it prints the median milliseconds of: N document tokens of
 * one sequence; N-R document tokens plus R "riding" tokens, one each in R
 * sequences forked from the document; and the R riding tokens alone. The
 * decoded cells are removed after every step, so every rep sees the same cache.
 */
#include "engine.h"

#include <llama.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median ms of decoding n_doc document tokens and n_ride riding tokens at depth. */
static double step(struct llama_context *ctx, struct llama_batch *b, int depth, int n_doc,
                   int n_ride, int reps)
{
    llama_memory_t mem = llama_get_memory(ctx);
    double t[64];
    for (int r = 0; r < reps; r++) {
        b->n_tokens = 0;
        for (int i = 0; i < n_doc; i++)
            wim_batch_add(b, 1000 + i, depth + i, 0, false);
        for (int k = 0; k < n_ride; k++)
            wim_batch_add(b, 2000 + k, depth, 1 + k, true);
        double t0 = wim_now_ms();
        if (llama_decode(ctx, *b) != 0) return -1;
        t[r] = wim_now_ms() - t0;
        for (int s = 0; s <= n_ride; s++)
            llama_memory_seq_rm(mem, s, depth, -1);
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    return t[reps / 2];
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int threads = 2, depth = 2048, reps = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-m"))
            path = argv[i + 1];
        else if (!strcmp(argv[i], "-t"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--depth"))
            depth = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps"))
            reps = atoi(argv[i + 1]);
    }
    if (!path || reps < 1 || reps > 64 || depth < 1) {
        fprintf(stderr, "usage: wim-stepcost -m MODEL.gguf [-t N] [--depth D] [--reps N<=64]\n");
        return 1;
    }
    struct llama_model *model = llama_model_load_from_file(path, wim_llama_model_params(NULL));
    if (!model) return 1;
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)depth + 1024;
    cp.n_batch = cp.n_ubatch = 1024;
    cp.n_seq_max = 64;
    cp.kv_unified = true;
    cp.n_threads = cp.n_threads_batch = threads;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    struct llama_batch b = llama_batch_init(1024, 0, 1);
    for (int done = 0; done < depth; done += 512) { /* the document so far */
        b.n_tokens = 0;
        for (int i = done; i < depth && i < done + 512; i++)
            wim_batch_add(&b, 500 + i % 3000, i, 0, false);
        llama_decode(ctx, b);
    }
    for (int s = 1; s < 33; s++)
        llama_memory_seq_cp(llama_get_memory(ctx), 0, s, -1, -1);
    step(ctx, &b, depth, 64, 1, 2); /* warm up */
    printf("depth %d, %d threads: median ms of one decode\n", depth, threads);
    printf("%6s %6s %10s %10s %10s\n", "batch", "riding", "doc only", "doc+ride", "ride only");
    static const int batches[] = {32, 64, 128, 256, 512};
    static const int rides[] = {1, 4, 16};
    for (size_t i = 0; i < sizeof batches / sizeof *batches; i++)
        for (size_t j = 0; j < sizeof rides / sizeof *rides; j++) {
            int n = batches[i], r = rides[j];
            if (r >= n) continue;
            printf("%6d %6d %10.1f %10.1f %10.1f\n", n, r, step(ctx, &b, depth, n, 0, reps),
                   step(ctx, &b, depth, n - r, r, reps), step(ctx, &b, depth, 0, r, reps));
        }
    llama_batch_free(b);
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
