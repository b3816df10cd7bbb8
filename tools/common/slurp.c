/*
 * slurp.c - reading a whole file into memory, for the tools.
 */
#include "slurp.h"

#include "args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_all(FILE *f, size_t *len)
{
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
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

char *slurp(const char *what, const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) args_die("cannot open %s '%s': %s", what, path, strerror(errno));
    char *text = read_all(f, len);
    if (ferror(f)) args_die("cannot read %s '%s': %s", what, path, strerror(errno));
    if (f != stdin) fclose(f);
    if (!text) args_die("out of memory reading '%s'", path);
    return text;
}
