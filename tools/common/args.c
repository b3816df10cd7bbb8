/*
 * args.c - what every wim tool's command line shares: one-line fatal errors,
 * numbers from flags, and the engine's settings as flags (through
 * wim_options_set, so the tools and the server accept the same names).
 */
#include "args.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *args_program = "wim";

void args_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: error: ", args_program);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

void args_version(void)
{
    printf("%s %s\n", args_program, wim_version());
    exit(0);
}

bool args_is(const char *arg, const char *short_name, const char *long_name)
{
    return (short_name && strcmp(arg, short_name) == 0) || strcmp(arg, long_name) == 0;
}

long args_whole(const char *flag, const char *v, long lo, long hi)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        args_die("%s needs a whole number from %ld to %ld, got '%s'", flag, lo, hi, v);
    return n;
}

const char args_engine_usage[] =
    "method:\n"
    "      --mode wim|llm|rag     wim (default); llm = whole document then question;\n"
    "                             rag = classify raw segments, keep the relevant ones\n"
    "      --classify two-pass|one-pass\n"
    "                             two-pass (default): a classification prompt per margin;\n"
    "                             one-pass: margins start YES# or NO#, stop at once on NO#\n"
    "      --schedule sequential|overlap\n"
    "                             sequential (default): each margin right after its\n"
    "                             segment; overlap: margins ride in the next segments'\n"
    "                             prefill (for GPUs; see docs/schedule.md)\n"
    "      --segment-tokens N     segment length in model tokens (4096)\n"
    "      --max-margin-tokens N  (100)\n"
    "      --max-verdict-tokens N (10)\n"
    "      --max-answer-tokens N  (100)\n"
    "      --window auto|off|N    past the context: read in a window of N tokens (the\n"
    "                             preamble, notes carried, the latest segments), letting\n"
    "                             segments go once judged; auto (default): only a\n"
    "                             document the context cannot hold; off: refuse it\n"
    "      --carry-tokens N       the most tokens of notes carried on; past it the\n"
    "                             weakest are let go (a quarter of the window)\n"
    "      --window-shift         past the window, let the oldest segments go and shift\n"
    "                             the rest back (plain attention only), the notes going\n"
    "                             to the answer alone; else the window restarts\n"
    "      --quoted-margins       hold margins to the text they were shown once they quote\n"
    "                             it, and keep only those found in it word for word\n"
    "                             (extractive readers such as tools/reader)\n"
    "      --quoted-answers       hold the answer to the notes it is given once it\n"
    "                             restates them (extractive readers)\n"
    "sampling:\n"
    "      --temp T               temperature, 0 = greedy (0)\n"
    "      --top-p P              nucleus sampling when T > 0 (1.0)\n"
    "      --seed N               sampler seed (42)\n"
    "engine:\n"
    "  -t, --threads N            CPU threads (all cores)\n"
    "  -c, --ctx-size N           context size (enough for the document and prompts,\n"
    "                             at most the model's trained context)\n"
    "  -b, --batch-size N         prefill micro-batch (512)\n"
    "  -ub, --ubatch-size N       physical batch of one compute step (the batch size)\n"
    "  -ctk, --cache-type-k TYPE  K cache type: auto (default), f16, f32, bf16, q8_0,\n"
    "                             q4_0, q4_1, iq4_nl, q5_0, q5_1 (q8_0: half the memory)\n"
    "  -ctv, --cache-type-v TYPE  V cache type, the same (quantized needs -fa on)\n"
    "  -fa, --flash-attn on|off|auto  flash attention (auto)\n"
    "                             auto: on a CPU the document's context runs with flash\n"
    "                             attention off and K in q8_0, faster deep in a long\n"
    "                             document; the verdicts' context and GPUs as llama.cpp\n"
    "      --draft-max N          speculative margins and answers: up to N tokens a step\n"
    "                             drafted from the segment and question, kept as far as\n"
    "                             the model agrees (3; 0 = off; at most 16)\n"
    "      --rope-scaling model|none|linear|yarn\n"
    "                             RoPE scaling past the trained context (the model's)\n"
    "      --rope-scale N         context scaling factor for it (the model's)\n"
    "  -ngl, --n-gpu-layers N     layers to offload to the GPU (0)\n"
    "      --rpc HOST:PORT,...    llama.cpp rpc-servers whose devices take layers too\n"
    "                             (-ngl; a llama.cpp built with GGML_RPC=ON)\n"
    "      --no-mmap              read the model into memory instead of mapping it\n"
    "      --mlock                keep the model in RAM, never swapped\n"
    "prompts:\n"
    "      --templates DIR        override built-in prompts with DIR/NAME.txt (see docs/)\n"
    "      --user-header TEXT     chat text before the user's words ({system} = preamble)\n"
    "      --generation-header TEXT  chat text after the user's words\n"
    "      --think                let a thinking model think before it writes (off: its\n"
    "                             template's turn without thinking, so margins are notes)\n"
    "benchmarks (the worst case, fixed so that runs compare):\n"
    "      --fixed-length         generate to every token limit, ignoring end-of-text\n"
    "      --assume-relevant      keep every margin for the answer, whatever its verdict\n";

/* "--segment-tokens" -> "segment_tokens"; short forms by name. NULL when arg
 * cannot name an option. */
static const char *option_key(const char *arg, char *key, size_t cap)
{
    static const char *const shorts[][2] = {{"-t", "threads"},        {"-c", "ctx_size"},
                                            {"-b", "batch_size"},     {"-ub", "ubatch_size"},
                                            {"-ctk", "cache_type_k"}, {"-ctv", "cache_type_v"},
                                            {"-fa", "flash_attn"}};
    for (size_t i = 0; i < sizeof shorts / sizeof shorts[0]; i++)
        if (strcmp(arg, shorts[i][0]) == 0) return shorts[i][1];
    if (strncmp(arg, "--", 2) != 0 || strlen(arg + 2) >= cap || strchr(arg, '_')) return NULL;
    size_t n = 0;
    for (const char *p = arg + 2; *p; p++)
        key[n++] = *p == '-' ? '_' : *p;
    key[n] = '\0';
    return key;
}

bool args_engine(int argc, char **argv, int *i, wim_options *o, wim_model_params *mp)
{
    const char *arg = argv[*i];
    const char *value = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (strcmp(arg, "--no-mmap") == 0 || strcmp(arg, "--mlock") == 0) {
        *(arg[2] == 'n' ? &mp->use_mmap : &mp->use_mlock) = arg[2] != 'n';
        return true;
    }
    if (strcmp(arg, "--rpc") == 0) {
        if (!value) args_die("%s needs a value", arg);
        mp->rpc_servers = value;
        *i += 1;
        return true;
    }
    if (strcmp(arg, "-ngl") == 0 || strcmp(arg, "--n-gpu-layers") == 0) {
        if (!value) args_die("%s needs a value", arg);
        mp->n_gpu_layers = (int)args_whole(arg, value, 0, INT_MAX);
        *i += 1;
        return true;
    }
    char buf[64], err[256];
    const char *key = option_key(arg, buf, sizeof buf);
    if (!key) return false;
    wim_options tried = *o;
    int rc = wim_options_set(&tried, key, NULL, err, sizeof err);
    if (rc == WIM_OPTION_UNKNOWN) return false;
    if (rc == WIM_OPTION_NEEDS_VALUE) {
        if (!value) args_die("%s needs a value", arg);
        rc = wim_options_set(&tried, key, value, err, sizeof err);
        *i += 1;
    }
    if (rc != 0) args_die("%s: %s", arg, err);
    *o = tried;
    return true;
}
