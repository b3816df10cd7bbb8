/*
 * segment.c - sentence-aligned segmentation under a token budget.
 *
 * The text is first cut into pieces that each fit the budget: ICU's sentences,
 * with sentences too long for one segment cut further. Each piece is counted
 * once. Pieces are then packed greedily into segments. Tokens of a
 * concatenation are not the sum of the parts, so the sum only decides how many
 * pieces to try next; each try is one count of the whole segment, and a segment
 * ends when the real count of one more piece is over the budget.
 */
#include "segment.h"
#include "text.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/utext.h>

typedef struct piece {
    size_t start, end;
    int tokens;
} piece;

typedef struct segmenter {
    const char *text;
    size_t len;
    int max_tokens;
    wim_token_count_fn count;
    void *user;
    char *err;
    size_t errlen;
    piece *pieces;
    size_t n_pieces, cap_pieces;
    wim_span *spans; /* the segments */
    size_t n_spans, cap_spans;
} segmenter;

__attribute__((format(printf, 2, 3))) static void set_error(segmenter *sg, const char *fmt, ...)
{
    if (!sg->err || sg->errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sg->err, sg->errlen, fmt, ap);
    va_end(ap);
}

/* Sets the error and is -1, for `return fail(...)`; a macro so that the
 * compiler sees which paths fail. */
#define fail(sg, ...) (set_error((sg), __VA_ARGS__), -1)

/* The tokens in text[start..end), or -1 with the error set. */
static int count_range(segmenter *sg, size_t start, size_t end)
{
    int n = sg->count(sg->text + start, end - start, sg->user);
    return n < 0 ? fail(sg, "token counter failed (returned %d)", n) : n;
}

static bool fits(const segmenter *sg, int tokens)
{
    return tokens <= sg->max_tokens;
}

/* items, grown if need be to hold n + 1 of them; NULL when out of memory. */
static void *room_for_one_more(void *items, size_t n, size_t *cap, size_t size)
{
    if (n < *cap) return items;
    size_t bigger = *cap ? 2 * *cap : 64;
    void *grown = realloc(items, bigger * size);
    if (grown) *cap = bigger;
    return grown;
}

static int add_piece(segmenter *sg, size_t start, size_t end, int tokens)
{
    piece *p = room_for_one_more(sg->pieces, sg->n_pieces, &sg->cap_pieces, sizeof *p);
    if (!p) return fail(sg, "out of memory");
    sg->pieces = p;
    p[sg->n_pieces++] = (piece){start, end, tokens};
    return 0;
}

static int add_span(segmenter *sg, size_t start, size_t end)
{
    wim_span *s = room_for_one_more(sg->spans, sg->n_spans, &sg->cap_spans, sizeof *s);
    if (!s) return fail(sg, "out of memory");
    sg->spans = s;
    s[sg->n_spans++] = (wim_span){start, end - start};
    return 0;
}

/* Finds the longest prefix text[start..*cut) that fits, all of text[start..end)
 * if it does. Gallops from a guess of one byte per token, so that the cost
 * follows the prefix rather than the rest, then bisects over character
 * boundaries. */
static int longest_fitting_prefix(segmenter *sg, size_t start, size_t end, size_t *cut, int *tokens)
{
    size_t fit = start, misfit = end;
    int fit_tokens = 0;
    for (size_t step = (size_t)sg->max_tokens;; step *= 2) {
        size_t probe = wim_utf8_ceil(sg->text, end, fit + step);
        int n = count_range(sg, start, probe);
        if (n < 0) return -1;
        if (!fits(sg, n)) {
            misfit = probe;
            break;
        }
        fit = probe;
        fit_tokens = n;
        if (probe == end) break;
    }
    for (;;) {
        size_t mid = wim_utf8_floor(sg->text, end, fit + (misfit - fit) / 2);
        if (mid <= fit) mid = wim_utf8_ceil(sg->text, end, fit + 1);
        if (mid >= misfit) break;
        int n = count_range(sg, start, mid);
        if (n < 0) return -1;
        if (fits(sg, n)) {
            fit = mid;
            fit_tokens = n;
        } else {
            misfit = mid;
        }
    }
    if (fit == start)
        return fail(sg, "the character at byte %zu alone is more than %d tokens", start,
                    sg->max_tokens);
    *cut = fit;
    *tokens = fit_tokens;
    return 0;
}

/* Just after the last whitespace in the latter half of text[start..cut), or cut
 * if there is none there: words stay whole unless that wastes half the room.
 * No-break spaces are not whitespace here, as they ask not to be cut. */
static size_t after_last_whitespace(const char *text, size_t start, size_t cut)
{
    size_t half = start + (cut - start) / 2;
    for (size_t pos = cut; pos > start;) {
        size_t prev = wim_utf8_floor(text, cut, pos - 1);
        uint32_t cp;
        if (prev < half) break;
        if (wim_utf8_decode(text, cut, prev, &cp) > 0 && u_isWhitespace((UChar32)cp)) return pos;
        pos = prev;
    }
    return cut;
}

static int prefer_cut_after_whitespace(segmenter *sg, size_t start, size_t *cut, int *tokens)
{
    size_t earlier = after_last_whitespace(sg->text, start, *cut);
    if (earlier == *cut) return 0;
    int n = count_range(sg, start, earlier);
    if (n < 0) return -1;
    /* Token counts need not grow with the prefix, so the shorter one is checked too. */
    if (fits(sg, n)) {
        *cut = earlier;
        *tokens = n;
    }
    return 0;
}

static int split_long_sentence(segmenter *sg, size_t start, size_t end)
{
    while (start < end) {
        size_t cut;
        int tokens;
        if (longest_fitting_prefix(sg, start, end, &cut, &tokens) != 0) return -1;
        if (cut < end && prefer_cut_after_whitespace(sg, start, &cut, &tokens) != 0) return -1;
        if (add_piece(sg, start, cut, tokens) != 0) return -1;
        start = cut;
    }
    return 0;
}

static int add_sentence(segmenter *sg, size_t start, size_t end)
{
    int n = count_range(sg, start, end);
    if (n < 0) return -1;
    if (fits(sg, n)) return add_piece(sg, start, end, n);
    return split_long_sentence(sg, start, end);
}

static int add_sentences(segmenter *sg, UBreakIterator *breaks)
{
    /* On a UTF-8 UText, boundaries are native indices, i.e. byte offsets. */
    int32_t start = ubrk_first(breaks);
    for (int32_t end = ubrk_next(breaks); end != UBRK_DONE; start = end, end = ubrk_next(breaks))
        if (add_sentence(sg, (size_t)start, (size_t)end) != 0) return -1;
    return 0;
}

static int cut_into_pieces(segmenter *sg)
{
    UErrorCode status = U_ZERO_ERROR;
    UText *ut = utext_openUTF8(NULL, sg->text, (int64_t)sg->len, &status);
    UBreakIterator *breaks = ubrk_open(UBRK_SENTENCE, "en", NULL, 0, &status);
    if (U_SUCCESS(status)) /* ubrk_setUText does not check status itself */
        ubrk_setUText(breaks, ut, &status);
    int rc = U_SUCCESS(status) ? add_sentences(sg, breaks)
                               : fail(sg, "ICU sentence breaking failed: %s", u_errorName(status));
    ubrk_close(breaks);
    utext_close(ut);
    return rc;
}

/* The segment first..end is over the budget: gives back pieces from its end
 * until it fits, or down to first..fit, which is known to fit. */
static int give_back(segmenter *sg, size_t first, size_t fit, size_t end, size_t *last)
{
    while (--end > fit) {
        int n = count_range(sg, sg->pieces[first].start, sg->pieces[end].end);
        if (n < 0) return -1;
        if (fits(sg, n)) break;
    }
    *last = end;
    return 0;
}

/* Grows the segment that starts at piece first; *last is its last piece. */
static int pack_segment(segmenter *sg, size_t first, size_t *last)
{
    const piece *p = sg->pieces;
    size_t fit = first; /* pieces first..fit are verified to fit together */
    int fit_tokens = p[first].tokens;
    while (fit + 1 < sg->n_pieces) {
        /* One more piece is tried even when the sum says no: the sum tends to
         * overestimate, as pieces often share a token where they meet. */
        size_t end = fit + 1;
        int64_t estimate = (int64_t)fit_tokens + p[end].tokens;
        while (end + 1 < sg->n_pieces && estimate + p[end + 1].tokens <= sg->max_tokens)
            estimate += p[++end].tokens;
        int n = count_range(sg, p[first].start, p[end].end);
        if (n < 0) return -1;
        if (!fits(sg, n)) return give_back(sg, first, fit, end, last);
        fit = end;
        fit_tokens = n;
    }
    *last = fit;
    return 0;
}

static int pack_pieces(segmenter *sg)
{
    for (size_t first = 0, last; first < sg->n_pieces; first = last + 1)
        if (pack_segment(sg, first, &last) != 0 ||
            add_span(sg, sg->pieces[first].start, sg->pieces[last].end) != 0)
            return -1;
    return 0;
}

static int check_input(segmenter *sg)
{
    size_t bad;
    if (sg->len == 0) return fail(sg, "document is empty");
    if (sg->max_tokens < 1)
        return fail(sg, "segment size must be at least 1 token (got %d)", sg->max_tokens);
    if (sg->len > INT32_MAX) /* ICU's break iterators index with int32_t */
        return fail(sg, "document is too long (%zu bytes; at most %d)", sg->len, INT32_MAX);
    if (!wim_utf8_valid(sg->text, sg->len, &bad))
        return fail(sg, "document is not valid UTF-8 (at byte %zu)", bad);
    return 0;
}

int wim_segment(const char *text, size_t len, int max_tokens, wim_token_count_fn count, void *user,
                wim_span **out, size_t *n_out, char *err, size_t errlen)
{
    segmenter sg = {.text = text,
                    .len = len,
                    .max_tokens = max_tokens,
                    .count = count,
                    .user = user,
                    .err = err,
                    .errlen = errlen};
    bool ok = check_input(&sg) == 0 && cut_into_pieces(&sg) == 0 && pack_pieces(&sg) == 0;
    free(sg.pieces);
    if (!ok) {
        free(sg.spans);
        sg.spans = NULL;
        sg.n_spans = 0;
    }
    *out = sg.spans;
    *n_out = sg.n_spans;
    return ok ? 0 : -1;
}

/* ============================================================================
 * Pages
 * ========================================================================= */

/* The 1-based page of byte at: one more than the form feeds before it. */
static int page_at(const char *text, size_t at)
{
    int page = 1;
    for (const char *p = text; (p = memchr(p, '\f', (size_t)(text + at - p))) != NULL; p++)
        page++;
    return page;
}

void wim_span_pages(const char *text, size_t len, wim_span sp, int *first, int *last)
{
    *first = *last = 0;
    if (!memchr(text, '\f', len)) return;
    /* within the text, whatever span the caller gives */
    size_t start = sp.start < len ? sp.start : len;
    size_t a = start, b = sp.len < len - start ? start + sp.len : len;
    while (a < b && text[a] && strchr(" \t\r\n\f\v", text[a]))
        a++;
    while (b > a && text[b - 1] && strchr(" \t\r\n\f\v", text[b - 1]))
        b--;
    if (a == b) { /* all whitespace: the page where it starts */
        a = start;
        b = a + 1;
    }
    *first = page_at(text, a);
    *last = *first + page_at(text + a, b - 1 - a) - 1;
}
