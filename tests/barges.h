/*
 * barges.h - for the tests that run the engine: a made-up document that cuts
 * into exactly the number of segments asked for (needs tiny.h's model).
 */
#ifndef WIM_TEST_BARGES_H
#define WIM_TEST_BARGES_H

#include "model.h"
#include "segment.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>

/* The shortest such document of n segments of seg_tokens; the caller frees it. */
static char *barges_document(int n, int seg_tokens)
{
    wim_strbuf b = {0};
    for (int i = 0;; i++) {
        char line[160];
        snprintf(line, sizeof line, "Barge %d carried %d sacks of grain to the mill at %s. ", i,
                 (i * 53) % 97, i % 3 ? "Orrin" : "Tessaly");
        wim_strbuf_puts(&b, line);
        wim_span *spans = NULL;
        size_t got = 0;
        char err[128];
        assert_int_equal(wim_segment(b.s, b.len, seg_tokens, wim_count_tokens, model, &spans, &got,
                                     err, sizeof err),
                         0);
        free(spans);
        if ((int)got == n) return b.s;
        assert_true((int)got < n);
    }
}

#endif
