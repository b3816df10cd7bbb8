/*
 * extract.h - the text of a document file: PDF, HTML or plain text, told
 * apart by content, for the tools (the library itself reads only text).
 */
#ifndef WIM_TOOLS_EXTRACT_H
#define WIM_TOOLS_EXTRACT_H

#include <stddef.h>

/* What a document file is, by its first bytes. */
typedef enum extract_kind { EXTRACT_TEXT, EXTRACT_PDF, EXTRACT_HTML } extract_kind;

/* The most text extracted from a PDF or HTML file: a runaway file is refused,
 * not expanded until memory runs out. */
#define EXTRACT_MAX_TEXT ((size_t)64 << 20)

/* The most bytes a reader should take of a PDF or HTML file (a PDF is far
 * bigger than its text: fonts, images), where a text file's bound is its text's. */
#define EXTRACT_MAX_FILE ((size_t)256 << 20)

/* The kind of bytes[0..len), from its first KiB: "%PDF-" is a PDF, a doctype
 * or <html / <head / <body / <p ... before any text is HTML, else text. */
extract_kind extract_kind_of(const char *bytes, size_t len);
/* "PDF", "HTML" or "text", for messages. */
const char *extract_kind_name(extract_kind k);

/* What extract_text returns for text longer than its bound. */
enum { EXTRACT_TOO_LONG = -2 };

/* The text of a document file's bytes, its kind chosen by content (not name):
 * PDF (%PDF- magic; pages separated by form feeds '\f'), HTML (a doctype or
 * <html / <head / <body / <p ... near the start), else UTF-8 text as it is.
 * At most max_text bytes of it (0: EXTRACT_MAX_TEXT): a PDF with more pages than
 * that (each page is a form feed at least) is refused before its first page is
 * read, and a longer text as soon as it is longer. 0, EXTRACT_TOO_LONG, or -1
 * with a one-line reason in err (corrupt PDF, encrypted PDF, a PDF with no
 * text, not UTF-8 ...). *text is malloc'd and NUL-terminated. */
int extract_text(const char *bytes, size_t len, size_t max_text, char **text, size_t *text_len,
                 char *err, size_t errlen);

#endif
