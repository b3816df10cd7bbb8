/*
 * template.c - loading prompts (built in, or overridden from a directory) and
 * filling their placeholders in one pass over the template only.
 */
#include "template.h"
#include "text.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const template_names[WIM_TPL_COUNT] = {
    "system",           "context", "extract",    "extract_onepass", "classify",
    "classify_segment", "answer",  "answer_llm", "carried",
};

const char *wim_template_name(wim_template_id id)
{
    return template_names[id];
}

static int template_id_by_name(const char *name, size_t len)
{
    for (int i = 0; i < WIM_TPL_COUNT; i++)
        if (strlen(template_names[i]) == len && memcmp(template_names[i], name, len) == 0) return i;
    return -1;
}

static const char *builtin_text(const char *name)
{
    for (const struct wim_builtin_template *b = wim_builtin_templates; b->name; b++)
        if (strcmp(b->name, name) == 0) return b->text;
    return NULL;
}

/* Reads a whole file as a NUL-terminated string; the prompt must be UTF-8 without NUL. */
static char *read_prompt_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open template '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *grown = realloc(buf, cap *= 2);
            if (!grown) free(buf);
            buf = grown;
        }
    }
    fclose(f);
    if (!buf) {
        snprintf(err, errlen, "out of memory reading template '%s'", path);
        return NULL;
    }
    buf[len] = '\0';
    size_t bad;
    if (memchr(buf, '\0', len) || !wim_utf8_valid(buf, len, &bad)) {
        snprintf(err, errlen, "template '%s' is not valid UTF-8 text", path);
        free(buf);
        return NULL;
    }
    return buf;
}

/* Every .txt file in dir must name a prompt; the ones found replace the built-in text. */
static int load_overrides(wim_templates *t, const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot open templates directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".txt") != 0) continue;
        int id = template_id_by_name(e->d_name, len - 4);
        if (id < 0) {
            snprintf(err, errlen, "unknown template '%s' in '%s'", e->d_name, dir);
            rc = -1;
            break;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *text = read_prompt_file(path, err, errlen);
        if (!text) rc = -1;
        free(t->text[id]);
        t->text[id] = text;
    }
    closedir(d);
    return rc;
}

int wim_templates_load(wim_templates *t, const char *dir, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < WIM_TPL_COUNT; i++) {
        const char *text = builtin_text(template_names[i]);
        t->text[i] = strdup(text ? text : "");
        if (!t->text[i]) {
            snprintf(err, errlen, "out of memory loading templates");
            wim_templates_free(t);
            return -1;
        }
    }
    if (dir && load_overrides(t, dir, err, errlen) != 0) {
        wim_templates_free(t);
        return -1;
    }
    return 0;
}

void wim_templates_free(wim_templates *t)
{
    for (int i = 0; i < WIM_TPL_COUNT; i++) {
        free(t->text[i]);
        t->text[i] = NULL;
    }
}

/* The value for the placeholder starting at p ('{'), or NULL if p is none of ours. */
static const wim_value *placeholder_at(const char *p, const wim_value *vals, size_t n_vals,
                                       size_t *span)
{
    for (size_t i = 0; i < n_vals; i++) {
        size_t n = strlen(vals[i].name);
        if (strncmp(p + 1, vals[i].name, n) == 0 && p[1 + n] == '}') {
            *span = n + 2;
            return &vals[i];
        }
    }
    return NULL;
}

static int push_piece(wim_piece *out, size_t max_out, int n, const char *text, size_t len,
                      bool trusted)
{
    if (len == 0) return n;
    if ((size_t)n >= max_out) return -1;
    out[n] = (wim_piece){text, len, trusted};
    return n + 1;
}

int wim_template_fill(const char *tmpl, const wim_value *vals, size_t n_vals, wim_piece *out,
                      size_t max_out)
{
    int n = 0;
    const char *run = tmpl; /* start of the template text not yet emitted */
    for (const char *p = tmpl; *p && n >= 0; p++) {
        size_t span;
        const wim_value *v = *p == '{' ? placeholder_at(p, vals, n_vals, &span) : NULL;
        if (!v) continue;
        n = push_piece(out, max_out, n, run, (size_t)(p - run), true);
        if (n >= 0) n = push_piece(out, max_out, n, v->text, v->len, false);
        p += span - 1;
        run = p + 1;
    }
    if (n >= 0) n = push_piece(out, max_out, n, run, strlen(run), true);
    return n;
}

wim_piece *wim_template_pieces(const char *tmpl, const wim_value *vals, size_t n_vals, int *n)
{
    /* a placeholder starts at a '{': the text before it and its value, then the tail */
    size_t max = 1;
    for (const char *p = strchr(tmpl, '{'); p; p = strchr(p + 1, '{'))
        max += 2;
    wim_piece *out = malloc(max * sizeof *out);
    if (out) *n = wim_template_fill(tmpl, vals, n_vals, out, max);
    return out;
}

char *wim_pieces_join(const wim_piece *p, int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += p[i].len;
    char *s = malloc(len + 1);
    if (!s) return NULL;
    len = 0;
    for (int i = 0; i < n; i++) {
        memcpy(s + len, p[i].text, p[i].len);
        len += p[i].len;
    }
    s[len] = '\0';
    return s;
}
