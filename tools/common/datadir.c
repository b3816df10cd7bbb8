/*
 * datadir.c - the installed share/wim/ found from the running program's path
 * (/proc/self/exe), so that an installed tree can be moved (DESTDIR, a .deb
 * unpacked anywhere) and still find its page, prompts and tokenizers.
 */
#include "datadir.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* PREFIX from PREFIX/bin/NAME, written to out; 0 when the program is not in a bin/. */
static int install_prefix(char *out, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return 0;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return 0;
    *slash = '\0'; /* PREFIX/bin */
    slash = strrchr(exe, '/');
    if (!slash || strcmp(slash, "/bin") != 0) return 0;
    *slash = '\0';
    return snprintf(out, len, "%s", exe) < (int)len;
}

char *data_dir(const char *sub, const char *built)
{
    char prefix[PATH_MAX], path[PATH_MAX + 64];
    struct stat st;
    if (install_prefix(prefix, sizeof prefix) &&
        snprintf(path, sizeof path, "%s/share/wim/%s", prefix, sub) < (int)sizeof path &&
        stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return strdup(path);
    return strdup(built);
}
