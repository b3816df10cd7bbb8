/*
 * results.h - for the tests: what a run wrote, by question and segment, so
 * that two runs can be compared text for text.
 */
#ifndef WIM_TEST_RESULTS_H
#define WIM_TEST_RESULTS_H

#include "strbuf.h"
#include "wim.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_Q = 4, MAX_SEG = 16 };

typedef struct results {
    wim_strbuf margin[MAX_Q][MAX_SEG];
    wim_strbuf verdict[MAX_Q][MAX_SEG];
    wim_strbuf answer[MAX_Q];
    int n_segments, n_queries, n_margins;
} results;

static int collect(const wim_event *ev, void *user)
{
    results *r = user;
    r->n_segments = ev->n_segments;
    r->n_queries = ev->n_queries;
    if (ev->type == WIM_EVENT_MARGIN) {
        wim_strbuf_puts(&r->margin[ev->question][ev->segment], ev->text);
        r->n_margins++;
    }
    if (ev->type == WIM_EVENT_VERDICT)
        wim_strbuf_puts(&r->verdict[ev->question][ev->segment], ev->text);
    if (ev->type == WIM_EVENT_ANSWER) wim_strbuf_puts(&r->answer[ev->question], ev->text);
    return WIM_CONTINUE;
}

static void results_free(results *r)
{
    for (int q = 0; q < MAX_Q; q++) {
        for (int i = 0; i < MAX_SEG; i++) {
            wim_strbuf_free(&r->margin[q][i]);
            wim_strbuf_free(&r->verdict[q][i]);
        }
        wim_strbuf_free(&r->answer[q]);
    }
    memset(r, 0, sizeof *r);
}

/* Every margin, verdict and answer of a equals b's. */
static void assert_same_results(const results *a, const results *b)
{
    assert_int_equal(a->n_segments, b->n_segments);
    assert_int_equal(a->n_queries, b->n_queries);
    assert_int_equal(a->n_margins, b->n_margins);
    for (int q = 0; q < a->n_queries; q++) {
        for (int i = 0; i < a->n_segments; i++) {
            assert_string_equal(wim_strbuf_str(&a->margin[q][i]), wim_strbuf_str(&b->margin[q][i]));
            assert_string_equal(wim_strbuf_str(&a->verdict[q][i]),
                                wim_strbuf_str(&b->verdict[q][i]));
        }
        assert_string_equal(wim_strbuf_str(&a->answer[q]), wim_strbuf_str(&b->answer[q]));
    }
}

#endif
