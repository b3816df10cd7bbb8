/*
 * lookup.c - drafts for speculative decoding by prompt lookup.
 *
 * A margin is extractive: the model copies spans of the segment it has just
 * read, or of the question. So where the job's last few tokens occurred
 * before, what followed them there is a good guess at what it writes next.
 * The guess costs no model: jobs.c feeds it in the job's next step, every
 * drafted token with its logits, and keeps it as far as the model agrees
 * (llama.cpp's lookup decoding, without its n-gram statistics).
 */
#include "lookup.h"

#include <string.h>

/* The longest n-gram matched, and the shortest: one token repeats too often to say much. */
enum { LOOKUP_MAX_N = 3, LOOKUP_MIN_N = 2 };

/* Where, scanning src from its end, the n tokens of key occur with at least one
 * token after them; -1 when nowhere. The key's own place, at the end of the
 * job's tokens, has none after it, so it is no match. */
static int find_last(const llama_token *src, int n_src, const llama_token *key, int n)
{
    for (int i = n_src - n - 1; i >= 0; i--)
        if (src[i] == key[0] && memcmp(src + i, key, (size_t)n * sizeof *key) == 0) return i;
    return -1;
}

int wim_lookup_draft(const wim_tokens *hist, const wim_tokens *src, int max, llama_token *out)
{
    const wim_tokens *where[2] = {hist, src}; /* its own words first: the freshest */
    if (!hist->v) return 0;
    for (int n = hist->n < LOOKUP_MAX_N ? hist->n : LOOKUP_MAX_N; n >= LOOKUP_MIN_N; n--)
        for (int w = 0; w < 2; w++) {
            const llama_token *key = hist->v + hist->n - n;
            int at = where[w]->v ? find_last(where[w]->v, where[w]->n, key, n) : -1;
            if (at < 0) continue;
            int k = where[w]->n - (at + n) < max ? where[w]->n - (at + n) : max;
            memcpy(out, where[w]->v + at + n, (size_t)k * sizeof *out);
            return k;
        }
    return 0;
}
