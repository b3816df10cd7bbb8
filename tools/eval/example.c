/*
 * example.c - one evaluation example to and from a JSON line.
 */
#include "example.h"

#include <stdlib.h>
#include <string.h>

void eval_example_free(eval_example *e)
{
    free(e->id);
    free(e->context);
    free(e->query);
    for (int i = 0; e->targets && i < e->n_targets; i++)
        free(e->targets[i]);
    free(e->targets);
    memset(e, 0, sizeof *e);
}

int eval_example_set(eval_example *e, const char *id, const char *context, const char *query,
                     const char *const *targets, int n, bool is_list)
{
    memset(e, 0, sizeof *e);
    e->id = strdup(id);
    e->context = strdup(context);
    e->query = strdup(query);
    e->targets = calloc((size_t)(n > 0 ? n : 1), sizeof *e->targets);
    e->is_list = is_list;
    bool ok = e->id && e->context && e->query && e->targets;
    for (int i = 0; ok && i < n; i++, e->n_targets++)
        ok = (e->targets[i] = strdup(targets[i])) != NULL;
    if (!ok) eval_example_free(e);
    return ok ? 0 : -1;
}

static const char *string_field(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The target's strings: the string itself, or every element of a list. */
static int read_targets(const cJSON *t, const char **out, int cap)
{
    if (cJSON_IsString(t)) {
        out[0] = t->valuestring;
        return 1;
    }
    if (!cJSON_IsArray(t)) return -1;
    int n = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, t)
    {
        if (!cJSON_IsString(item) || n == cap) return -1;
        out[n++] = item->valuestring;
    }
    return n;
}

int eval_example_from_json(const cJSON *j, const char *default_id, eval_example *e, char *err,
                           size_t errlen)
{
    enum { MAX_TARGETS = 4096 };
    static const char *targets[MAX_TARGETS];
    const char *context = string_field(j, "context"), *query = string_field(j, "query");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "target");
    char number[32];
    const char *id_text = cJSON_IsString(id) ? id->valuestring : default_id;
    if (cJSON_IsNumber(id)) {
        snprintf(number, sizeof number, "%.0f", id->valuedouble);
        id_text = number;
    }
    int n = t ? read_targets(t, targets, MAX_TARGETS) : -1;
    const char *bad = !cJSON_IsObject(j) ? "is not a JSON object"
                      : !context         ? "has no string \"context\""
                      : !query           ? "has no string \"query\""
                      : n < 0            ? "has no \"target\" that is a string or a list of strings"
                                         : NULL;
    if (bad) {
        snprintf(err, errlen, "%s", bad);
        return -1;
    }
    if (eval_example_set(e, id_text, context, query, targets, n, !cJSON_IsString(t)) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

cJSON *eval_example_to_json(const eval_example *e)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", e->id);
    cJSON_AddStringToObject(j, "context", e->context);
    cJSON_AddStringToObject(j, "query", e->query);
    if (e->is_list)
        cJSON_AddItemToObject(
            j, "target", cJSON_CreateStringArray((const char *const *)e->targets, e->n_targets));
    else
        cJSON_AddStringToObject(j, "target", e->n_targets ? e->targets[0] : "");
    return j;
}

int eval_example_write(FILE *f, const eval_example *e)
{
    cJSON *j = eval_example_to_json(e);
    char *line = j ? cJSON_PrintUnformatted(j) : NULL;
    int rc = line && fprintf(f, "%s\n", line) > 0 ? 0 : -1;
    free(line);
    cJSON_Delete(j);
    return rc;
}
