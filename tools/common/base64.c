/*
 * base64.c - strict base64 decoding, for documents sent inside JSON (the
 * server's "document_base64"). GLib's g_base64_decode skips what is not base64
 * instead of refusing it, so a damaged upload would decode to other bytes
 * without a word; this decoder refuses it with the offset.
 */
#include "base64.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The 6 bits a character stands for, or -1. */
static int sextet(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    return c == '/' ? 63 : -1;
}

/* Data characters before the padding, or -1 when the padding is misplaced. */
static long long data_length(const char *in, size_t len)
{
    size_t pad = 0;
    while (pad < 2 && pad < len && in[len - 1 - pad] == '=')
        pad++;
    if (pad && len % 4 != 0) return -1;
    return (long long)(len - pad);
}

int base64_decode(const char *in, size_t len, char **out, size_t *out_len, char *err, size_t errlen)
{
    long long n = data_length(in, len);
    if (n < 0 || n % 4 == 1) {
        snprintf(err, errlen, "not base64: its length (%zu) or '=' padding is wrong", len);
        return -1;
    }
    unsigned char *b = malloc((size_t)n / 4 * 3 + 3);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t k = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < (size_t)n; i++) {
        int v = sextet((unsigned char)in[i]);
        if (v < 0) {
            snprintf(err, errlen, "not base64: a character that is not at offset %zu", i);
            free(b);
            return -1;
        }
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            b[k++] = (unsigned char)(acc >> 16);
            b[k++] = (unsigned char)(acc >> 8);
            b[k++] = (unsigned char)acc;
        }
    }
    /* 2 or 3 characters left over make 1 or 2 bytes */
    if (n % 4 == 2) b[k++] = (unsigned char)(acc >> 4);
    if (n % 4 == 3) {
        b[k++] = (unsigned char)(acc >> 10);
        b[k++] = (unsigned char)(acc >> 2);
    }
    b[k] = '\0';
    *out = (char *)b;
    *out_len = k;
    return 0;
}
