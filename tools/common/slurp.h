/*
 * slurp.h - reading a whole file into memory, for the tools.
 */
#ifndef WIM_TOOLS_SLURP_H
#define WIM_TOOLS_SLURP_H

#include <stddef.h>
#include <stdio.h>

/* The whole of path ("-" = standard input), NUL-terminated, its length in *len.
 * On failure dies with one line naming the file by what it is ("document"). */
char *slurp(const char *what, const char *path, size_t *len);

/* The same in two steps, so that a file that cannot be opened is named before
 * any slow work and an endless one is not read without bound: slurp_open dies
 * when path cannot be opened; slurp_from reads at most max + 1 bytes of it,
 * and returns NULL when there were more than max (closing f unless it is stdin). */
FILE *slurp_open(const char *what, const char *path);
char *slurp_from(FILE *f, const char *what, const char *path, size_t max, size_t *len);

/* slurp_from for a file whose bound depends on what it is: once more than max
 * bytes are read, wider(those bytes, their number) may give a larger bound
 * (a PDF is far bigger than its text; 0 for none), and reading goes on up to
 * it. NULL when the file is over the bound that applied, which *bound gets. */
char *slurp_wider(FILE *f, const char *what, const char *path, size_t max,
                  size_t (*wider)(const char *head, size_t n), size_t *len, size_t *bound);

#endif
