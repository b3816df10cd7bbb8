/*
 * strbuf.h - a growable byte string, for margins, answers and prompts in the
 * library, and replies in the server and wim-eval: code both sides of wim.h
 * build, each into its own copy (hidden in libwim.so), so that the programs
 * need no header of src/.
 */
#ifndef WIM_STRBUF_H
#define WIM_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct wim_strbuf {
    char *s;    /* NUL-terminated once anything was appended; may be NULL */
    size_t len; /* bytes before the NUL */
    size_t cap; /* bytes allocated */
} wim_strbuf;

bool wim_strbuf_append(wim_strbuf *b, const char *text, size_t len);
bool wim_strbuf_puts(wim_strbuf *b, const char *text);
const char *wim_strbuf_str(const wim_strbuf *b); /* "" when empty */
void wim_strbuf_clear(wim_strbuf *b);
void wim_strbuf_free(wim_strbuf *b);

#endif
