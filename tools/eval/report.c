/*
 * report.c - summing a run's results.jsonl into rows (dataset x length x
 * mode), written as a Markdown table, a CSV file and a gnuplot plot of score
 * and time against length for each mode.
 */
#include "report.h"

#include "dataset.h"
#include "slurp.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ============================================================================
 * Rows
 * ========================================================================= */

typedef struct row {
    char dataset[128];
    char mode[8];
    int length;                      /* the length class in tokens: a power of two, 0 = unknown */
    int n, errors;                   /* examples scored, and failed */
    int n_qa, n_list;                /* of n: scored as QA, as a word list */
    double exact, contains, f1;      /* sums */
    int n_judged;                    /* QA answers the judge could read */
    double judge;                    /* sum of its "correct" */
    double wall_ms, prefill, decode; /* sums */
} row;

typedef struct table {
    row *rows;
    int n;
} table;

/* The length class of a document: the nearest power of two, so 16,100 tokens
 * and 16,400 tokens are both "16k". */
static int length_class(double tokens)
{
    if (tokens < 1) return 0;
    return (int)pow(2, round(log2(tokens)));
}

static row *find_row(table *t, const char *dataset, int length, const char *mode)
{
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->rows[i].dataset, dataset) && t->rows[i].length == length &&
            !strcmp(t->rows[i].mode, mode))
            return &t->rows[i];
    row *grown = realloc(t->rows, (size_t)(t->n + 1) * sizeof *grown);
    if (!grown) return NULL;
    t->rows = grown;
    row *r = memset(&t->rows[t->n++], 0, sizeof *r);
    snprintf(r->dataset, sizeof r->dataset, "%s", dataset);
    snprintf(r->mode, sizeof r->mode, "%s", mode);
    r->length = length;
    return r;
}

static double number(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(j, name);
    return cJSON_IsNumber(v) ? v->valuedouble : cJSON_IsTrue(v) ? 1 : 0;
}

static void add_scores(row *r, const cJSON *line)
{
    const cJSON *s = cJSON_GetObjectItem(line, "score");
    if (cJSON_HasObjectItem(s, "f1")) {
        r->n_list++;
        r->f1 += number(s, "f1");
    } else {
        r->n_qa++;
        r->exact += number(s, "exact");
        r->contains += number(s, "contains");
    }
    /* an unclear reply from the judge counts as not correct */
    const cJSON *judge = cJSON_GetObjectItem(line, "judge");
    if (judge) {
        r->n_judged++;
        r->judge += cJSON_IsTrue(cJSON_GetObjectItem(judge, "correct"));
    }
}

/* One results line into its row; a line that is not JSON counts for nothing. */
static int add_line(const cJSON *line, int line_number, void *user)
{
    (void)line_number;
    table *t = user;
    const char *dataset = cJSON_GetStringValue(cJSON_GetObjectItem(line, "dataset"));
    const char *mode = cJSON_GetStringValue(cJSON_GetObjectItem(line, "mode"));
    if (!dataset || !mode) return 0;
    row *r = find_row(t, dataset, length_class(number(line, "doc_tokens")), mode);
    if (!r) return -1;
    if (cJSON_HasObjectItem(line, "error")) {
        r->errors++;
        return 0;
    }
    r->n++;
    add_scores(r, line);
    r->wall_ms += number(line, "wall_ms");
    r->prefill += number(line, "prefill_tokens");
    r->decode += number(line, "decode_tokens");
    return 0;
}

static int by_dataset_length_mode(const void *a, const void *b)
{
    const row *x = a, *y = b;
    int c = strcmp(x->dataset, y->dataset);
    if (c) return c;
    if (x->length != y->length) return x->length < y->length ? -1 : 1;
    return strcmp(x->mode, y->mode);
}

static int read_rows(const char *path, table *t)
{
    size_t len;
    char *text = slurp("results file", path, &len);
    int rc = eval_each_json_line(text, add_line, t);
    free(text);
    if (t->n) qsort(t->rows, (size_t)t->n, sizeof *t->rows, by_dataset_length_mode);
    return rc;
}

/* ============================================================================
 * Writing
 * ========================================================================= */

static const char *length_name(int length, char *buf, size_t cap)
{
    if (length == 0)
        snprintf(buf, cap, "-");
    else if (length >= 1024)
        snprintf(buf, cap, "%dk", length / 1024);
    else
        snprintf(buf, cap, "%d", length);
    return buf;
}

/* A mean, or blank when nothing was counted. */
static const char *mean(double sum, int n, int decimals, char *buf, size_t cap)
{
    if (n == 0)
        buf[0] = '\0';
    else
        snprintf(buf, cap, "%.*f", decimals, sum / n);
    return buf;
}

enum { N_CELLS = 12 };

static const char *const columns[N_CELLS] = {
    "dataset", "length", "mode",   "examples",       "exact",         "contains",
    "f1",      "judge",  "wall_s", "prefill_tokens", "decode_tokens", "errors"};

/* A row as text: means, blank where nothing was counted. */
static void cells_of(const row *r, char cells[N_CELLS][136])
{
    snprintf(cells[0], 136, "%s", r->dataset);
    length_name(r->length, cells[1], 136);
    snprintf(cells[2], 136, "%s", r->mode);
    snprintf(cells[3], 136, "%d", r->n);
    mean(r->exact, r->n_qa, 3, cells[4], 136);
    mean(r->contains, r->n_qa, 3, cells[5], 136);
    mean(r->f1, r->n_list, 3, cells[6], 136);
    mean(r->judge, r->n_judged, 3, cells[7], 136);
    mean(r->wall_ms / 1e3, r->n, 1, cells[8], 136);
    mean(r->prefill, r->n, 0, cells[9], 136);
    mean(r->decode, r->n, 0, cells[10], 136);
    snprintf(cells[11], 136, "%d", r->errors);
}

/* Cells joined: CSV, or a Markdown table row (blank cells shown as a dash). */
static void print_cells(FILE *f, const char *const *cells, bool markdown)
{
    for (int i = 0; i < N_CELLS; i++) {
        const char *c = markdown && !cells[i][0] ? "-" : cells[i];
        fprintf(f, "%s%s", markdown ? (i ? " | " : "| ") : (i ? "," : ""), c);
    }
    fputs(markdown ? " |\n" : "\n", f);
}

static void print_table(FILE *f, const table *t, bool markdown)
{
    print_cells(f, columns, markdown);
    if (markdown) {
        for (int i = 0; i < N_CELLS; i++)
            fputs(i ? "---|" : "|---|", f);
        fputc('\n', f);
    }
    for (int i = 0; i < t->n; i++) {
        char cells[N_CELLS][136];
        const char *p[N_CELLS];
        cells_of(&t->rows[i], cells);
        for (int k = 0; k < N_CELLS; k++)
            p[k] = cells[k];
        print_cells(f, p, markdown);
    }
}

static int write_file(const char *dir, const char *name, const table *t, bool markdown)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    print_table(f, t, markdown);
    return fclose(f);
}

/* ============================================================================
 * The plot
 * ========================================================================= */

/* The score a row is plotted by: F1 for word lists, else the judge's when
 * there is one, else containment. -1 when there is none. */
static double plotted_score(const row *r)
{
    if (r->n_list) return r->f1 / r->n_list;
    if (r->n_judged) return r->judge / r->n_judged;
    return r->n_qa ? r->contains / r->n_qa : -1;
}

static int by_length(const void *a, const void *b)
{
    const row *x = a, *y = b;
    return x->length - y->length;
}

/* plot.dat: one gnuplot data block per mode, a point per length: the score
 * and time averaged over every example of that length, whatever its dataset.
 * The modes plotted go to titles, one a line. The rows are left sorted by length. */
static int write_plot_data(const char *path, table *t, FILE *titles)
{
    static const char *const modes[] = {"llm", "rag", "wim"};
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    if (t->n) qsort(t->rows, (size_t)t->n, sizeof *t->rows, by_length);
    int blocks = 0;
    for (int m = 0; m < 3; m++) {
        bool any = false;
        for (int i = 0; i < t->n;) {
            int length = t->rows[i].length, n = 0, n_scored = 0;
            double score = 0, wall = 0;
            for (; i < t->n && t->rows[i].length == length; i++) {
                const row *r = &t->rows[i];
                if (strcmp(r->mode, modes[m]) != 0 || r->n == 0 || length == 0) continue;
                double sc = plotted_score(r);
                if (sc >= 0) {
                    score += sc * r->n;
                    n_scored += r->n;
                }
                wall += r->wall_ms / 1e3;
                n += r->n;
            }
            if (n == 0) continue;
            if (!any) fprintf(f, "%s# %s\n", blocks++ ? "\n\n" : "", modes[m]);
            if (!any) fprintf(titles, "%s\n", modes[m]);
            any = true;
            fprintf(f, "%d %.4f %.3f\n", length, n_scored ? score / n_scored : 0, wall / n);
        }
    }
    return fclose(f);
}

/* One panel: every series' column col against length. */
static void plot_panel(FILE *gp, const char *ylabel, int col, const char *titles)
{
    fprintf(gp, "set ylabel '%s'\nplot ", ylabel);
    int i = 0;
    for (const char *t = titles; *t; i++) {
        const char *nl = strchr(t, '\n');
        fprintf(gp, "%s'plot.dat' index %d using 1:%d with linespoints title '%.*s'", i ? ", " : "",
                i, col, (int)(nl - t), t);
        t = nl + 1;
    }
    fputc('\n', gp);
}

/* plot.gp and plot.dat, then gnuplot makes plot.png. 1 when gnuplot is not
 * installed (the tables are still written). */
static int write_plot(const char *dir, table *t)
{
    char path[4096], *titles = NULL;
    size_t titles_len = 0;
    FILE *names = open_memstream(&titles, &titles_len);
    snprintf(path, sizeof path, "%s/plot.dat", dir);
    int rc = names ? write_plot_data(path, t, names) : -1;
    if (names) fclose(names);
    snprintf(path, sizeof path, "%s/plot.gp", dir);
    FILE *gp = rc == 0 && titles_len ? fopen(path, "w") : NULL;
    if (gp) {
        fputs("set terminal png size 1200,500\nset output 'plot.png'\n"
              "set multiplot layout 1,2 title 'wim-eval: score and time by document length'\n"
              "set xlabel 'document tokens'\nset logscale x 2\nset grid\nset key left top\n",
              gp);
        fputs("set yrange [0:1.05]\n", gp);
        plot_panel(gp, "score (F1, judge or contains)", 2, titles);
        fputs("set autoscale y\nset yrange [0:*]\n", gp);
        plot_panel(gp, "mean wall seconds", 3, titles);
        fputs("unset multiplot\n", gp);
        rc = fclose(gp);
    }
    free(titles);
    if (rc != 0 || !titles_len) return rc;
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) return 1;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot plot.gp 2>plot.log", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ============================================================================
 * The report
 * ========================================================================= */

int eval_report(const char *dir, int quiet, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/results.jsonl", dir);
    table t = {0};
    int rc = read_rows(path, &t);
    if (rc == 0 && (write_file(dir, "summary.md", &t, true) != 0 ||
                    write_file(dir, "summary.csv", &t, false) != 0))
        rc = -1;
    if (rc != 0)
        snprintf(err, errlen, "cannot write the summary in '%s': %s", dir, strerror(errno));
    if (rc == 0 && !quiet) print_table(stdout, &t, true);
    int plot = rc == 0 ? write_plot(dir, &t) : 0; /* last: it reorders the rows by length */
    if (plot < 0) {
        snprintf(err, errlen, "gnuplot failed to draw '%s/plot.png' (see %s/plot.log)", dir, dir);
        rc = -1;
    }
    if (plot == 1 && !quiet)
        fprintf(stderr, "wim-eval: no gnuplot (apt-get install gnuplot-nox): no plot.png\n");
    free(t.rows);
    return rc;
}
