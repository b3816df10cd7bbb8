/*
 * slurp.h - reading a whole file into memory, for the tools.
 */
#ifndef WIM_TOOLS_SLURP_H
#define WIM_TOOLS_SLURP_H

#include <stddef.h>

/* The whole of path ("-" = standard input), NUL-terminated, its length in *len.
 * On failure dies with one line naming the file by what it is ("document"). */
char *slurp(const char *what, const char *path, size_t *len);

#endif
