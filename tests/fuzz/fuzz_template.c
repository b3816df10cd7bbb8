/*
 * fuzz_template.c - libFuzzer target: prompts as a user's --templates
 * directory gives them (template.c's loading), filled with any values
 * (wim_template_fill). Beyond memory errors it checks the promise of
 * template.h: a file loads exactly when it is UTF-8 without NUL, and the
 * pieces give back the template with each placeholder replaced by its value,
 * never scanning a value.
 *
 * The input: a byte naming the file (a prompt's name, or one that names none),
 * then the file and the values, split at each 0xff byte (never in UTF-8 text).
 */
#include "fuzz.h"
#include "template.h"
#include "text.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { N_VALUES = 4 };

static char dir[4096]; /* the --templates directory, in $TMPDIR */

static void remove_dir(void)
{
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    temp_pattern(dir, sizeof dir, "wim-fuzz-template");
    if (!mkdtemp(dir)) abort();
    atexit(remove_dir);
    return 0;
}

/* The next part of the input, up to a 0xff byte or its end. */
static size_t next_part(const uint8_t *data, size_t size, size_t *at, const char **part)
{
    *part = (const char *)data + *at;
    const uint8_t *end = memchr(data + *at, 0xff, size - *at);
    size_t len = end ? (size_t)(end - (data + *at)) : size - *at;
    *at += len + (end ? 1 : 0);
    return len;
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0) abort();
}

/* The value whose {name} is at p, or N_VALUES. */
static size_t placeholder_at(const char *p, const wim_value *vals)
{
    for (size_t k = 0; k < N_VALUES; k++) {
        size_t n = strlen(vals[k].name);
        if (p[0] == '{' && strncmp(p + 1, vals[k].name, n) == 0 && p[1 + n] == '}') return k;
    }
    return N_VALUES;
}

/* Past the placeholders at p whose values are empty: they leave no piece. */
static const char *skip_empty(const char *p, const wim_value *vals)
{
    size_t k;
    while ((k = placeholder_at(p, vals)) < N_VALUES && vals[k].len == 0)
        p += strlen(vals[k].name) + 2;
    return p;
}

/* Walks the pieces along the template: template text in order, a value
 * exactly where its {name} was, and no {name} left in template text. */
static void check_pieces(const char *tmpl, const wim_value *vals, const wim_piece *p, int n)
{
    const char *at = tmpl;
    for (int i = 0; i < n; i++) {
        check(p[i].len > 0);
        at = skip_empty(at, vals);
        if (p[i].trusted) {
            check(p[i].text == at);
            for (size_t j = 0; j < p[i].len; j++)
                check(placeholder_at(p[i].text + j, vals) == N_VALUES);
            at += p[i].len;
            continue;
        }
        size_t k = placeholder_at(at, vals);
        check(k < N_VALUES && p[i].text == vals[k].text && p[i].len == vals[k].len);
        at += strlen(vals[k].name) + 2;
    }
    check(skip_empty(at, vals) == tmpl + strlen(tmpl));
}

static void fill(const char *tmpl, const wim_value *vals)
{
    size_t max = strlen(tmpl) + 1; /* a piece per byte at most */
    wim_piece *p = malloc(max * sizeof *p);
    if (!p) return;
    int n = wim_template_fill(tmpl, vals, N_VALUES, p, max);
    check(n >= 0);
    check_pieces(tmpl, vals, p, n);
    char *joined = wim_pieces_join(p, n);
    size_t at = 0;
    for (int i = 0; joined && i < n; i++) {
        check(memcmp(joined + at, p[i].text, p[i].len) == 0);
        at += p[i].len;
    }
    check(!joined || joined[at] == '\0');
    free(joined);
    if (n > 0) check(wim_template_fill(tmpl, vals, N_VALUES, p, (size_t)n - 1) == -1);
    free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int id = data[0] % (WIM_TPL_COUNT + 1); /* WIM_TPL_COUNT: a name of no prompt */
    size_t at = 1;
    const char *file;
    size_t file_len = next_part(data, size, &at, &file);
    wim_value vals[N_VALUES] = {
        {"query", "", 0}, {"margin", "", 0}, {"segment", "", 0}, {"margins", "", 0}};
    for (size_t k = 0; k < N_VALUES && at < size; k++)
        vals[k].len = next_part(data, size, &at, &vals[k].text);

    char path[4200];
    snprintf(path, sizeof path, "%s/%s.txt", dir,
             id < WIM_TPL_COUNT ? wim_template_name((wim_template_id)id) : "nothing");
    write_file(path, file, file_len);
    wim_templates t;
    char err[512] = "";
    int rc = wim_templates_load(&t, dir, err, sizeof err);
    unlink(path);
    bool text = !memchr(file, '\0', file_len) && wim_utf8_valid(file, file_len, NULL);
    if (rc != 0) {
        check(err[0] && (id == WIM_TPL_COUNT || !text));
        return 0;
    }
    check(id < WIM_TPL_COUNT && text);
    check(strlen(t.text[id]) == file_len && memcmp(t.text[id], file, file_len) == 0);
    for (int i = 0; i < WIM_TPL_COUNT; i++)
        fill(t.text[i], vals);
    wim_templates_free(&t);
    return 0;
}
