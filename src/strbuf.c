/*
 * strbuf.c - growable byte strings.
 */
#include "strbuf.h"
#include "text.h"

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

/* Bytes in the UTF-8 sequence a lead byte announces (1 for an invalid lead). */
static size_t sequence_length(unsigned char lead)
{
    if (lead >= 0xF0) return 4;
    if (lead >= 0xE0) return 3;
    if (lead >= 0xC0) return 2;
    return 1;
}

bool wim_strbuf_append_utf8(wim_strbuf *b, const char *text, size_t len)
{
    static const char replacement[] = "\xEF\xBF\xBD";
    size_t i = 0, bad;
    while (i < len) {
        size_t n = sequence_length((unsigned char)text[i]);
        bool ok = n <= len - i && wim_utf8_valid(text + i, n, &bad) && text[i] != '\0';
        if (!wim_strbuf_append(b, ok ? text + i : replacement, ok ? n : 3)) return false;
        i += ok ? n : 1;
    }
    return true;
}
