/*
 * slurp.c - reading a whole file into memory, for the tools.
 */
#include "slurp.h"

#include "args.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Reads f on into *buf (holding *len bytes) until it holds limit bytes or f
 * ends; *buf becomes NULL when out of memory. */
static void read_on(FILE *f, char **buf, size_t *len, size_t limit)
{
    size_t cap = *len + (1 << 16), n = *len, got;
    char *grown = realloc(*buf, cap + 1);
    if (!grown) free(*buf);
    *buf = grown;
    while (*buf && n < limit &&
           (got = fread(*buf + n, 1, cap - n < limit - n ? cap - n : limit - n, f)) > 0) {
        n += got;
        if (n == cap) {
            grown = realloc(*buf, (cap *= 2) + 1);
            if (!grown) free(*buf);
            *buf = grown;
        }
    }
    if (*buf) (*buf)[n] = '\0';
    *len = n;
}

/* Up to limit bytes of f; NULL when out of memory. */
static char *read_all(FILE *f, size_t limit, size_t *len)
{
    char *buf = NULL;
    *len = 0;
    read_on(f, &buf, len, limit);
    return buf;
}

/* Dies when f could not be read or memory ran out; closes f unless it is stdin. */
static void read_done(FILE *f, const char *what, const char *path, const char *text)
{
    if (ferror(f)) args_die("cannot read %s '%s': %s", what, path, strerror(errno));
    if (f != stdin) fclose(f);
    if (!text) args_die("out of memory reading '%s'", path);
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
    read_done(f, what, path, text);
    if (*len <= max) return text;
    free(text);
    return NULL;
}

char *slurp_wider(FILE *f, const char *what, const char *path, size_t max,
                  size_t (*wider)(const char *head, size_t n), size_t *len, size_t *bound)
{
    *bound = max;
    char *text = read_all(f, max < SIZE_MAX ? max + 1 : max, len);
    size_t more = text && *len > max ? wider(text, *len) : 0;
    if (more > max && more < SIZE_MAX) {
        *bound = more;
        read_on(f, &text, len, more + 1);
    }
    read_done(f, what, path, text);
    if (*len <= *bound) return text;
    free(text);
    return NULL;
}

char *slurp(const char *what, const char *path, size_t *len)
{
    return slurp_from(slurp_open(what, path), what, path, SIZE_MAX, len);
}
