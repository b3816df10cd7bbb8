/*
 * runner.c - the evaluation loop: each example in each mode, scored, one JSON
 * line each, with a progress bar over the whole run. Each run gets a fresh
 * session, so only one mode's contexts are in memory at a time.
 */
#include "runner.h"

#include "metrics.h"
#include "slurp.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ============================================================================
 * The output folder: settings, and what is done already
 * ========================================================================= */

static char *path_in(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* What must match for old results to be comparable with new ones. */
static char *settings_json(const eval_run *r)
{
    const char *slash = strrchr(r->model_path, '/');
    struct stat st;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", slash ? slash + 1 : r->model_path);
    cJSON_AddNumberToObject(j, "model_bytes",
                            stat(r->model_path, &st) == 0 ? (double)st.st_size : 0);
    cJSON_AddStringToObject(j, "classify", wim_classify_name(r->o.classify));
    cJSON_AddNumberToObject(j, "segment_tokens", r->o.segment_tokens);
    cJSON_AddNumberToObject(j, "max_margin_tokens", r->o.max_margin_tokens);
    cJSON_AddNumberToObject(j, "max_verdict_tokens", r->o.max_verdict_tokens);
    cJSON_AddNumberToObject(j, "max_answer_tokens", r->o.max_answer_tokens);
    cJSON_AddNumberToObject(j, "temp", r->o.temp);
    cJSON_AddNumberToObject(j, "top_p", r->o.top_p);
    cJSON_AddNumberToObject(j, "seed", r->o.seed);
    cJSON_AddBoolToObject(j, "fixed_length", r->o.fixed_length);
    cJSON_AddBoolToObject(j, "assume_relevant", r->o.assume_relevant);
    cJSON_AddBoolToObject(j, "quoted_margins", r->o.quoted_margins);
    cJSON_AddBoolToObject(j, "quoted_answers", r->o.quoted_answers);
    cJSON_AddBoolToObject(j, "judge", r->judge != NULL);
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    return text;
}

/* Writes settings.json, or checks it against an earlier run's. */
static int check_settings(const eval_run *r, char *err, size_t errlen)
{
    char *path = path_in(r->out_dir, "settings.json"), *want = settings_json(r);
    int rc = 0;
    if (access(path, F_OK) == 0) {
        size_t len;
        char *had = slurp("settings file", path, &len);
        while (len && had[len - 1] == '\n')
            had[--len] = '\0';
        if (strcmp(had, want) != 0) {
            snprintf(err, errlen,
                     "'%s' holds results made with other settings (see its settings.json): "
                     "use another --out",
                     r->out_dir);
            rc = -1;
        }
        free(had);
    } else {
        FILE *f = fopen(path, "w");
        if (!f || fprintf(f, "%s\n", want) < 0) rc = -1;
        if (f && fclose(f) != 0) rc = -1;
        if (rc) snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
    }
    free(path);
    free(want);
    return rc;
}

static int make_dir(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) return 0;
    snprintf(err, errlen, "cannot make the folder '%s': %s", dir, strerror(errno));
    return -1;
}

/* A finished line's key, "dataset\tid\tmode\n", to the stream user. */
static int add_key(const cJSON *j, int line, void *user)
{
    (void)line;
    const char *d = cJSON_GetStringValue(cJSON_GetObjectItem(j, "dataset"));
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(j, "id"));
    const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(j, "mode"));
    if (d && id && m) fprintf(user, "%s\t%s\t%s\n", d, id, m);
    return 0;
}

/* The keys of finished lines, "dataset\tid\tmode\n" each, in one string. A
 * last line cut short by a crash is cut off the file, so appends stay whole. */
static char *done_keys(const char *path)
{
    if (access(path, F_OK) != 0) return strdup("\n");
    size_t len;
    char *text = slurp("results file", path, &len);
    char *end = strrchr(text, '\n');
    size_t whole = end ? (size_t)(end - text) + 1 : 0;
    if (whole < len && truncate(path, (off_t)whole) != 0) {
        free(text);
        return NULL;
    }
    text[whole] = '\0';
    char *keys = NULL;
    size_t size;
    FILE *k = open_memstream(&keys, &size);
    if (!k) {
        free(text);
        return NULL;
    }
    fputc('\n', k);
    eval_each_json_line(text, add_key, k);
    if (fclose(k) != 0) {
        free(keys);
        keys = NULL;
    }
    free(text);
    return keys;
}

static bool is_done(const char *keys, const char *set, const char *id, const char *mode)
{
    size_t n = strlen(set) + strlen(id) + strlen(mode) + 4;
    char *key = malloc(n);
    if (!key) return false;
    snprintf(key, n, "\n%s\t%s\t%s\n", set, id, mode);
    bool found = strstr(keys, key) != NULL;
    free(key);
    return found;
}

/* ============================================================================
 * One example in one mode
 * ========================================================================= */

typedef struct outcome {
    cJSON *margins;  /* wim: [{segment, text, relevant}] */
    cJSON *verdicts; /* rag: [{segment, relevant}], the raw segments judged */
    char *answer;
    wim_stats st;
} outcome;

/* A wim verdict marks its segment's margin (margins may come before their
 * verdicts in any order under the overlap schedule); a rag verdict is a
 * segment's own. */
static void mark_verdict(outcome *o, const wim_event *ev)
{
    cJSON *m;
    cJSON_ArrayForEach(m, o->margins)
    {
        if (cJSON_GetObjectItem(m, "segment")->valueint == ev->segment &&
            !cJSON_HasObjectItem(m, "relevant")) {
            cJSON_AddBoolToObject(m, "relevant", ev->relevant);
            return;
        }
    }
    m = cJSON_CreateObject();
    cJSON_AddNumberToObject(m, "segment", ev->segment);
    cJSON_AddBoolToObject(m, "relevant", ev->relevant);
    cJSON_AddItemToArray(o->verdicts, m);
}

static int on_event(const wim_event *ev, void *user)
{
    outcome *o = user;
    if (ev->type == WIM_EVENT_MARGIN) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddNumberToObject(m, "segment", ev->segment);
        cJSON_AddStringToObject(m, "text", ev->text);
        cJSON_AddItemToArray(o->margins, m);
    } else if (ev->type == WIM_EVENT_VERDICT) {
        mark_verdict(o, ev);
    } else if (ev->type == WIM_EVENT_DONE) {
        o->answer = strdup(ev->answers[0]);
        o->st = *ev->stats;
    }
    return WIM_CONTINUE;
}

static void add_scores(cJSON *line, const eval_example *e, const char *answer)
{
    cJSON *s = cJSON_AddObjectToObject(line, "score");
    if (e->is_list) {
        eval_prf prf = eval_word_list_score(answer, (const char *const *)e->targets, e->n_targets);
        cJSON_AddNumberToObject(s, "precision", prf.precision);
        cJSON_AddNumberToObject(s, "recall", prf.recall);
        cJSON_AddNumberToObject(s, "f1", prf.f1);
        return;
    }
    cJSON_AddBoolToObject(s, "exact", eval_exact_match(answer, e->targets[0]));
    cJSON_AddBoolToObject(s, "contains", eval_contains(answer, e->targets[0]));
}

static void add_judgement(cJSON *line, const eval_run *r, const eval_example *e, const char *answer)
{
    if (!r->judge || e->is_list) return;
    char *reply = NULL;
    int verdict = eval_judge_ask(r->judge, e->query, e->targets[0], answer, &reply);
    cJSON *j = cJSON_AddObjectToObject(line, "judge");
    if (verdict >= 0)
        cJSON_AddBoolToObject(j, "correct", verdict == 1);
    else
        cJSON_AddNullToObject(j, "correct");
    cJSON_AddStringToObject(j, "reply", reply ? reply : "");
    free(reply);
}

/* Milliseconds to a tenth, as the event stream gives them. */
static void add_ms(cJSON *j, const char *name, double ms)
{
    cJSON_AddNumberToObject(j, name, (double)(long long)(ms * 10 + 0.5) / 10);
}

static void add_stats(cJSON *line, const wim_stats *st)
{
    cJSON_AddNumberToObject(line, "doc_tokens", st->n_doc_tokens);
    cJSON_AddNumberToObject(line, "segments", st->n_segments);
    cJSON_AddNumberToObject(line, "relevant", st->n_relevant);
    add_ms(line, "wall_ms", st->total_ms);
    cJSON_AddNumberToObject(line, "prefill_tokens", st->n_prefill_tokens);
    add_ms(line, "prefill_ms", st->prefill_ms);
    cJSON_AddNumberToObject(line, "decode_tokens", st->n_decode_tokens);
    add_ms(line, "decode_ms", st->decode_ms);
}

/* Runs e in mode m and returns its results line. */
static cJSON *run_one(const eval_run *r, const char *set, const eval_example *e, wim_mode m)
{
    cJSON *line = cJSON_CreateObject();
    cJSON_AddStringToObject(line, "dataset", set);
    cJSON_AddStringToObject(line, "id", e->id);
    cJSON_AddStringToObject(line, "mode", wim_mode_name(m));
    wim_options o = r->o;
    o.mode = m;
    char err[512];
    outcome out = {.margins = cJSON_CreateArray(), .verdicts = cJSON_CreateArray()};
    wim_session *s = wim_session_new(r->model, &o, err, sizeof err);
    int rc = s ? wim_session_run(s, e->context, strlen(e->context), e->query, on_event, &out) : -1;
    if (rc != 0 || !out.answer) {
        cJSON_AddStringToObject(line, "error", s ? wim_session_error(s) : err);
        cJSON_Delete(out.margins);
        cJSON_Delete(out.verdicts);
    } else {
        cJSON_AddStringToObject(line, "answer", out.answer);
        add_scores(line, e, out.answer);
        add_judgement(line, r, e, out.answer);
        add_stats(line, &out.st);
        cJSON_AddItemToObject(line, "margins", out.margins);
        cJSON_AddItemToObject(line, "verdicts", out.verdicts);
    }
    wim_session_free(s);
    free(out.answer);
    return line;
}

/* ============================================================================
 * Progress over the whole run
 * ========================================================================= */

/* Runs are counted, and their documents' bytes too: the ETA goes by bytes,
 * since a 64k-token document takes far longer than a 16k one. */
typedef struct progress {
    int total, done;                /* runs */
    double bytes_total, bytes_done; /* document bytes of those runs */
    double t0;                      /* when the run started, seconds */
    bool tty, quiet;
} progress;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void show(const progress *p, const char *set, const char *id, const char *mode)
{
    if (p->quiet) return;
    double spent = now_s() - p->t0;
    double eta = p->bytes_done > 0 ? spent / p->bytes_done * (p->bytes_total - p->bytes_done) : 0;
    char bar[21];
    int filled = p->total ? p->done * 20 / p->total : 20;
    for (int i = 0; i < 20; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[20] = '\0';
    fprintf(stderr, "%s[%s] %d/%d %s %s/%s · %d:%02d elapsed · ETA %d:%02d%s",
            p->tty ? "\r\033[K" : "", bar, p->done, p->total, mode, set, id, (int)spent / 60,
            (int)spent % 60, (int)eta / 60, (int)eta % 60, p->tty ? "" : "\n");
    fflush(stderr);
}

/* ============================================================================
 * The run
 * ========================================================================= */

static void count_todo(const eval_run *r, const eval_dataset *sets, int n_sets, const char *keys,
                       progress *p)
{
    for (int d = 0; d < n_sets; d++)
        for (int i = 0; i < sets[d].n && (r->limit == 0 || i < r->limit); i++)
            for (int m = 0; m < r->n_modes; m++)
                if (!is_done(keys, sets[d].name, sets[d].ex[i].id, wim_mode_name(r->modes[m]))) {
                    p->total++;
                    p->bytes_total += (double)strlen(sets[d].ex[i].context);
                }
}

static int append_line(FILE *f, cJSON *line)
{
    char *text = cJSON_PrintUnformatted(line);
    int rc = text && fprintf(f, "%s\n", text) > 0 && fflush(f) == 0 ? 0 : -1;
    free(text);
    return rc;
}

static int run_sets(const eval_run *r, const eval_dataset *sets, int n_sets, const char *keys,
                    FILE *f, progress *p)
{
    for (int d = 0; d < n_sets; d++)
        for (int i = 0; i < sets[d].n && (r->limit == 0 || i < r->limit); i++)
            for (int m = 0; m < r->n_modes; m++) {
                const eval_example *e = &sets[d].ex[i];
                const char *mode = wim_mode_name(r->modes[m]);
                if (is_done(keys, sets[d].name, e->id, mode)) continue;
                show(p, sets[d].name, e->id, mode);
                cJSON *line = run_one(r, sets[d].name, e, r->modes[m]);
                int rc = append_line(f, line);
                cJSON_Delete(line);
                if (rc != 0) return -1;
                p->done++;
                p->bytes_done += (double)strlen(e->context);
            }
    return 0;
}

int eval_run_all(const eval_run *r, const eval_dataset *sets, int n_sets, char *err, size_t errlen)
{
    if (make_dir(r->out_dir, err, errlen) != 0 || check_settings(r, err, errlen) != 0) return -1;
    char *path = path_in(r->out_dir, "results.jsonl");
    char *keys = done_keys(path);
    FILE *f = keys ? fopen(path, "a") : NULL;
    int rc = f ? 0 : -1;
    if (rc == 0) {
        progress p = {.t0 = now_s(), .tty = isatty(2), .quiet = r->quiet};
        count_todo(r, sets, n_sets, keys, &p);
        if (!r->quiet && p.total == 0) fprintf(stderr, "wim-eval: every run is done already\n");
        rc = run_sets(r, sets, n_sets, keys, f, &p);
        if (!r->quiet && p.total > 0) {
            double spent = now_s() - p.t0;
            fprintf(stderr, "%swim-eval: %d runs in %d:%02d\n", p.tty ? "\r\033[K" : "", p.done,
                    (int)spent / 60, (int)spent % 60);
        }
    }
    if (f && fclose(f) != 0) rc = -1;
    if (rc != 0) snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
    free(keys);
    free(path);
    return rc;
}
