/*
 * text.h - UTF-8 checks and character-boundary arithmetic on byte strings.
 *
 * Documents, queries and templates arrive as bytes; everything that cuts or
 * inspects them works on byte offsets, so these helpers never leave a cut
 * inside a character.
 */
#ifndef WIM_TEXT_H
#define WIM_TEXT_H

#include "strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True if s[0..len) is strict UTF-8: no overlong forms, no surrogates, nothing
 * above U+10FFFF, no truncated sequence. Otherwise *bad_offset (if not NULL) is
 * the offset of the first byte that does not start a valid character. */
bool wim_utf8_valid(const char *s, size_t len, size_t *bad_offset);

/* Decodes the character starting at s[pos] (pos < len) into *cp and returns its
 * length in bytes, or 0 if no valid character starts there. */
size_t wim_utf8_decode(const char *s, size_t len, size_t pos, uint32_t *cp);

/* The largest character boundary <= pos in valid UTF-8 s[0..len). s may stop
 * inside its last character (text still streaming in); then, for pos >= len,
 * that is where the character starts, so s[0..floor) holds whole characters. */
size_t wim_utf8_floor(const char *s, size_t len, size_t pos);

/* The smallest character boundary >= pos in valid UTF-8 s[0..len); len if pos >= len. */
size_t wim_utf8_ceil(const char *s, size_t len, size_t pos);

/* Appends text with every invalid UTF-8 byte replaced by U+FFFD, so that what
 * a model wrote can always be shown and put in JSON. */
bool wim_strbuf_append_utf8(wim_strbuf *b, const char *text, size_t len);

#endif
