/*
 * json.c - every JSON text wim's programs read from outside goes through
 * json_read, so that each refuses the same things with the same words: a NUL
 * (a zero byte or \u0000, which cJSON would silently end a string at), data
 * after the value, and a key given twice in one object (which cJSON would
 * resolve by taking the first, while other parsers take the last).
 */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* True when text holds a zero byte or a \u0000 escape. */
static bool has_nul(const char *text, size_t len)
{
    if (memchr(text, '\0', len)) return true;
    for (size_t i = 0; i + 6 <= len; i++) {
        if (text[i] != '\\' || strncmp(text + i + 1, "u0000", 5) != 0) continue;
        size_t slashes = 0;
        while (slashes < i && text[i - 1 - slashes] == '\\')
            slashes++;
        if (slashes % 2 == 0) return true; /* the backslash itself is not escaped */
    }
    return false;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A key object j has twice, found by sorting its keys (a body of a million
 * keys must not take a million squared comparisons); NULL if none, or if
 * there is no memory to look (the caller then sees *oom). */
static const char *twice_in(const cJSON *j, bool *oom)
{
    size_t n = 0;
    for (const cJSON *a = j->child; a; a = a->next)
        n++;
    const char **keys = n > 1 ? malloc(n * sizeof *keys) : NULL;
    if (n > 1 && !keys) *oom = true;
    if (!keys) return NULL;
    n = 0;
    for (const cJSON *a = j->child; a; a = a->next)
        keys[n++] = a->string;
    qsort(keys, n, sizeof *keys, by_name);
    const char *dup = NULL;
    for (size_t i = 1; i < n && !dup; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0) dup = keys[i];
    free(keys);
    return dup;
}

/* The first key found twice in one object, anywhere inside j; NULL if none. */
static const char *duplicate_key(const cJSON *j, bool *oom)
{
    const char *dup = cJSON_IsObject(j) ? twice_in(j, oom) : NULL;
    for (const cJSON *a = j->child; a && !dup && !*oom; a = a->next)
        dup = duplicate_key(a, oom);
    return dup;
}

cJSON *json_read(const char *text, size_t len, char *err, size_t errlen)
{
    text = text ? text : "";
    if (has_nul(text, len)) {
        snprintf(err, errlen, "it contains a NUL character (a zero byte or \\u0000)");
        return NULL;
    }
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!j) {
        snprintf(err, errlen, "it is not JSON");
        return NULL;
    }
    size_t at = (size_t)(end - text);
    while (at < len && strchr(" \t\r\n", text[at]))
        at++;
    bool oom = false;
    const char *dup = at < len ? NULL : duplicate_key(j, &oom);
    if (at < len)
        snprintf(err, errlen, "it has data after the JSON value, at byte %zu", at);
    else if (dup)
        snprintf(err, errlen, "it gives the key \"%.64s\" twice in one object", dup);
    else if (oom)
        snprintf(err, errlen, "there is no memory to read it");
    if (at == len && !dup && !oom) return j;
    cJSON_Delete(j);
    return NULL;
}
