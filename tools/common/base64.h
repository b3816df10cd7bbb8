/*
 * base64.h - strict base64 decoding, for documents sent inside JSON.
 */
#ifndef WIM_TOOLS_BASE64_H
#define WIM_TOOLS_BASE64_H

#include <stddef.h>

/* The bytes that in[0..len) encodes (RFC 4648's alphabet, '=' padding optional,
 * nothing else: no whitespace, no "data:" prefix). 0 with *out malloc'd and
 * NUL-terminated, or -1 with a one-line reason in err naming the offset. */
int base64_decode(const char *in, size_t len, char **out, size_t *out_len, char *err,
                  size_t errlen);

#endif
