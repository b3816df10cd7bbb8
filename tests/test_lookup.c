/*
 * test_lookup.c - prompt-lookup drafts (src/lookup.c): what follows the job's
 * last n-gram where it occurred before, longest n-gram first, its own tokens
 * before the source, the latest place first, never more than asked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lookup.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int draft(const llama_token *hist, int n_hist, const llama_token *src, int n_src, int max,
                 llama_token *out)
{
    wim_tokens h = {.v = (llama_token *)hist, .n = n_hist};
    wim_tokens s = {.v = (llama_token *)src, .n = n_src};
    return wim_lookup_draft(&h, &s, max, out);
}

static void test_copies_what_followed_in_the_source(void **state)
{
    (void)state;
    const llama_token src[] = {1, 2, 3, 4, 5, 6, 7};
    const llama_token hist[] = {9, 2, 3};
    llama_token out[WIM_MAX_DRAFT];
    assert_int_equal(draft(hist, N(hist), src, N(src), 3, out), 3);
    assert_int_equal(out[0], 4);
    assert_int_equal(out[1], 5);
    assert_int_equal(out[2], 6);
    /* to the source's end, and no further */
    assert_int_equal(draft(hist, N(hist), src, N(src), 16, out), 4);
    assert_int_equal(out[3], 7);
}

static void test_longest_ngram_wins(void **state)
{
    (void)state;
    /* 8 after the trigram (1 5 2); 3 after the bigram (5 2)'s later place */
    const llama_token src[] = {1, 5, 2, 8, 0, 5, 2, 3};
    const llama_token hist[] = {1, 5, 2};
    llama_token out[WIM_MAX_DRAFT];
    assert_int_equal(draft(hist, N(hist), src, N(src), 1, out), 1);
    assert_int_equal(out[0], 8);
}

static void test_latest_place_and_own_tokens_first(void **state)
{
    (void)state;
    const llama_token src[] = {4, 5, 1, 4, 5, 2};
    llama_token out[WIM_MAX_DRAFT];
    /* in the source, the later (4 5) wins */
    const llama_token hist[] = {4, 5};
    assert_int_equal(draft(hist, N(hist), src, N(src), 1, out), 1);
    assert_int_equal(out[0], 2);
    /* the job's own loop beats the source: (4 5) was followed by 7 in it */
    const llama_token loop[] = {4, 5, 7, 4, 5};
    assert_int_equal(draft(loop, N(loop), src, N(src), 2, out), 2);
    assert_int_equal(out[0], 7);
    assert_int_equal(out[1], 4);
}

static void test_nothing_to_draft(void **state)
{
    (void)state;
    const llama_token src[] = {1, 2, 3};
    llama_token out[WIM_MAX_DRAFT];
    const llama_token unseen[] = {7, 8};
    assert_int_equal(draft(unseen, N(unseen), src, N(src), 4, out), 0);
    /* one token alone says too little */
    const llama_token one[] = {2};
    assert_int_equal(draft(one, N(one), src, N(src), 4, out), 0);
    /* a match at the source's very end has nothing after it */
    const llama_token tail[] = {2, 3};
    assert_int_equal(draft(tail, N(tail), src, N(src), 4, out), 0);
    /* the key's own place in the job's tokens is no match; no source at all */
    assert_int_equal(draft(tail, N(tail), NULL, 0, 4, out), 0);
    assert_int_equal(draft(src, N(src), src, N(src), 0, out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copies_what_followed_in_the_source),
        cmocka_unit_test(test_longest_ngram_wins),
        cmocka_unit_test(test_latest_place_and_own_tokens_first),
        cmocka_unit_test(test_nothing_to_draft),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
