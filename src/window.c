/*
 * window.c - reading past the context: the window's size, and the notes
 * carried on from the segments let go.
 *
 * A document longer than the context limit (or any, with a window size set)
 * is read in a window: sequence 0 holds the preamble, the notes carried so
 * far, and the segments read since. When the next segment would pass the
 * window, the margins in flight are finished and judged, sequence 0 goes back
 * to the preamble (engine.c, cache.c), and the kept margins of every segment
 * let go are decoded after it as notes (templates/carried.txt). Restarting
 * shifts nothing, so it works on every memory (sliding window, recurrent,
 * hybrid); with window_shift, where the memory can shift, the oldest segments
 * go instead and the notes reach the answer alone. Either way positions stay
 * within the window, memory stays flat and time linear. The
 * notes have a budget: past it the weakest (the verdict's lowest P(YES)) are
 * let go, and the events say which.
 */
#include "engine.h"
#include "window.h"

#include <stdio.h>
#include <stdlib.h>

/* ============================================================================
 * The window's size
 * ========================================================================= */

/* The most segments, from any one on, whose tokens fit in room. */
static int segments_most(const wim_doc *d, long long room)
{
    int most = 0;
    for (int a = 0, b = 0; a < d->n; a++) {
        if (b < a) b = a;
        while (b < d->n && d->tok_off[b + 1] - d->tok_off[a] <= room)
            b++;
        if (b - a > most) most = b - a;
    }
    return most;
}

static int largest_segment(const wim_doc *d)
{
    int most = 0;
    for (int i = 0; i < d->n; i++)
        if (d->tok_off[i + 1] - d->tok_off[i] > most) most = d->tok_off[i + 1] - d->tok_off[i];
    return most;
}

int wim_window_size(wim_session *s, int limit, long long (*beyond)(wim_session *, int, int),
                    int *n_seg_most, long long *need_out)
{
    const wim_doc *d = &s->doc;
    const wim_options *o = &s->o;
    long long w = o->window > 0 ? o->window : limit, carry, need;
    int most;
    if (o->window <= 0) { /* the largest window that leaves room for its forks */
        long long lo = 1, hi = limit;
        while (lo < hi) {
            long long mid = (lo + hi + 1) / 2;
            carry = o->carry_tokens ? o->carry_tokens : mid / 4;
            if (mid + beyond(s, segments_most(d, mid - d->pre.n), (int)carry) <= limit)
                lo = mid;
            else
                hi = mid - 1;
        }
        w = lo;
    }
    carry = o->carry_tokens ? o->carry_tokens : w / 4;
    most = segments_most(d, w - d->pre.n);
    need = w + beyond(s, most, (int)carry);
    long long least = d->pre.n + carry + largest_segment(d);
    if (need > limit || w < least) {
        snprintf(s->err, sizeof s->err,
                 "document is %d tokens, past the context limit of %d; a window of %lld tokens "
                 "%s: lower --segment-tokens or --carry-tokens, or raise -c",
                 d->tok.n, limit, w,
                 need > limit ? "and its margins do not fit in it"
                              : "cannot hold the preamble, the carried notes and a segment");
        return -1;
    }
    s->window = (int)w;
    s->carry_budget = (int)carry;
    *n_seg_most = most;
    *need_out = need;
    return 0;
}

/* ============================================================================
 * The notes carried on
 * ========================================================================= */

/* Lets go note k (question k / n, segment k % n), saying so. */
static void let_go(wim_session *s, int k)
{
    wim_note *c = &s->notes[k];
    c->let_go = true;
    s->st.n_margins_let_go++;
    wim_emit(s, (wim_event){.type = WIM_EVENT_LET_GO,
                            .segment = k % s->doc.n,
                            .question = k / s->doc.n,
                            .text = wim_strbuf_str(&c->text)});
}

/* Lets go the weakest of the carried notes at[0..n-1] of segments 0..seg-1
 * (the earliest of equals) and, after it, every kept copy of its text there:
 * a carried text is one note, so no other copy takes its place. */
static void let_go_weakest(wim_session *s, int seg, const int *at, int n)
{
    int weakest = at[0];
    for (int i = 1; i < n; i++)
        if (s->notes[at[i]].p_yes < s->notes[weakest].p_yes) weakest = at[i];
    const wim_note *w = &s->notes[weakest];
    let_go(s, weakest);
    for (int i = 0; i < seg; i++)
        for (int q = 0; q < s->n_queries; q++) {
            int k = q * s->doc.n + i;
            if (wim_note_kept(&s->notes[k]) && wim_note_same_text(&s->notes[k], w)) let_go(s, k);
        }
}

/* out = the carried-notes prompt of the notes at[0..n-1] ("" for none).
 * 0, or -1 (s->err). */
static int carried_prompt(wim_session *s, const int *at, int n, wim_tokens *out)
{
    out->n = 0;
    if (n == 0) return 0;
    wim_strbuf notes = {0};
    wim_format_notes(s, at, n, &notes);
    const wim_value v = {"margins", notes.s, notes.len};
    int rc = wim_add_prompt(s, out, WIM_TPL_CARRIED, &v, 1, false);
    wim_strbuf_free(&notes);
    return rc;
}

int wim_window_carry(wim_session *s, int seg, wim_tokens *out)
{
    for (;;) {
        int *at, n;
        if (wim_listed_notes(s, 0, s->n_queries, seg, true, &at, &n) != 0) return -1;
        int rc = carried_prompt(s, at, n, out);
        bool over = rc == 0 && out->n > s->carry_budget;
        if (over) let_go_weakest(s, seg, at, n);
        free(at);
        if (!over) return rc;
    }
}
