/*
 * fuzz_segment.c - libFuzzer target: the segmenter (segment.c) on any bytes,
 * any budget, and a token counter that may fail at any call.
 *
 * The counter needs no model: a model's tokenizer costs a hundred times more
 * a count, and it is one well-behaved counter where the segmenter must cope
 * with every counter. This one cuts as BPE pre-tokenizers do, so its counts
 * are neither additive nor growing with the prefix, as real ones are; it is
 * cheap, so the fuzzer tries far more texts; and no character alone is over
 * one token, so every valid text must be cut.
 *
 * The input: a byte for the budget (1 to 64 tokens), a byte for the call at
 * which the counter fails (most inputs: never), then the text.
 */
#include "fuzz.h"
#include "segment.h"
#include "text.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct counter {
    int calls_left; /* it fails when this reaches 0; -1: never */
} counter;

static bool word_byte(unsigned char c)
{
    return isalnum(c) || c >= 0x80;
}

/* A word with the space before it, a token per 4 bytes; a run of whitespace;
 * each other byte. A trailing space is a token, the same space before a word
 * is not, and two halves of a word cost more than the word. */
static int count(const char *text, size_t len, void *user)
{
    counter *c = user;
    if (c->calls_left == 0) return -1;
    if (c->calls_left > 0) c->calls_left--;
    int n = 0;
    for (size_t i = 0; i < len;) {
        size_t start = i;
        if (text[i] == ' ' && i + 1 < len && word_byte((unsigned char)text[i + 1])) i++;
        if (word_byte((unsigned char)text[i])) {
            while (i < len && word_byte((unsigned char)text[i]))
                i++;
            n += (int)((i - start + 3) / 4);
        } else if (isspace((unsigned char)text[i])) {
            while (i < len && isspace((unsigned char)text[i]))
                i++;
            n++;
        } else {
            i++;
            n++;
        }
    }
    return n;
}

/* Non-empty spans that tile the text, each within the budget. */
static void check_spans(const char *text, size_t len, int max_tokens, const wim_span *spans,
                        size_t n)
{
    counter never = {-1};
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        check(spans[i].start == at && spans[i].len > 0);
        check(count(text + at, spans[i].len, &never) <= max_tokens);
        at += spans[i].len;
    }
    check(at == len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    int max_tokens = 1 + data[0] % 64;
    counter c = {data[1] < 32 ? data[1] : -1};
    const char *text = (const char *)data + 2;
    size_t len = size - 2;
    wim_span *spans;
    size_t n;
    char err[256] = "";
    int rc = wim_segment(text, len, max_tokens, count, &c, &spans, &n, err, sizeof err);
    bool valid = len > 0 && wim_utf8_valid(text, len, NULL);
    if (rc == 0) {
        check(valid);
        check_spans(text, len, max_tokens, spans, n);
    } else {
        check(err[0] && !spans && n == 0);
        check(!valid || c.calls_left == 0); /* a valid text fails only with its counter */
    }
    free(spans);
    return 0;
}
