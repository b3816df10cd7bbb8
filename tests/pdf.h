/*
 * pdf.h - PDFs the tests make themselves: pages of known words drawn with
 * cairo's PDF surface (poppler reads them back as text), and the same file
 * encrypted by qpdf. No PDF is committed, so what a test reads is in its source.
 */
#ifndef WIM_TEST_PDF_H
#define WIM_TEST_PDF_H

#include <cairo-pdf.h>
#include <cairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

typedef struct pdf_bytes {
    unsigned char *s;
    size_t len, cap;
} pdf_bytes;

static inline cairo_status_t pdf_take(void *user, const unsigned char *data, unsigned int n)
{
    pdf_bytes *b = user;
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s) return CAIRO_STATUS_NO_MEMORY;
    }
    memcpy(b->s + b->len, data, n);
    b->len += n;
    return CAIRO_STATUS_SUCCESS;
}

/* A PDF of n pages, page i holding the line pages[i] (NULL: a filled square and
 * no text, like a scanned page); malloc'd, its length in *len. */
static inline char *pdf_make(const char *const *pages, int n, size_t *len)
{
    pdf_bytes b = {0};
    cairo_surface_t *s = cairo_pdf_surface_create_for_stream(pdf_take, &b, 300, 300);
    cairo_t *c = cairo_create(s);
    cairo_set_font_size(c, 12);
    for (int i = 0; i < n; i++) {
        if (pages[i]) {
            cairo_move_to(c, 20, 50);
            cairo_show_text(c, pages[i]);
        } else {
            cairo_rectangle(c, 20, 20, 100, 100);
            cairo_fill(c);
        }
        cairo_show_page(c);
    }
    cairo_destroy(c);
    cairo_surface_finish(s);
    cairo_surface_destroy(s);
    *len = b.len;
    return (char *)b.s;
}

/* Writes bytes[0..len) to path; 0 on success. */
static inline int pdf_save(const char *path, const char *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = fwrite(bytes, 1, len, f);
    return fclose(f) != 0 || n != len ? -1 : 0;
}

/* Writes a PDF of those pages to path; 0 on success. */
static inline int pdf_write(const char *path, const char *const *pages, int n)
{
    size_t len;
    char *b = pdf_make(pages, n, &len);
    int rc = b ? pdf_save(path, b, len) : -1;
    free(b);
    return rc;
}

/* The bytes of the file at path (malloc'd, at most 1 MiB), or NULL. */
static inline char *pdf_load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *b = malloc(1 << 20);
    *len = b ? fread(b, 1, 1 << 20, f) : 0;
    fclose(f);
    return b;
}

/* Encrypts in to out with qpdf (AES-256, user password "u"); 0 on success. */
static inline int pdf_encrypt(const char *in, const char *out)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "qpdf --encrypt u o 256 -- '%s' '%s'", in, out);
    return system(cmd);
}

/* A PDF of those pages encrypted by qpdf, its bytes (malloc'd), or NULL; qpdf
 * reads and writes files, in a folder of its own made and removed here. */
static inline char *pdf_make_encrypted(const char *const *pages, int n, size_t *len)
{
    char dir[] = "/tmp/wim-pdf-XXXXXX", plain[64], locked[64];
    if (!mkdtemp(dir)) return NULL;
    snprintf(plain, sizeof plain, "%s/plain.pdf", dir);
    snprintf(locked, sizeof locked, "%s/locked.pdf", dir);
    char *b = pdf_write(plain, pages, n) == 0 && pdf_encrypt(plain, locked) == 0
                  ? pdf_load(locked, len)
                  : NULL;
    remove(plain);
    remove(locked);
    rmdir(dir);
    return b;
}

/* The base64 of s[0..n), malloc'd: what a client sends as "document_base64". */
static inline char *pdf_base64(const char *s, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
    for (size_t i = 0; out && i < n; i += 3) {
        unsigned v = (unsigned char)s[i] << 16;
        if (i + 1 < n) v |= (unsigned char)s[i + 1] << 8;
        if (i + 2 < n) v |= (unsigned char)s[i + 2];
        *o++ = abc[v >> 18 & 63];
        *o++ = abc[v >> 12 & 63];
        *o++ = i + 1 < n ? abc[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? abc[v & 63] : '=';
    }
    if (out) *o = '\0';
    return out;
}

#endif
