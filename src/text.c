/*
 * text.c - strict UTF-8 decoding (RFC 3629), character boundaries, and the
 * check every text to be read passes.
 */
#include "text.h"

#include "wim.h"

#include <stdio.h>
#include <string.h>

static bool is_continuation(unsigned char b)
{
    return (b & 0xC0) == 0x80;
}

/* A lead byte fixes the sequence length and the range of the second byte; that
 * range is what excludes overlong forms, surrogates and values past U+10FFFF. */
static size_t sequence_length(unsigned char lead, unsigned char *second_min,
                              unsigned char *second_max)
{
    *second_min = 0x80;
    *second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) return 2;
    if (lead >= 0xE0 && lead <= 0xEF) {
        if (lead == 0xE0) *second_min = 0xA0; /* below is overlong */
        if (lead == 0xED) *second_max = 0x9F; /* above is a surrogate */
        return 3;
    }
    if (lead >= 0xF0 && lead <= 0xF4) {
        if (lead == 0xF0) *second_min = 0x90; /* below is overlong */
        if (lead == 0xF4) *second_max = 0x8F; /* above is past U+10FFFF */
        return 4;
    }
    return 0;
}

size_t wim_utf8_decode(const char *s, size_t len, size_t pos, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s + pos;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    unsigned char second_min, second_max;
    size_t n = sequence_length(u[0], &second_min, &second_max);
    if (n == 0 || len - pos < n || u[1] < second_min || u[1] > second_max) return 0;
    uint32_t c = u[0] & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if (!is_continuation(u[i])) return 0;
        c = (c << 6) | (u[i] & 0x3Fu);
    }
    *cp = c;
    return n;
}

bool wim_utf8_valid(const char *s, size_t len, size_t *bad_offset)
{
    size_t pos = 0;
    while (pos < len) {
        uint32_t cp;
        size_t n = wim_utf8_decode(s, len, pos, &cp);
        if (n == 0) {
            if (bad_offset) *bad_offset = pos;
            return false;
        }
        pos += n;
    }
    return true;
}

/* Where the character holding s[pos] starts; a character is at most 4 bytes,
 * so no more than 3 continuation bytes are stepped over. */
static size_t start_of_char(const char *s, size_t pos)
{
    for (int back = 0; back < 3 && pos > 0 && is_continuation((unsigned char)s[pos]); back++)
        pos--;
    return pos;
}

size_t wim_utf8_floor(const char *s, size_t len, size_t pos)
{
    if (pos < len) return start_of_char(s, pos);
    if (len == 0) return 0;
    /* The end is a boundary unless the text stops inside its last character. */
    size_t last = start_of_char(s, len - 1);
    unsigned char second_min, second_max;
    size_t n = sequence_length((unsigned char)s[last], &second_min, &second_max);
    return n > len - last ? last : len;
}

size_t wim_utf8_ceil(const char *s, size_t len, size_t pos)
{
    while (pos < len && is_continuation((unsigned char)s[pos]))
        pos++;
    return pos < len ? pos : len;
}

int wim_check_text(const char *what, const char *text, size_t len, char *err, size_t errlen)
{
    size_t bad, blank = 0;
    const char *nul = memchr(text, '\0', len);
    while (blank < len && strchr(" \t\r\n\f\v", text[blank]))
        blank++;
    if (blank == len)
        snprintf(err, errlen, "%s is empty", what);
    else if (nul)
        snprintf(err, errlen, "%s contains a NUL byte at offset %zu", what, (size_t)(nul - text));
    else if (!wim_utf8_valid(text, len, &bad))
        snprintf(err, errlen, "%s is not valid UTF-8 at byte offset %zu", what, bad);
    else
        return 0;
    return -1;
}

bool wim_strbuf_append_utf8(wim_strbuf *b, const char *text, size_t len)
{
    static const char replacement[] = "\xEF\xBF\xBD";
    uint32_t cp;
    for (size_t i = 0; i < len;) {
        size_t n = text[i] ? wim_utf8_decode(text, len, i, &cp) : 0;
        if (!wim_strbuf_append(b, n ? text + i : replacement, n ? n : 3)) return false;
        i += n ? n : 1;
    }
    return true;
}
