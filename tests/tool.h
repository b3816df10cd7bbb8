/*
 * tool.h - for the tests of command-line tools: run one with arguments through
 * the shell, capture one of its streams, and check a failure is one clear line.
 */
#ifndef WIM_TEST_TOOL_H
#define WIM_TEST_TOOL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

typedef struct tool_result {
    int status;        /* exit status, -1 when killed */
    char out[1 << 16]; /* what the stream held (cut at the size) */
} tool_result;

/* dir/name in one of 8 rotating buffers, so a few can be used in one call. */
static inline const char *tool_path(const char *dir, const char *name)
{
    static char buf[8][512];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

/* The whole file at path, NUL-terminated (malloc'd), or NULL when it cannot be opened. */
static inline char *tool_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *text = malloc((size_t)n + 1);
    text[fread(text, 1, (size_t)n, f)] = '\0';
    fclose(f);
    return text;
}

/* Removes a test's scratch folder and all in it; 0 on success. */
static inline int tool_remove_dir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

/* Runs the shell command cmd, capturing what it writes on stdout. */
static inline void tool_shell(tool_result *r, const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(r->out, 1, sizeof r->out - 1, p);
    r->out[n] = '\0';
    int st = pclose(p);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs "program args" capturing stream 1 (stdout) or 2 (stderr); the other goes
 * to /dev/null. */
static inline void tool_run(tool_result *r, const char *program, int stream, const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s %s", program, args,
             stream == 2 ? "2>&1 >/dev/null" : "2>/dev/null");
    tool_shell(r, cmd);
}

/* Runs "program args", its stdout sent where redirect says ("> FILE"), and
 * checks that it fails with status 1 and exactly one line on stderr, starting
 * "NAME: error: " (NAME = the program's base name) and holding needle. */
static inline void tool_expect_error_to(const char *program, const char *args, const char *redirect,
                                        const char *needle)
{
    static tool_result r;
    char prefix[128], cmd[4096];
    const char *slash = strrchr(program, '/');
    snprintf(prefix, sizeof prefix, "%s: error: ", slash ? slash + 1 : program);
    snprintf(cmd, sizeof cmd, "%s %s 2>&1 %s", program, args, redirect);
    tool_shell(&r, cmd);
    if (r.status != 1 || !strstr(r.out, needle))
        fail_msg("%s: status %d, stderr '%s', wanted '%s'", cmd, r.status, r.out, needle);
    assert_true(strncmp(r.out, prefix, strlen(prefix)) == 0);
    assert_ptr_equal(strchr(r.out, '\n'), r.out + strlen(r.out) - 1); /* exactly one line */
}

/* The same with stdout thrown away. */
static inline void tool_expect_error(const char *program, const char *args, const char *needle)
{
    tool_expect_error_to(program, args, ">/dev/null", needle);
}

#endif
