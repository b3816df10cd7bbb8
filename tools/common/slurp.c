/*
 * slurp.c - reading a whole file into memory, for the tools.
 */
#include "slurp.h"

#include "args.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Up to limit bytes of f; NULL when out of memory. */
static char *read_all(FILE *f, size_t limit, size_t *len)
{
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap + 1);
    while (buf && n < limit &&
           (got = fread(buf + n, 1, cap - n < limit - n ? cap - n : limit - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *grown = realloc(buf, (cap *= 2) + 1);
            if (!grown) free(buf);
            buf = grown;
        }
    }
    if (buf) buf[n] = '\0';
    *len = n;
    return buf;
}

FILE *slurp_open(const char *what, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) args_die("cannot open %s '%s': %s", what, path, strerror(errno));
    return f;
}

char *slurp_from(FILE *f, const char *what, const char *path, size_t max, size_t *len)
{
    char *text = read_all(f, max < SIZE_MAX ? max + 1 : max, len);
    if (ferror(f)) args_die("cannot read %s '%s': %s", what, path, strerror(errno));
    if (f != stdin) fclose(f);
    if (!text) args_die("out of memory reading '%s'", path);
    if (*len <= max) return text;
    free(text);
    return NULL;
}

char *slurp(const char *what, const char *path, size_t *len)
{
    return slurp_from(slurp_open(what, path), what, path, SIZE_MAX, len);
}
