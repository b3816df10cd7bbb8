/*
 * wim.c - the command line: answer a question over a long document with
 * Writing in the Margins, showing the reading live.
 *
 *   wim -m MODEL.gguf -f DOCUMENT.txt -q "QUESTION"
 *
 * Progress, margins and verdicts go to stderr, the answer streams to stdout;
 * with --json every event is one JSON line on stdout instead. Ctrl-C once stops
 * reading and answers from the margins so far; twice quits.
 */
#include "wim.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ============================================================================
 * Settings
 * ========================================================================= */

typedef struct cli {
    const char *model_path;
    const char *doc_path;   /* "-" = stdin */
    const char *input_json; /* reference-format JSON with context and query */
    const char *query;
    char *owned_query; /* the query read from --input-json, when -q gave none */
    bool json, quiet;
    wim_options o;
    wim_model_params mp;
} cli;

static const char usage[] =
    "usage: wim -m MODEL.gguf (-f DOCUMENT | --input-json FILE) -q QUESTION [options]\n"
    "\n"
    "Answers QUESTION over a long DOCUMENT with Writing in the Margins: the document is\n"
    "read in segments, a margin note is written after each, relevant notes feed the answer.\n"
    "\n"
    "input:\n"
    "  -m, --model FILE           GGUF model (any llama.cpp model with a chat template)\n"
    "  -f, --file FILE            document, UTF-8 text; '-' reads standard input\n"
    "  -q, --query TEXT           the question\n"
    "      --input-json FILE      read document and question from a JSON object with\n"
    "                             \"context\" and \"query\" (the reference format); -q overrides\n"
    "method:\n"
    "      --mode wim|llm|rag     wim (default); llm = whole document then question;\n"
    "                             rag = classify raw segments, keep the relevant ones\n"
    "      --classify two-pass|one-pass\n"
    "                             two-pass (default): a classification prompt per margin;\n"
    "                             one-pass: margins start YES# or NO#, stop at once on NO#\n"
    "      --segment-tokens N     segment length in model tokens (4096)\n"
    "      --max-margin-tokens N  (100)\n"
    "      --max-verdict-tokens N (10)\n"
    "      --max-answer-tokens N  (100)\n"
    "sampling:\n"
    "      --temp T               temperature, 0 = greedy (0)\n"
    "      --top-p P              nucleus sampling when T > 0 (1.0)\n"
    "      --seed N               sampler seed (42)\n"
    "engine:\n"
    "  -t, --threads N            CPU threads (all cores)\n"
    "  -c, --ctx-size N           context size (enough for the document and prompts,\n"
    "                             at most the model's trained context)\n"
    "  -b, --batch-size N         prefill micro-batch (512)\n"
    "  -ngl, --n-gpu-layers N     layers to offload to the GPU (0)\n"
    "prompts:\n"
    "      --templates DIR        override built-in prompts with DIR/NAME.txt (see docs/)\n"
    "      --user-header TEXT     chat text before the user's words ({system} = preamble)\n"
    "      --generation-header TEXT  chat text after the user's words\n"
    "output:\n"
    "      --json                 JSON Lines events on stdout (docs/events.md)\n"
    "      --quiet                no progress or margins on stderr\n"
    "  -h, --help                 this text\n"
    "\n"
    "Environment: WIM_VERBOSE=1 shows llama.cpp's own log.\n";

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "wim: error: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static long parse_long(const char *flag, const char *v, long lo, long hi)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        die("%s needs a whole number in range, got '%s'", flag, v);
    return n;
}

static float parse_float(const char *flag, const char *v)
{
    char *end;
    float f = strtof(v, &end);
    if (end == v || *end) die("%s needs a number, got '%s'", flag, v);
    return f;
}

static int parse_choice(const char *flag, const char *v, const char *a, const char *b,
                        const char *c)
{
    if (strcmp(v, a) == 0) return 0;
    if (strcmp(v, b) == 0) return 1;
    if (c && strcmp(v, c) == 0) return 2;
    die("%s: unknown value '%s'", flag, v);
    return -1;
}

static bool is(const char *arg, const char *s, const char *l)
{
    return (s && strcmp(arg, s) == 0) || strcmp(arg, l) == 0;
}

static const char *const valued_flags[] = {"-m",
                                           "--model",
                                           "-f",
                                           "--file",
                                           "-q",
                                           "--query",
                                           "--input-json",
                                           "--mode",
                                           "--classify",
                                           "--segment-tokens",
                                           "--max-margin-tokens",
                                           "--max-verdict-tokens",
                                           "--max-answer-tokens",
                                           "--temp",
                                           "--top-p",
                                           "--seed",
                                           "-t",
                                           "--threads",
                                           "-c",
                                           "--ctx-size",
                                           "-b",
                                           "--batch-size",
                                           "-ngl",
                                           "--n-gpu-layers",
                                           "--templates",
                                           "--user-header",
                                           "--generation-header",
                                           NULL};

static bool takes_value(const char *arg)
{
    for (const char *const *f = valued_flags; *f; f++)
        if (strcmp(arg, *f) == 0) return true;
    return false;
}

/* Sets the flag's value; returns false when arg is not a valued flag. */
static bool parse_valued(cli *c, const char *arg, const char *v)
{
    wim_options *o = &c->o;
    if (is(arg, "-m", "--model"))
        c->model_path = v;
    else if (is(arg, "-f", "--file"))
        c->doc_path = v;
    else if (is(arg, "-q", "--query"))
        c->query = v;
    else if (is(arg, NULL, "--input-json"))
        c->input_json = v;
    else if (is(arg, NULL, "--mode"))
        o->mode = parse_choice(arg, v, "wim", "llm", "rag");
    else if (is(arg, NULL, "--classify"))
        o->classify = parse_choice(arg, v, "two-pass", "one-pass", NULL);
    else if (is(arg, NULL, "--segment-tokens"))
        o->segment_tokens = parse_long(arg, v, 1, INT_MAX);
    else if (is(arg, NULL, "--max-margin-tokens"))
        o->max_margin_tokens = parse_long(arg, v, 1, INT_MAX);
    else if (is(arg, NULL, "--max-verdict-tokens"))
        o->max_verdict_tokens = parse_long(arg, v, 1, INT_MAX);
    else if (is(arg, NULL, "--max-answer-tokens"))
        o->max_answer_tokens = parse_long(arg, v, 1, INT_MAX);
    else if (is(arg, NULL, "--temp"))
        o->temp = parse_float(arg, v);
    else if (is(arg, NULL, "--top-p"))
        o->top_p = parse_float(arg, v);
    else if (is(arg, NULL, "--seed"))
        o->seed = (uint32_t)parse_long(arg, v, 0, UINT32_MAX);
    else if (is(arg, "-t", "--threads"))
        o->n_threads = parse_long(arg, v, 1, 1024);
    else if (is(arg, "-c", "--ctx-size"))
        o->n_ctx = parse_long(arg, v, 1, INT_MAX);
    else if (is(arg, "-b", "--batch-size"))
        o->n_batch = parse_long(arg, v, 1, 1 << 20);
    else if (is(arg, "-ngl", "--n-gpu-layers"))
        c->mp.n_gpu_layers = parse_long(arg, v, 0, 10000);
    else if (is(arg, NULL, "--templates"))
        o->templates_dir = v;
    else if (is(arg, NULL, "--user-header"))
        o->user_header = v;
    else if (is(arg, NULL, "--generation-header"))
        o->generation_header = v;
    else
        return false;
    return true;
}

static void parse_args(cli *c, int argc, char **argv)
{
    wim_options_default(&c->o);
    wim_model_params_default(&c->mp);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (is(arg, "-h", "--help")) {
            fputs(usage, stdout);
            exit(0);
        } else if (is(arg, NULL, "--json")) {
            c->json = true;
        } else if (is(arg, NULL, "--quiet")) {
            c->quiet = true;
        } else if (takes_value(arg)) {
            if (i + 1 == argc) die("%s needs a value", arg);
            parse_valued(c, arg, argv[++i]);
        } else {
            die("unknown option '%s' (see wim --help)", arg);
        }
    }
    if (!c->model_path) die("no model given: use -m MODEL.gguf");
    if (!c->doc_path && !c->input_json) die("no document given: use -f FILE or --input-json FILE");
}

/* ============================================================================
 * Input
 * ========================================================================= */

static char *read_all(FILE *f, size_t *len)
{
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *grown = realloc(buf, (cap *= 2) + 1);
            if (!grown) free(buf);
            buf = grown;
        }
    }
    if (buf) buf[n] = '\0';
    *len = n;
    return buf;
}

static char *read_document(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) die("cannot open document '%s': %s", path, strerror(errno));
    char *doc = read_all(f, len);
    if (ferror(f)) die("cannot read document '%s': %s", path, strerror(errno));
    if (f != stdin) fclose(f);
    if (!doc) die("out of memory reading '%s'", path);
    return doc;
}

/* The reference format: {"context": ..., "query": ..., "target": ...}. */
static char *read_input_json(cli *c, size_t *len)
{
    char *text = read_document(c->input_json, len);
    cJSON *j = cJSON_Parse(text);
    free(text);
    const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(j, "context");
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "query");
    if (!cJSON_IsString(ctx))
        die("'%s' is not a JSON object with a string \"context\"", c->input_json);
    char *doc = strdup(ctx->valuestring);
    *len = strlen(doc);
    if (!c->query && cJSON_IsString(q)) c->query = c->owned_query = strdup(q->valuestring);
    cJSON_Delete(j);
    return doc;
}

/* ============================================================================
 * Showing events
 * ========================================================================= */

static volatile sig_atomic_t interrupts;

static void on_sigint(int sig)
{
    (void)sig;
    if (++interrupts >= 2) {
        static const char msg[] = "\nwim: interrupted\n";
        ssize_t ignored = write(2, msg, sizeof msg - 1);
        (void)ignored;
        _exit(130);
    }
}

typedef struct view {
    bool json, quiet, tty;
    bool progress_shown; /* a progress line is on screen, to be cleared */
    bool told_stop;
} view;

static void clear_progress(view *v)
{
    if (v->progress_shown) fputs("\r\033[K", stderr);
    v->progress_shown = false;
}

static void show_progress(view *v, const wim_event *ev)
{
    const wim_stats *st = ev->stats;
    double secs = ev->elapsed_ms / 1e3;
    double rate = secs > 0 ? st->n_read_tokens / secs : 0;
    double eta = rate > 0 ? (st->n_doc_tokens - st->n_read_tokens) / rate : 0;
    fprintf(stderr,
            "%s[wim] segment %d/%d · %d/%d tokens · %.0f tok/s · %d:%02d elapsed · ETA %d:%02d%s",
            v->tty ? "\r\033[K" : "", ev->segment + 1, ev->n_segments, st->n_read_tokens,
            st->n_doc_tokens, rate, (int)secs / 60, (int)secs % 60, (int)eta / 60, (int)eta % 60,
            v->tty ? "" : "\n");
    v->progress_shown = v->tty;
}

static void show_event(view *v, const wim_event *ev)
{
    switch (ev->type) {
    case WIM_EVENT_START:
        fprintf(stderr, "[wim] %s: %d document tokens in %d segments, context %d\n",
                wim_mode_name(ev->options->mode), ev->stats->n_doc_tokens, ev->n_segments,
                ev->stats->n_ctx);
        break;
    case WIM_EVENT_PROGRESS:
        if (v->tty) show_progress(v, ev);
        break;
    case WIM_EVENT_SEGMENT:
        if (!v->tty) show_progress(v, ev);
        break;
    case WIM_EVENT_MARGIN:
        clear_progress(v);
        fprintf(stderr, "[margin %d/%d] %s\n", ev->segment + 1, ev->n_segments, ev->text);
        break;
    case WIM_EVENT_VERDICT:
        clear_progress(v);
        fprintf(stderr, "[verdict %d/%d] %s", ev->segment + 1, ev->n_segments,
                ev->relevant ? "relevant" : "not relevant");
        if (ev->parsed)
            fprintf(stderr, "%s%s\n", *ev->reason ? ": " : "", ev->reason);
        else
            fprintf(stderr, " (unclear answer: %s)\n", ev->text);
        break;
    case WIM_EVENT_ANSWER_TOKEN:
    case WIM_EVENT_DONE:
        clear_progress(v);
        break;
    }
}

static void print_json(const wim_event *ev)
{
    char *line = wim_event_to_json(ev);
    if (line) printf("%s\n", line);
    free(line);
    fflush(stdout);
}

static int on_event(const wim_event *ev, void *user)
{
    view *v = user;
    if (v->json)
        print_json(ev);
    else if (!v->quiet)
        show_event(v, ev);
    if (!v->json && ev->type == WIM_EVENT_ANSWER_TOKEN) {
        fputs(ev->text, stdout);
        fflush(stdout);
    }
    if (!v->json && ev->type == WIM_EVENT_DONE) putchar('\n');
    if (interrupts && !v->told_stop && !v->json) {
        clear_progress(v);
        fputs("[wim] stopping: answering from what was read so far (Ctrl-C again quits)\n", stderr);
        v->told_stop = true;
    }
    return interrupts ? WIM_STOP : WIM_CONTINUE;
}

/* ============================================================================
 * Main
 * ========================================================================= */

int main(int argc, char **argv)
{
    cli c = {0};
    parse_args(&c, argc, argv);
    size_t len = 0;
    char *doc = c.input_json ? read_input_json(&c, &len) : read_document(c.doc_path, &len);
    if (!c.query) die("no question given: use -q QUESTION");

    char err[512];
    wim_model *m = wim_model_load(c.model_path, &c.mp, err, sizeof err);
    if (!m) die("%s", err);
    wim_session *s = wim_session_new(m, &c.o, err, sizeof err);
    if (!s) die("%s", err);

    signal(SIGINT, on_sigint);
    view v = {.json = c.json, .quiet = c.quiet, .tty = isatty(2)};
    int rc = wim_session_run(s, doc, len, c.query, on_event, &v);
    if (rc < 0) {
        clear_progress(&v);
        fprintf(stderr, "wim: error: %s\n", wim_session_error(s));
    }
    wim_session_free(s);
    wim_model_free(m);
    free(doc);
    free(c.owned_query);
    return rc == 0 ? 0 : 1;
}
