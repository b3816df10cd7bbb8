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
#include "args.h"
#include "extract.h"
#include "json.h"
#include "slurp.h"
#include "wim.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ============================================================================
 * Settings
 * ========================================================================= */

enum { MAX_QUERIES = 64 };

typedef struct cli {
    const char *model_path;
    const char *doc_path;   /* "-" = stdin */
    const char *input_json; /* reference-format JSON with context and query */
    const char *queries_file;
    const char *save_doc, *load_doc;
    const char *queries[MAX_QUERIES]; /* from -q, --queries or --input-json */
    int n_queries;
    char *queries_text; /* --queries file's text, which queries point into */
    char *json_query;   /* the query of --input-json, when no -q was given */
    bool json, quiet;
    bool segment_tokens_given;           /* --segment-tokens was on the command line */
    FILE *doc_in, *json_in, *queries_in; /* the input files, opened before the model loads */
    wim_options o;
    wim_model_params mp;
} cli;

static const char usage_head[] =
    "usage: wim -m MODEL.gguf (-f DOCUMENT | --input-json FILE | --load-doc FILE)\n"
    "           -q QUESTION [-q QUESTION ...] [options]\n"
    "\n"
    "Answers QUESTION over a long DOCUMENT with Writing in the Margins: the document is\n"
    "read in segments, a margin note is written after each, relevant notes feed the answer.\n"
    "\n"
    "input:\n"
    "  -m, --model FILE           GGUF model (any llama.cpp model with a chat template)\n"
    "  -f, --file FILE            document: UTF-8 text, PDF or HTML (told by content);\n"
    "                             '-' reads standard input\n"
    "  -q, --query TEXT           the question; repeat it to ask several in one reading\n"
    "      --queries FILE         questions, one a line\n"
    "      --input-json FILE      read document and question from a JSON object with\n"
    "                             \"context\" and \"query\" (the reference format); -q overrides\n";

static const char usage_tail[] =
    "read once, ask later:\n"
    "      --save-doc FILE        after reading, store the document and its KV cache\n"
    "      --load-doc FILE        answer from a stored document without reading it again\n"
    "                             (same model and context size; its segment size applies)\n"
    "output:\n"
    "      --json                 JSON Lines events on stdout (docs/events.md)\n"
    "      --quiet                no progress or margins on stderr\n"
    "  -h, --help                 this text\n"
    "      --version              the version\n"
    "\n"
    "Environment: WIM_VERBOSE=1 shows llama.cpp's own log.\n";

typedef enum flag_id {
    F_MODEL,
    F_FILE,
    F_QUERY,
    F_QUERIES,
    F_INPUT_JSON,
    F_SAVE_DOC,
    F_LOAD_DOC
} flag_id;

/* The flags of this tool that take a value; the engine's are in args.c. */
static const struct flag {
    const char *short_name, *long_name;
    flag_id id;
} flags[] = {
    {"-m", "--model", F_MODEL},           {"-f", "--file", F_FILE},
    {"-q", "--query", F_QUERY},           {NULL, "--queries", F_QUERIES},
    {NULL, "--input-json", F_INPUT_JSON}, {NULL, "--save-doc", F_SAVE_DOC},
    {NULL, "--load-doc", F_LOAD_DOC},
};

static const struct flag *find_flag(const char *arg)
{
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (args_is(arg, flags[i].short_name, flags[i].long_name)) return &flags[i];
    return NULL;
}

static void add_query(cli *c, const char *q)
{
    if (c->n_queries == MAX_QUERIES) args_die("too many questions (at most %d)", MAX_QUERIES);
    c->queries[c->n_queries++] = q;
}

static void set_flag(cli *c, flag_id id, const char *v)
{
    switch (id) {
    case F_MODEL:
        c->model_path = v;
        break;
    case F_FILE:
        c->doc_path = v;
        break;
    case F_QUERY:
        add_query(c, v);
        break;
    case F_QUERIES:
        c->queries_file = v;
        break;
    case F_INPUT_JSON:
        c->input_json = v;
        break;
    case F_SAVE_DOC:
        c->save_doc = v;
        break;
    case F_LOAD_DOC:
        c->load_doc = v;
        break;
    }
}

static const char no_question[] = "no question given: use -q QUESTION";

static void check_args(const cli *c)
{
    if (!c->model_path) args_die("no model given: use -m MODEL.gguf");
    if (!c->doc_path && !c->input_json && !c->load_doc)
        args_die("no document given: use -f FILE, --input-json FILE or --load-doc FILE");
    if (c->load_doc && (c->doc_path || c->input_json))
        args_die("--load-doc answers from a stored document: give no -f or --input-json with it");
    if (c->load_doc && c->save_doc) args_die("--load-doc and --save-doc do not go together");
    if (c->save_doc && c->o.window > 0)
        args_die("--save-doc stores a document read whole: give no --window with it");
    if (!c->n_queries && !c->queries_file && !c->input_json) args_die("%s", no_question);
}

static void parse_args(cli *c, int argc, char **argv)
{
    wim_options_default(&c->o);
    wim_model_params_default(&c->mp);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (args_is(arg, "-h", "--help")) {
            printf("%s%s%s", usage_head, args_engine_usage, usage_tail);
            exit(0);
        } else if (args_is(arg, NULL, "--version")) {
            args_version();
        } else if (args_is(arg, NULL, "--json")) {
            c->json = true;
        } else if (args_is(arg, NULL, "--quiet")) {
            c->quiet = true;
        } else if (args_is(arg, NULL, "--segment-tokens") &&
                   args_engine(argc, argv, &i, &c->o, &c->mp)) {
            c->segment_tokens_given = true;
        } else if (find_flag(arg)) {
            if (i + 1 == argc) args_die("%s needs a value", arg);
            set_flag(c, find_flag(arg)->id, argv[++i]);
        } else if (!args_engine(argc, argv, &i, &c->o, &c->mp)) {
            args_die("unknown option '%s' (see wim --help)", arg);
        }
    }
    check_args(c);
}

/* ============================================================================
 * Input
 * ========================================================================= */

/* Opens every input file, so that a missing one is named before the model loads. */
static void open_inputs(cli *c)
{
    if (c->queries_file) c->queries_in = slurp_open("questions file", c->queries_file);
    if (c->input_json)
        c->json_in = slurp_open("input JSON", c->input_json);
    else if (c->doc_path)
        c->doc_in = slurp_open("document", c->doc_path);
}

/* How far the inputs are read: a document no further than a reading takes
 * (what the context holds, or past it in a window the most wim reads), the
 * questions no further than the context holds. */
typedef struct bounds {
    size_t doc, ctx; /* bytes */
    char doc_why[96], ctx_why[96];
} bounds;

static bounds input_bounds(const cli *c, const wim_model *m)
{
    wim_model_info info;
    wim_model_describe(m, &info);
    wim_options whole = c->o;
    whole.window = WIM_WINDOW_OFF;
    bounds b = {.doc = wim_model_max_doc_bytes(m, &c->o),
                .ctx = wim_model_max_doc_bytes(m, &whole)};
    snprintf(b.ctx_why, sizeof b.ctx_why, "more than the context limit of %d tokens can hold",
             c->o.n_ctx ? c->o.n_ctx : info.n_ctx_train);
    snprintf(b.doc_why, sizeof b.doc_why, "%s",
             b.doc > b.ctx ? "the most read of a document past the context" : b.ctx_why);
    return b;
}

/* All of f, or one line and exit when it is longer than max bytes (why). */
static char *read_bounded(FILE *f, const char *what, const char *path, size_t max, const char *why,
                          size_t *len)
{
    char *text = slurp_from(f, what, path, max, len);
    if (!text) args_die("%s '%s' is over %zu bytes: %s", what, path, max, why);
    return text;
}

/* A PDF or HTML file may be read up to EXTRACT_MAX_FILE bytes, its text
 * being far shorter than it; a text file only as far as its own bound. */
static size_t file_bound(const char *head, size_t n)
{
    return extract_kind_of(head, n) == EXTRACT_TEXT ? 0 : EXTRACT_MAX_FILE;
}

/* The document's text: a text file as it is, a PDF's or HTML page's extracted
 * (chosen by content, so stdin may be any of them). */
static char *read_document(cli *c, const bounds *b, size_t *len)
{
    size_t raw_len, bound;
    char *raw =
        slurp_wider(c->doc_in, "document", c->doc_path, b->doc, file_bound, &raw_len, &bound);
    if (!raw && bound > b->doc)
        args_die("document '%s' is over %zu bytes, the most read of a PDF or HTML file",
                 c->doc_path, bound);
    if (!raw) args_die("document '%s' is over %zu bytes: %s", c->doc_path, b->doc, b->doc_why);
    char *text, err[512];
    extract_kind k = extract_kind_of(raw, raw_len);
    int rc = extract_text(raw, raw_len, 0, &text, len, err, sizeof err);
    free(raw);
    if (rc != 0 && k != EXTRACT_TEXT)
        args_die("document '%s' (%s): %s", c->doc_path, extract_kind_name(k), err);
    if (rc != 0) args_die("%s", err);
    return text;
}

/* The reference format: {"context": ..., "query": ..., "target": ...}. JSON
 * escapes take up to 6 bytes a byte and the question may be as long again, so
 * a file over 16 times what the context holds cannot hold a document that
 * fits; past the context, the document's own bound is added (its prose
 * escapes to about its own length). */
static char *read_input_json(cli *c, const bounds *b, size_t *len)
{
    size_t max = 16 * b->ctx + (b->doc > b->ctx ? b->doc : 0);
    char *text = read_bounded(c->json_in, "input JSON", c->input_json, max, b->doc_why, len);
    char why[200];
    cJSON *j = json_read(text, *len, why, sizeof why);
    free(text);
    if (!j) args_die("'%s': %s", c->input_json, why);
    const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(j, "context");
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "query");
    if (!cJSON_IsString(ctx)) {
        cJSON_Delete(j);
        args_die("'%s' is not a JSON object with a string \"context\"", c->input_json);
    }
    char *doc = strdup(ctx->valuestring);
    *len = strlen(doc);
    if (c->n_queries == 0 && cJSON_IsString(q))
        add_query(c, c->json_query = strdup(q->valuestring));
    cJSON_Delete(j);
    return doc;
}

/* --queries FILE: one question a line, blank lines skipped. */
static void read_queries(cli *c, const bounds *b)
{
    size_t len;
    c->queries_text = read_bounded(c->queries_in, "questions file", c->queries_file,
                                   MAX_QUERIES * (b->ctx + 2), b->ctx_why, &len);
    for (char *line = strtok(c->queries_text, "\r\n"); line; line = strtok(NULL, "\r\n"))
        if (strspn(line, " \t") < strlen(line)) add_query(c, line);
}

/* ============================================================================
 * Showing events
 * ========================================================================= */

static volatile sig_atomic_t interrupts;
static wim_session *running; /* told of the first Ctrl-C, so a margin or answer ends at once */

static void on_sigint(int sig)
{
    (void)sig;
    /* only a store to a lock-free atomic, as wim.h promises for a handler */
    if (++interrupts == 1 && running)
        wim_session_interrupt(running, WIM_STOP); // NOLINT(bugprone-signal-handler)
    if (interrupts >= 2) {
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
    int write_error; /* errno of a failed write to stdout, or 0 */
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

/* " · q2" when there are several questions. */
static const char *question_tag(const wim_event *ev)
{
    static char tag[32];
    tag[0] = '\0';
    if (ev->n_queries > 1) snprintf(tag, sizeof tag, " · q%d", ev->question + 1);
    return tag;
}

/* " · p. 3" or " · pp. 3-4" when the document has pages (form feeds), else "". */
static const char *pages_tag(const wim_event *ev)
{
    static char tag[48];
    tag[0] = '\0';
    if (ev->first_page == ev->last_page && ev->first_page > 0)
        snprintf(tag, sizeof tag, " · p. %d", ev->first_page);
    else if (ev->first_page > 0)
        snprintf(tag, sizeof tag, " · pp. %d-%d", ev->first_page, ev->last_page);
    return tag;
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
        fprintf(stderr, "[margin %d/%d%s%s] %s\n", ev->segment + 1, ev->n_segments,
                question_tag(ev), pages_tag(ev), ev->text);
        break;
    case WIM_EVENT_VERDICT:
        clear_progress(v);
        fprintf(stderr, "[verdict %d/%d%s] %s", ev->segment + 1, ev->n_segments, question_tag(ev),
                ev->relevant ? "relevant" : "not relevant");
        if (ev->parsed || !*ev->text) /* no text: a verdict no model gave, and why */
            fprintf(stderr, "%s%s\n", *ev->reason ? ": " : "", ev->reason);
        else
            fprintf(stderr, " (unclear answer: %s)\n", ev->text);
        break;
    case WIM_EVENT_WINDOW:
        clear_progress(v);
        fprintf(stderr, "[window] from segment %d/%d, after %d tokens of notes carried\n",
                ev->segment + 1, ev->n_segments, ev->n_tokens);
        break;
    case WIM_EVENT_LET_GO:
        clear_progress(v);
        fprintf(stderr, "[let go %d/%d%s] %s\n", ev->segment + 1, ev->n_segments, question_tag(ev),
                ev->text);
        break;
    case WIM_EVENT_ANSWER_TOKEN:
    case WIM_EVENT_ANSWER:
    case WIM_EVENT_DONE:
        clear_progress(v);
        break;
    }
}

/* One question's answer streams to stdout; several are printed whole, each
 * after its question, since they are written side by side. */
static void show_answer(const wim_event *ev)
{
    if (ev->n_queries == 1 && ev->type == WIM_EVENT_ANSWER_TOKEN) fputs(ev->text, stdout);
    if (ev->n_queries == 1 && ev->type == WIM_EVENT_ANSWER) putchar('\n');
    if (ev->n_queries > 1 && ev->type == WIM_EVENT_ANSWER)
        printf("Q%d: %s\nA%d: %s\n\n", ev->question + 1, ev->queries[ev->question],
               ev->question + 1, ev->text);
}

static void print_json(const wim_event *ev)
{
    char *line = wim_event_to_json(ev);
    if (line) printf("%s\n", line);
    free(line);
}

static int on_event(const wim_event *ev, void *user)
{
    view *v = user;
    if (v->json)
        print_json(ev);
    else if (!v->quiet)
        show_event(v, ev);
    if (!v->json) show_answer(ev);
    if (fflush(stdout) != 0) { /* a full disk or a closed pipe: the answer would be lost */
        v->write_error = errno;
        return WIM_ABORT;
    }
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

/* Answers from the stored document: its segment size applies unless the user
 * gave another, which cannot be used (said here; 1, as when aborted). */
static int ask_stored(wim_session *s, const cli *c, view *v)
{
    if (wim_session_load_doc(s, c->load_doc) != 0) return -1;
    int stored = wim_session_options(s)->segment_tokens;
    if (c->segment_tokens_given && stored != c->o.segment_tokens) {
        fprintf(stderr,
                "wim: error: cannot use '%s': it was made with another segment size; give "
                "--segment-tokens %d or none\n",
                c->load_doc, stored);
        return 1;
    }
    return wim_session_ask(s, c->queries, c->n_queries, on_event, v);
}

/* Reads (or loads) the document and answers; saves it when asked. */
static int conduct(wim_session *s, const cli *c, const char *doc, size_t len, view *v)
{
    if (c->load_doc) return ask_stored(s, c, v);
    int rc = wim_session_run_many(s, doc, len, c->queries, c->n_queries, on_event, v);
    if (rc == 0 && c->save_doc && wim_session_save_doc(s, c->save_doc) != 0) rc = -1;
    return rc;
}

/* Runs on the loaded model and reports; 0 on success. */
static int run(cli *c, wim_model *m, const char *doc, size_t len)
{
    char err[512];
    wim_session *s = wim_session_new(m, &c->o, err, sizeof err);
    if (!s) {
        fprintf(stderr, "wim: error: %s\n", err);
        return 1;
    }
    running = s;
    signal(SIGINT, on_sigint);
    view v = {.json = c->json, .quiet = c->quiet, .tty = isatty(2)};
    int rc = conduct(s, c, doc, len, &v);
    if (rc < 0) {
        clear_progress(&v);
        fprintf(stderr, "wim: error: %s\n", wim_session_error(s));
    }
    running = NULL;
    if (v.write_error)
        fprintf(stderr, "wim: error: cannot write the answer: %s\n", strerror(v.write_error));
    wim_session_free(s);
    return rc == 0 ? 0 : 1;
}

/* Dies now, before the long reading, when its result could not be kept: a
 * closed stdout, or a --save-doc file that cannot be written (one created here
 * to find out is removed again). */
static void check_outputs(const cli *c)
{
    if (fcntl(1, F_GETFD) < 0) args_die("cannot write the answer: %s", strerror(errno));
    if (!c->save_doc) return;
    bool existed = access(c->save_doc, F_OK) == 0;
    FILE *f = fopen(c->save_doc, "ab");
    if (!f) args_die("--save-doc: cannot write '%s': %s", c->save_doc, strerror(errno));
    fclose(f);
    if (!existed) remove(c->save_doc);
}

/* The model is freed at exit, so that an input refused after loading it
 * (args_die) leaves nothing behind for LeakSanitizer or the reader's eye. */
static wim_model *loaded;

static void free_model(void)
{
    wim_model_free(loaded);
    loaded = NULL;
}

static wim_model *load_model(const cli *c)
{
    char err[512];
    loaded = wim_model_load(c->model_path, &c->mp, err, sizeof err);
    if (!loaded) args_die("%s", err);
    atexit(free_model);
    return loaded;
}

/* The questions and the document, each read no further than its bound (an
 * endless stdin or /dev/zero is refused, not read). */
static char *read_inputs(cli *c, const wim_model *m, size_t *len)
{
    bounds b = input_bounds(c, m);
    if (c->queries_in) read_queries(c, &b);
    char *doc = NULL;
    *len = 0;
    if (c->json_in) doc = read_input_json(c, &b, len);
    if (c->n_queries == 0) {
        free(doc);
        args_die("%s", no_question);
    }
    if (!doc && c->doc_in) doc = read_document(c, &b, len);
    return doc;
}

int main(int argc, char **argv)
{
    cli c = {0};
    parse_args(&c, argc, argv);
    check_outputs(&c);
    open_inputs(&c);
    wim_model *m = load_model(&c);
    size_t len;
    char *doc = read_inputs(&c, m, &len);
    int rc = run(&c, m, doc, len);
    free(doc);
    free(c.queries_text);
    free(c.json_query);
    return rc;
}
