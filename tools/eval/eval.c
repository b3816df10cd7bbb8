/*
 * eval.c - wim-eval: the paper's comparison of wim against the llm and rag
 * baselines, on generated, converted or the user's own data.
 *
 *   wim-eval -m MODEL.gguf --data FILE.jsonl [--data ...] [--modes llm,rag,wim]
 *            [--limit N] [--out DIR] [--judge same|JUDGE.gguf] [engine flags]
 *   wim-eval --generate cwe|needle|qa1 --tokens N --count K [--seed S] -m MODEL.gguf -o OUT.jsonl
 *   wim-eval --convert hotpotqa|multihop-rag --input FILE [--corpus FILE] --tokens N
 *            [--count K] [--seed S] -m MODEL.gguf -o OUT.jsonl
 *   wim-eval --report DIR
 */
#include "args.h"
#include "convert.h"
#include "dataset.h"
#include "generate.h"
#include "judge.h"
#include "report.h"
#include "runner.h"
#include "tokens.h"
#include "wim.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_DATA = 64 };

typedef struct eval_cli {
    const char *model_path, *judge_path, *out, *report;
    const char *generate, *convert, *input, *corpus, *output;
    const char *data[MAX_DATA];
    int n_data;
    const char *modes; /* "llm,rag,wim" */
    long tokens, count, limit;
    uint64_t seed;
    bool quiet;
    wim_options o;
    wim_model_params mp;
} eval_cli;

static const char usage_head[] =
    "usage: wim-eval -m MODEL.gguf --data FILE [--data FILE ...] [options]\n"
    "       wim-eval --generate cwe|needle|qa1 --tokens N --count K [--seed S] -m MODEL.gguf -o "
    "OUT\n"
    "       wim-eval --convert hotpotqa|multihop-rag --input FILE [--corpus FILE] --tokens N\n"
    "                [--count K] [--seed S] -m MODEL.gguf -o OUT\n"
    "       wim-eval --report DIR\n"
    "\n"
    "Runs each example of each data file in each mode (wim, and the llm and rag baselines),\n"
    "scores the answers, and writes per-example JSON lines, a table, a CSV file and a plot.\n"
    "Rerunning with the same --out skips what is done.\n"
    "\n"
    "evaluation:\n"
    "  -m, --model FILE           GGUF model under test\n"
    "      --data FILE            examples: JSON Lines of {\"id\", \"context\", \"query\",\n"
    "                             \"target\"} (target a string, or a list of words), a JSON\n"
    "                             array of them, or one such object; repeat for more sets\n"
    "      --modes LIST           comma-separated, in run order (llm,rag,wim)\n"
    "      --limit N              at most N examples of each file (all)\n"
    "      --out DIR              results folder (eval-out)\n"
    "      --judge same|FILE      also ask a model (the same one, or FILE.gguf) whether\n"
    "                             each QA answer is right; reported apart\n"
    "      --quiet                no progress bar or table\n"
    "data:\n"
    "      --generate cwe|needle|qa1\n"
    "                             write K generated examples of N model tokens to -o\n"
    "      --convert hotpotqa|multihop-rag\n"
    "                             write examples from a downloaded set, padded to N tokens\n"
    "      --input FILE           HotpotQA distractor JSON, or MultiHop-RAG's queries JSON\n"
    "      --corpus FILE          MultiHop-RAG's corpus JSON\n"
    "      --tokens N             each context's length in the model's tokens\n"
    "      --count K              how many examples (generate: required; convert: all)\n"
    "      --seed S               (1)\n"
    "  -o, --output FILE          where generated or converted examples go\n"
    "      --report DIR           remake DIR's table, CSV and plot from its results\n"
    "  -h, --help                 this text\n"
    "      --version              the version\n";

/* This tool's flags that take a value; false for any other argument. */
static bool own_flag(eval_cli *c, const char *arg, const char *v)
{
    const char **text = args_is(arg, "-m", "--model")      ? &c->model_path
                        : args_is(arg, NULL, "--judge")    ? &c->judge_path
                        : args_is(arg, NULL, "--out")      ? &c->out
                        : args_is(arg, NULL, "--report")   ? &c->report
                        : args_is(arg, NULL, "--generate") ? &c->generate
                        : args_is(arg, NULL, "--convert")  ? &c->convert
                        : args_is(arg, NULL, "--input")    ? &c->input
                        : args_is(arg, NULL, "--corpus")   ? &c->corpus
                        : args_is(arg, "-o", "--output")   ? &c->output
                        : args_is(arg, NULL, "--modes")    ? &c->modes
                                                           : NULL;
    long *number = args_is(arg, NULL, "--tokens")  ? &c->tokens
                   : args_is(arg, NULL, "--count") ? &c->count
                   : args_is(arg, NULL, "--limit") ? &c->limit
                                                   : NULL;
    if (!text && !number && !args_is(arg, NULL, "--data") && !args_is(arg, NULL, "--seed"))
        return false;
    if (!v) args_die("%s needs a value", arg);
    if (text) *text = v;
    if (number) *number = args_whole(arg, v, 1, INT_MAX);
    if (args_is(arg, NULL, "--seed")) c->seed = (uint64_t)args_whole(arg, v, 0, LONG_MAX);
    if (args_is(arg, NULL, "--data")) {
        if (c->n_data == MAX_DATA) args_die("too many --data files (at most %d)", MAX_DATA);
        c->data[c->n_data++] = v;
    }
    return true;
}

static void parse_args(eval_cli *c, int argc, char **argv)
{
    wim_options_default(&c->o);
    wim_model_params_default(&c->mp);
    c->out = "eval-out";
    c->modes = "llm,rag,wim";
    c->seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (args_is(arg, "-h", "--help")) {
            printf("%s%s", usage_head, args_engine_usage);
            exit(0);
        } else if (args_is(arg, NULL, "--version")) {
            args_version();
        } else if (args_is(arg, NULL, "--quiet")) {
            c->quiet = true;
        } else if (own_flag(c, arg, v)) {
            i++;
        } else if (!args_engine(argc, argv, &i, &c->o, &c->mp)) {
            args_die("unknown option '%s' (see wim-eval --help)", arg);
        }
    }
}

/* "llm,rag,wim" into r's modes. */
static void parse_modes(const char *list, eval_run *r)
{
    char buf[64], err[160];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *m = strtok(buf, ","); m; m = strtok(NULL, ",")) {
        wim_options o;
        if (wim_options_set(&o, "mode", m, err, sizeof err) != 0) args_die("--modes: %s", err);
        for (int i = 0; i < r->n_modes; i++)
            if (r->modes[i] == o.mode) args_die("--modes: '%s' is given twice", m);
        r->modes[r->n_modes++] = o.mode;
    }
    if (r->n_modes == 0) args_die("--modes: no mode given (llm, rag, wim)");
}

/* ============================================================================
 * Making data: --generate and --convert
 * ========================================================================= */

static FILE *open_output(const eval_cli *c)
{
    if (!c->output) args_die("no output file: use -o FILE.jsonl");
    FILE *f = fopen(c->output, "w");
    if (!f) args_die("cannot write '%s'", c->output);
    return f;
}

static int generate(const eval_cli *c, const struct llama_vocab *v, FILE *f)
{
    char err[256];
    if (c->count < 1) args_die("--generate needs --count K");
    for (int i = 0; i < c->count; i++) {
        eval_example e;
        if (eval_generate(c->generate, v, c->tokens, c->seed, i, &e, err, sizeof err) != 0)
            args_die("%s", err);
        int rc = eval_example_write(f, &e);
        eval_example_free(&e);
        if (rc != 0) args_die("cannot write '%s'", c->output);
    }
    fprintf(stderr, "wim-eval: wrote %ld %s examples of %ld tokens to %s\n", c->count, c->generate,
            c->tokens, c->output);
    return 0;
}

static int convert(const eval_cli *c, const struct llama_vocab *v, FILE *f)
{
    char err[512];
    int written = 0, skipped = 0;
    eval_convert_params p = {c->convert, c->input, c->corpus, c->tokens, (int)c->count, c->seed};
    if (!c->input) args_die("--convert needs --input FILE");
    if (eval_convert(&p, v, f, &written, &skipped, err, sizeof err) != 0) args_die("%s", err);
    fprintf(stderr, "wim-eval: wrote %d examples of %ld tokens to %s (%d skipped)\n", written,
            c->tokens, c->output, skipped);
    return 0;
}

static int make_data(const eval_cli *c)
{
    char err[512];
    if (!c->model_path)
        args_die("no model given: use -m MODEL.gguf (its tokenizer sizes the data)");
    if (c->tokens < 1) args_die("%s needs --tokens N", c->generate ? "--generate" : "--convert");
    struct llama_model *m = eval_vocab_load(c->model_path, err, sizeof err);
    if (!m) args_die("%s", err);
    FILE *f = open_output(c);
    const struct llama_vocab *v = llama_model_get_vocab(m);
    int rc = c->generate ? generate(c, v, f) : convert(c, v, f);
    if (fclose(f) != 0) args_die("cannot write '%s'", c->output);
    llama_model_free(m);
    return rc;
}

/* ============================================================================
 * Evaluating
 * ========================================================================= */

static wim_model *load_model(const char *path, const wim_model_params *mp)
{
    char err[512];
    wim_model *m = wim_model_load(path, mp, err, sizeof err);
    if (!m) args_die("%s", err);
    return m;
}

static int evaluate(const eval_cli *c)
{
    char err[512];
    if (!c->model_path) args_die("no model given: use -m MODEL.gguf");
    if (c->n_data == 0) args_die("no data given: use --data FILE (or --generate to make some)");
    eval_run r = {.model_path = c->model_path,
                  .o = c->o,
                  .limit = (int)c->limit,
                  .out_dir = c->out,
                  .quiet = c->quiet};
    parse_modes(c->modes, &r);
    if (wim_options_check(&c->o, err, sizeof err) != 0) args_die("%s", err);
    eval_dataset sets[MAX_DATA];
    for (int i = 0; i < c->n_data; i++)
        if (eval_dataset_load(c->data[i], &sets[i], err, sizeof err) != 0) args_die("%s", err);
    r.model = load_model(c->model_path, &c->mp);
    bool own_judge = c->judge_path && strcmp(c->judge_path, "same") != 0;
    wim_model *judge_model = own_judge ? load_model(c->judge_path, &c->mp) : r.model;
    if (c->judge_path && !(r.judge = eval_judge_new(judge_model, c->o.n_threads, err, sizeof err)))
        args_die("judge: %s", err);
    int rc = eval_run_all(&r, sets, c->n_data, err, sizeof err);
    if (rc == 0) rc = eval_report(c->out, c->quiet, err, sizeof err);
    if (rc != 0) fprintf(stderr, "wim-eval: error: %s\n", err);
    eval_judge_free(r.judge);
    if (own_judge) wim_model_free(judge_model);
    wim_model_free(r.model);
    for (int i = 0; i < c->n_data; i++)
        eval_dataset_free(&sets[i]);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    args_program = "wim-eval";
    eval_cli c = {0};
    parse_args(&c, argc, argv);
    if (c.generate && c.convert) args_die("--generate and --convert do not go together");
    if (c.generate || c.convert) return make_data(&c);
    if (c.report) {
        char err[512];
        if (eval_report(c.report, c.quiet, err, sizeof err) == 0) return 0;
        args_die("%s", err);
    }
    return evaluate(&c);
}
