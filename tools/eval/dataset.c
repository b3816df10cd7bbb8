/*
 * dataset.c - reading a file of evaluation examples in any of the accepted
 * shapes, and refusing duplicate ids, which would make resuming ambiguous. An
 * example may name its context by a document file ("context_file", text, PDF
 * or HTML, relative to the data file) instead of holding it.
 */
#include "dataset.h"

#include "extract.h"
#include "slurp.h"

#include <stdlib.h>
#include <string.h>

static char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *b = slash ? slash + 1 : path;
    const char *dot = strrchr(b, '.');
    size_t n = dot && dot != b ? (size_t)(dot - b) : strlen(b);
    char *name = malloc(n + 1);
    if (name) {
        memcpy(name, b, n);
        name[n] = '\0';
    }
    return name;
}

void eval_dataset_free(eval_dataset *d)
{
    for (int i = 0; i < d->n; i++)
        eval_example_free(&d->ex[i]);
    free(d->ex);
    free(d->name);
    memset(d, 0, sizeof *d);
}

/* ============================================================================
 * Contexts in document files
 * ========================================================================= */

/* The text of the document file name, relative to the data file at path
 * unless absolute; NULL with the reason in why. */
static char *read_context_file(const char *name, const char *path, char *why, size_t whylen)
{
    const char *slash = strrchr(path, '/');
    int dir = name[0] == '/' || !slash ? 0 : (int)(slash - path + 1);
    size_t cap = (size_t)dir + strlen(name) + 1, raw_len, len;
    char *file = malloc(cap), *text = NULL;
    if (!file) return NULL;
    snprintf(file, cap, "%.*s%s", dir, path, name);
    char *raw = slurp_from(slurp_open("context file", file), "context file", file, EXTRACT_MAX_FILE,
                           &raw_len);
    char reason[300];
    if (!raw)
        snprintf(why, whylen, "context file '%s' is over %zu bytes", name, EXTRACT_MAX_FILE);
    else if (extract_text(raw, raw_len, 0, &text, &len, reason, sizeof reason) != 0)
        snprintf(why, whylen, "context file '%s' (%s): %s", name,
                 extract_kind_name(extract_kind_of(raw, raw_len)), reason);
    free(raw);
    free(file);
    return text;
}

/* j, or when it names a "context_file", a copy with that file's text as its
 * "context" (to delete); NULL with the reason in why. */
static cJSON *with_context(const cJSON *j, const char *path, char *why, size_t whylen)
{
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(j, "context_file");
    if (!file) return (cJSON *)j;
    if (!cJSON_IsString(file) || cJSON_HasObjectItem(j, "context")) {
        snprintf(why, whylen, "needs a string \"context_file\" or \"context\", not both");
        return NULL;
    }
    char *text = read_context_file(file->valuestring, path, why, whylen);
    cJSON *copy = text ? cJSON_Duplicate(j, true) : NULL;
    if (copy)
        cJSON_AddStringToObject(copy, "context", text);
    else if (text)
        snprintf(why, whylen, "is too big to copy");
    free(text);
    return copy;
}

/* ============================================================================
 * Examples
 * ========================================================================= */

/* Adds one example from j; where says where it came from, for errors. */
static int add(eval_dataset *d, const cJSON *j, const char *default_id, const char *path,
               const char *where, char *err, size_t errlen)
{
    char why[400];
    eval_example *grown = realloc(d->ex, (size_t)(d->n + 1) * sizeof *grown);
    if (!grown) {
        snprintf(err, errlen, "out of memory reading '%s'", path);
        return -1;
    }
    d->ex = grown;
    cJSON *full = with_context(j, path, why, sizeof why);
    int rc = full ? eval_example_from_json(full, default_id, &d->ex[d->n], why, sizeof why) : -1;
    if (full != j) cJSON_Delete(full);
    if (rc != 0) {
        snprintf(err, errlen, "'%s'%s: the example %s", path, where, why);
        return -1;
    }
    for (int i = 0; i < d->n; i++)
        if (strcmp(d->ex[i].id, d->ex[d->n].id) == 0) {
            snprintf(err, errlen, "'%s'%s: a second example with id '%s'", path, where,
                     d->ex[d->n].id);
            eval_example_free(&d->ex[d->n]);
            return -1;
        }
    d->n++;
    return 0;
}

int eval_each_json_line(char *text, int (*each)(const cJSON *j, int line, void *user), void *user)
{
    int line = 0, rc = 0;
    for (char *p = text, *next; rc == 0 && p && *p; p = next) {
        next = strchr(p, '\n');
        if (next) *next++ = '\0';
        line++;
        if (strspn(p, " \t\r") == strlen(p)) continue;
        cJSON *j = cJSON_Parse(p);
        rc = each(j, line, user);
        cJSON_Delete(j);
    }
    return rc;
}

typedef struct lines_ctx {
    eval_dataset *d;
    const char *path;
    char *err;
    size_t errlen;
} lines_ctx;

static int add_json_line(const cJSON *j, int line, void *user)
{
    lines_ctx *c = user;
    char id[32], where[48];
    snprintf(id, sizeof id, "%d", line);
    snprintf(where, sizeof where, " line %d", line);
    if (j) return add(c->d, j, id, c->path, where, c->err, c->errlen);
    snprintf(c->err, c->errlen, "'%s' line %d is not JSON", c->path, line);
    return -1;
}

static int load_lines(eval_dataset *d, char *text, const char *path, char *err, size_t errlen)
{
    lines_ctx c = {d, path, err, errlen};
    return eval_each_json_line(text, add_json_line, &c);
}

static int load_json(eval_dataset *d, const cJSON *j, const char *path, char *err, size_t errlen)
{
    if (cJSON_IsObject(j)) return add(d, j, d->name, path, "", err, errlen);
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, j)
    {
        char id[32], where[48];
        snprintf(id, sizeof id, "%d", ++i);
        snprintf(where, sizeof where, " item %d", i);
        if (add(d, item, id, path, where, err, errlen) != 0) return -1;
    }
    return 0;
}

int eval_dataset_load(const char *path, eval_dataset *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    size_t len;
    char *text = slurp("data file", path, &len);
    d->name = base_name(path);
    /* A whole-file JSON value is an object or array; anything else is JSON Lines. */
    cJSON *j = cJSON_ParseWithOpts(text, NULL, 1);
    int rc = j ? load_json(d, j, path, err, errlen) : load_lines(d, text, path, err, errlen);
    cJSON_Delete(j);
    free(text);
    if (rc == 0 && d->n == 0) {
        snprintf(err, errlen, "'%s' holds no examples", path);
        rc = -1;
    }
    if (rc != 0) eval_dataset_free(d);
    return rc;
}
