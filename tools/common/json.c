/*
 * json.c - every JSON text wim's programs read from outside goes through
 * json_read, so that each refuses the same things with the same words: a NUL
 * (a zero byte or \u0000, which cJSON would silently end a string at), data
 * after the value, and a key given twice in one object (which cJSON would
 * resolve by taking the first, while other parsers take the last).
 */
#include "json.h"

#include <stdio.h>
#include <string.h>

bool json_has_nul(const char *text, size_t len)
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

/* The first key found twice in one object, anywhere inside j; NULL if none. */
static const char *duplicate_key(const cJSON *j)
{
    for (const cJSON *a = j ? j->child : NULL; a; a = a->next) {
        if (cJSON_IsObject(j))
            for (const cJSON *b = a->next; b; b = b->next)
                if (strcmp(a->string, b->string) == 0) return a->string;
        const char *inner = duplicate_key(a);
        if (inner) return inner;
    }
    return NULL;
}

cJSON *json_read(const char *text, size_t len, char *err, size_t errlen)
{
    text = text ? text : "";
    if (json_has_nul(text, len)) {
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
    const char *dup = at < len ? NULL : duplicate_key(j);
    if (at < len)
        snprintf(err, errlen, "it has data after the JSON value, at byte %zu", at);
    else if (dup)
        snprintf(err, errlen, "it gives the key \"%.64s\" twice in one object", dup);
    if (at == len && !dup) return j;
    cJSON_Delete(j);
    return NULL;
}
