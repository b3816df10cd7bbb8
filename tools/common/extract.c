/*
 * extract.c - the text of a document file: PDF, HTML or plain text, told
 * apart by content, so that wim reads the documents people have.
 *
 * Why these libraries: PDF text is poppler's (through its GLib API, the C one),
 * the engine of pdftotext: it puts a page's words in reading order, copes with
 * the fonts and encodings real PDFs use, tells an encrypted file from a damaged
 * one, and is packaged everywhere (Debian's libpoppler-glib-dev). Pages are
 * joined with form feeds as pdftotext joins them, so a page number survives in
 * the text (the library maps segments to pages by them). HTML is read by
 * libxml2's HTML parser, which recovers from the tag soup of real pages,
 * decodes entities and the page's declared charset into UTF-8, and gives a tree
 * to walk; it is already on every Debian machine. Neither enters libwim: only
 * the tools read files.
 */
#include "extract.h"
#include "strbuf.h"

#include "wim.h"

#include <libxml/HTMLparser.h>
#include <limits.h>
#include <poppler.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ============================================================================
 * Telling the kinds apart
 * ========================================================================= */

enum { SNIFF_BYTES = 1024 };

/* Where needle first occurs in s[0..n), or NULL (memmem is not C11). */
static const char *find(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (memcmp(s + i, needle, k) == 0) return s + i;
    return NULL;
}

/* Case-insensitive: does s[0..n) start with the tag name `tag`, followed by
 * the end of the tag or an attribute (so "<p" is not "<pre" or "<please")? */
static bool starts_tag(const char *s, size_t n, const char *tag)
{
    size_t k = strlen(tag);
    if (n <= k || strncasecmp(s, tag, k) != 0) return false;
    return strchr(" \t\r\n\f/>", s[k]) != NULL;
}

/* The first byte of s[0..n) past a UTF-8 byte order mark, whitespace and
 * comments or <?xml ...?> declarations. */
static size_t skip_prolog(const char *s, size_t n)
{
    size_t i = n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    for (;;) {
        while (i < n && s[i] && strchr(" \t\r\n\f", s[i]))
            i++;
        const char *close = NULL;
        if (n - i >= 4 && memcmp(s + i, "<!--", 4) == 0)
            close = "-->";
        else if (n - i >= 2 && memcmp(s + i, "<?", 2) == 0)
            close = "?>";
        if (!close) return i;
        const char *end = find(s + i, n - i, close);
        if (!end) return n;
        i = (size_t)(end - s) + strlen(close);
    }
}

extract_kind extract_kind_of(const char *bytes, size_t len)
{
    size_t n = len < SNIFF_BYTES ? len : SNIFF_BYTES;
    /* readers accept junk before the header within the first KiB, as poppler does */
    if (find(bytes, n, "%PDF-")) return EXTRACT_PDF;
    static const char *const tags[] = {"!doctype", "html", "head",  "body", "p",
                                       "div",      "h1",   "title", "meta"};
    size_t i = skip_prolog(bytes, n);
    if (i >= n || bytes[i] != '<') return EXTRACT_TEXT;
    for (size_t t = 0; t < sizeof tags / sizeof *tags; t++)
        if (starts_tag(bytes + i + 1, n - i - 1, tags[t])) return EXTRACT_HTML;
    return EXTRACT_TEXT;
}

const char *extract_kind_name(extract_kind k)
{
    return k == EXTRACT_PDF ? "PDF" : k == EXTRACT_HTML ? "HTML" : "text";
}

/* ============================================================================
 * The text being made, bounded
 * ========================================================================= */

typedef struct out {
    wim_strbuf text;
    size_t max; /* the most text kept */
    bool over;  /* more than max was offered, or memory ran out */
} out;

/* Appends s[0..n); false once the text is over its bound (then nothing more is kept). */
static bool put(out *o, const char *s, size_t n)
{
    if (o->over || n > o->max - o->text.len || !wim_strbuf_append(&o->text, s, n))
        return !(o->over = true);
    return true;
}

/* ============================================================================
 * PDF
 * ========================================================================= */

/* A page's text, its own form feeds made newlines (ours separate pages) and its
 * NUL bytes spaces; then the separator before the next page. */
static bool put_page(out *o, char *t, bool last)
{
    for (char *p = t; *p; p++)
        if (*p == '\f') *p = '\n';
    size_t n = strlen(t);
    if (!put(o, t, n)) return false;
    if (n > 0 && t[n - 1] != '\n' && !put(o, "\n", 1)) return false;
    return last || put(o, "\f", 1);
}

static PopplerDocument *pdf_open(const char *bytes, size_t len, char *err, size_t errlen)
{
    GBytes *b = g_bytes_new_static(bytes, len);
    GError *e = NULL;
    PopplerDocument *doc = poppler_document_new_from_bytes(b, NULL, &e);
    g_bytes_unref(b);
    if (doc) return doc;
    if (e && g_error_matches(e, POPPLER_ERROR, POPPLER_ERROR_ENCRYPTED))
        snprintf(err, errlen, "the PDF is encrypted: it needs a password to be read");
    else
        snprintf(err, errlen, "not a readable PDF: %s", e ? e->message : "poppler cannot open it");
    if (e) g_error_free(e);
    return NULL;
}

static int pdf_text(const char *bytes, size_t len, out *o, char *err, size_t errlen)
{
    PopplerDocument *doc = pdf_open(bytes, len, err, errlen);
    if (!doc) return -1;
    int n = poppler_document_get_n_pages(doc);
    if (n > 0 && (size_t)n - 1 > o->max) { /* its form feeds alone are too long */
        g_object_unref(doc);
        o->over = true;
        return 0;
    }
    for (int i = 0; i < n && !o->over; i++) {
        PopplerPage *page = poppler_document_get_page(doc, i);
        char *t = page ? poppler_page_get_text(page) : NULL;
        put_page(o, t ? t : "", i == n - 1);
        g_free(t);
        if (page) g_object_unref(page);
    }
    g_object_unref(doc);
    if (n > 0) return 0;
    snprintf(err, errlen, "not a readable PDF: it has no pages");
    return -1;
}

/* ============================================================================
 * HTML
 * ========================================================================= */

/* How much space an element leaves around its text. */
typedef enum gap { GAP_NONE, GAP_SPACE, GAP_LINE, GAP_PARAGRAPH } gap;

static bool named(const xmlNode *n, const char *const *names)
{
    for (; *names; names++)
        if (strcasecmp((const char *)n->name, *names) == 0) return true;
    return false;
}

/* Elements whose content is not the page's text. */
static bool skipped(const xmlNode *n)
{
    static const char *const names[] = {"head",   "script", "style", "noscript", "template", "svg",
                                        "iframe", "object", "embed", "canvas",   "title",    NULL};
    return named(n, names);
}

static gap gap_of(const xmlNode *n)
{
    static const char *const paragraphs[] = {
        "p",   "h1",   "h2",     "h3",         "h4",       "h5",      "h6",      "pre",    "table",
        "ul",  "ol",   "dl",     "blockquote", "section",  "article", "header",  "footer", "aside",
        "nav", "main", "figure", "form",       "fieldset", "address", "details", "hr",     NULL};
    static const char *const lines[] = {"br",         "div",     "li",      "tr",   "dt", "dd",
                                        "figcaption", "summary", "caption", "body", NULL};
    static const char *const spaces[] = {"td", "th", "img", "input", "button", "label", NULL};
    if (named(n, paragraphs)) return GAP_PARAGRAPH;
    if (named(n, lines)) return GAP_LINE;
    return named(n, spaces) ? GAP_SPACE : GAP_NONE;
}

/* The text as it is written: whitespace collapsed, and the widest gap asked
 * for since the last word put before the next one (none before the first). */
typedef struct writer {
    out *o;
    gap pending;
} writer;

static void ask_gap(writer *w, gap g)
{
    if (g > w->pending) w->pending = g;
}

static void put_words(writer *w, const char *s)
{
    static const char *const gaps[] = {"", " ", "\n", "\n\n"};
    while (*s) {
        size_t blank = strspn(s, " \t\r\n\f\v");
        if (blank) ask_gap(w, GAP_SPACE);
        s += blank;
        size_t word = strcspn(s, " \t\r\n\f\v");
        if (!word) break;
        if (w->o->text.len > 0) put(w->o, gaps[w->pending], strlen(gaps[w->pending]));
        w->pending = GAP_NONE;
        put(w->o, s, word);
        s += word;
    }
}

/* Walks the tree without recursion (a page may nest deeper than a stack). */
static void html_walk(writer *w, xmlNode *root)
{
    xmlNode *n = root;
    while (n && !w->o->over) {
        bool element = n->type == XML_ELEMENT_NODE;
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE)
            put_words(w, (const char *)n->content);
        if (element) ask_gap(w, gap_of(n));
        if (element && n->children && !skipped(n)) {
            n = n->children;
            continue;
        }
        while (n && n != root && !n->next) {
            n = n->parent;
            if (n && n->type == XML_ELEMENT_NODE) ask_gap(w, gap_of(n));
        }
        n = n && n != root ? n->next : NULL;
    }
}

static int html_text(const char *bytes, size_t len, out *o, char *err, size_t errlen)
{
    htmlDocPtr doc = htmlReadMemory(bytes, (int)len, NULL, NULL,
                                    HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                        HTML_PARSE_NONET);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root) {
        snprintf(err, errlen, "not a readable HTML page");
        if (doc) xmlFreeDoc(doc);
        return -1;
    }
    writer w = {o, GAP_NONE};
    html_walk(&w, root);
    xmlFreeDoc(doc);
    return 0;
}

/* ============================================================================
 * Any kind
 * ========================================================================= */

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr(" \t\r\n\f\v", s[i])) return false;
    return true;
}

/* The text of a PDF or HTML file, with a kind's own reason when there is none. */
static int extract_markup(extract_kind k, const char *bytes, size_t len, out *o, char *err,
                          size_t errlen)
{
    if (len > INT_MAX) {
        snprintf(err, errlen, "the %s file is over %d bytes", extract_kind_name(k), INT_MAX);
        return -1;
    }
    if (k == EXTRACT_PDF ? pdf_text(bytes, len, o, err, errlen)
                         : html_text(bytes, len, o, err, errlen))
        return -1;
    if (o->over) {
        snprintf(err, errlen, "the %s file's text is over %zu bytes (or out of memory)",
                 extract_kind_name(k), o->max);
        return EXTRACT_TOO_LONG;
    }
    if (!blank(o->text.s, o->text.len)) return 0;
    if (k == EXTRACT_PDF)
        snprintf(err, errlen,
                 "the PDF has no text layer (scanned pages are images: it needs OCR first)");
    else
        snprintf(err, errlen, "the HTML page has no text");
    return -1;
}

/* Text as it is, within the caller's bound (max; 0: the caller read it, and
 * bounded it itself). */
static int copy_text(const char *bytes, size_t len, size_t max, out *o, char *err, size_t errlen)
{
    if (max && len > max) {
        snprintf(err, errlen, "the text is over %zu bytes", max);
        return EXTRACT_TOO_LONG;
    }
    /* exactly its size, where appending would round it up to a power of two */
    o->text = (wim_strbuf){.s = malloc(len + 1), .len = len, .cap = len + 1};
    if (!o->text.s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(o->text.s, bytes, len);
    o->text.s[len] = '\0';
    return 0;
}

int extract_text(const char *bytes, size_t len, size_t max_text, char **text, size_t *text_len,
                 char *err, size_t errlen)
{
    out o = {.max = max_text && max_text < EXTRACT_MAX_TEXT ? max_text : EXTRACT_MAX_TEXT};
    extract_kind k = extract_kind_of(bytes, len);
    int rc = k == EXTRACT_TEXT ? copy_text(bytes, len, max_text, &o, err, errlen)
                               : extract_markup(k, bytes, len, &o, err, errlen);
    if (rc == 0) rc = wim_check_text("document", o.text.s, o.text.len, err, errlen);
    if (rc != 0) {
        wim_strbuf_free(&o.text);
        return rc;
    }
    *text = o.text.s;
    *text_len = o.text.len;
    return 0;
}
