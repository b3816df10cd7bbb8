/*
 * seam.c - the test seams: verdicts injected in place of the model's
 * (WIM_TEST_VERDICTS) and slow steps (WIM_TEST_SLOW_MS); see seam.h and
 * DEVELOPERS.md. The only place they are read.
 */
#include "seam.h"

#include <stdlib.h>
#include <string.h>

/* Segment seg's injected answer and its length, or NULL: the one place the
 * variable is read. */
static const char *injected(int seg, size_t *len)
{
    const char *all = getenv("WIM_TEST_VERDICTS");
    if (!all || !*all) return NULL;
    int n = 1;
    for (const char *p = strchr(all, '|'); p; p = strchr(p + 1, '|'))
        n++;
    const char *at = all;
    for (int k = seg % n; k > 0; k--)
        at = strchr(at, '|') + 1;
    *len = strcspn(at, "|");
    return at;
}

void wim_seam_verdict(int seg, wim_strbuf *raw)
{
    size_t len;
    const char *answer = injected(seg, &len);
    if (!answer) return;
    wim_strbuf_clear(raw);
    wim_strbuf_append(raw, answer, len);
}

void wim_seam_margin(const wim_model *m, int seg, wim_tokens *forced)
{
    size_t len;
    const char *answer = injected(seg, &len);
    /* as the model's own text would be: no special tokens */
    if (answer) wim_tokens_add_text(m, forced, answer, len, false, false);
}

int wim_seam_slow_ms(void)
{
    const char *ms = getenv("WIM_TEST_SLOW_MS");
    return ms ? atoi(ms) : 0;
}
