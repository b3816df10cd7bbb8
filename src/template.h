/*
 * template.h - the prompts, and filling their {placeholders} without ever
 * reinterpreting what is inserted.
 *
 * A filled template is a list of pieces, each either template text (trusted:
 * chat markers in it become special tokens) or inserted text (untrusted: the
 * tokenizer keeps "<|im_start|>" or "{query}" inside a document literal).
 */
#ifndef WIM_TEMPLATE_H
#define WIM_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

/* Built into the library from templates/NAME.txt (see cmake/embed_templates.cmake). */
struct wim_builtin_template {
    const char *name; /* file name without .txt */
    const char *text;
};
extern const struct wim_builtin_template wim_builtin_templates[];

typedef enum wim_template_id {
    WIM_TPL_SYSTEM,           /* system preamble */
    WIM_TPL_CONTEXT,          /* opens the user turn, before the document */
    WIM_TPL_EXTRACT,          /* after a segment: write a margin ({query}) */
    WIM_TPL_EXTRACT_ONEPASS,  /* the same, margin starting YES# or NO# */
    WIM_TPL_CLASSIFY,         /* is this margin relevant ({query}, {margin}) */
    WIM_TPL_CLASSIFY_SEGMENT, /* is this raw segment relevant, rag ({query}, {segment}) */
    WIM_TPL_ANSWER,           /* after the document: margins, then question */
    WIM_TPL_ANSWER_LLM,       /* after the document: the question alone */
    WIM_TPL_CARRIED,          /* past the context: notes on what was let go ({margins}) */
    WIM_TPL_COUNT
} wim_template_id;

typedef struct wim_templates {
    char *text[WIM_TPL_COUNT]; /* owned, NUL-terminated */
} wim_templates;

typedef struct wim_piece {
    const char *text; /* points into the template or a value; not NUL-terminated */
    size_t len;
    bool trusted; /* template text (true) or inserted value (false) */
} wim_piece;

typedef struct wim_value {
    const char *name; /* placeholder name without braces, e.g. "query" */
    const char *text; /* inserted as is */
    size_t len;
} wim_value;

const char *wim_template_name(wim_template_id id);

/* Loads the built-in prompts, each replaced by DIR/NAME.txt where dir has one.
 * A .txt in dir that names no prompt is an error (a typo would go unnoticed). */
int wim_templates_load(wim_templates *t, const char *dir, char *err, size_t errlen);
void wim_templates_free(wim_templates *t);

/* Splits tmpl into pieces, replacing each {name} found in vals by its value.
 * Unknown {names} and lone braces stay template text. Values are never scanned.
 * Returns the number of pieces, or -1 if max_out is too small. */
int wim_template_fill(const char *tmpl, const wim_value *vals, size_t n_vals, wim_piece *out,
                      size_t max_out);

/* The same into a malloc'd array with room for every piece, however many
 * placeholders tmpl holds: NULL only when out of memory. */
wim_piece *wim_template_pieces(const char *tmpl, const wim_value *vals, size_t n_vals, int *n);

/* The pieces joined into one malloc'd string (NULL when out of memory). */
char *wim_pieces_join(const wim_piece *p, int n);

#endif
