/*
 * strbuf.c - growable byte strings.
 */
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

bool wim_strbuf_append(wim_strbuf *b, const char *text, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) return false;
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, text, len);
    b->len += len;
    b->s[b->len] = '\0';
    return true;
}

bool wim_strbuf_puts(wim_strbuf *b, const char *text)
{
    return wim_strbuf_append(b, text, strlen(text));
}

const char *wim_strbuf_str(const wim_strbuf *b)
{
    return b->s ? b->s : "";
}

void wim_strbuf_clear(wim_strbuf *b)
{
    b->len = 0;
    if (b->s) b->s[0] = '\0';
}

void wim_strbuf_free(wim_strbuf *b)
{
    free(b->s);
    *b = (wim_strbuf){0};
}
