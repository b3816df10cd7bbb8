/*
 * test_metrics.c - the answer metrics against hand-computed tables:
 * normalization, exact match, containment on word boundaries, word-list P/R/F1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "metrics.h"

typedef struct normalize_row {
    const char *text, *normalized;
} normalize_row;

static const normalize_row normalize_rows[] = {
    /* case and punctuation, as in SQuAD */
    {"The Eiffel Tower.", "eiffel tower"},
    {"Hello, World!", "hello world"},
    {"don't", "dont"},
    {"U.S.A.", "usa"},
    {"5 + 3 = $8", "5 3 8"},
    /* articles as whole words, wherever they stand; not inside words */
    {"the cat", "cat"},
    {"cat the dog", "cat dog"},
    {"a dog and a cat", "dog and cat"},
    {"look at the", "look at"},
    {"An Apple", "apple"},
    {"THE, end", "end"},
    {"the the a an", ""},
    {"theory another anthem", "theory another anthem"},
    {"athe thea ana", "athe thea ana"},
    /* whitespace */
    {"  many   spaces  ", "many spaces"},
    {"tab\tand\nnewline\r\n", "tab and newline"},
    {"x\x01y", "x y"},
    /* Unicode: full case folding */
    {"Ünïcode", "ünïcode"},
    {"Straße", "strasse"},
    {"STRASSE", "strasse"},
    {"ﬁne", "fine"},
    {"ΣΊΣΥΦΟΣ", "σίσυφοσ"},
    {"Σίσυφος", "σίσυφοσ"},
    /* Unicode: scripts kept, punctuation and symbols of any script removed */
    {"東京は大きい", "東京は大きい"},
    {"東京、大阪。", "東京大阪"},
    {"“quoted” — text", "quoted text"},
    {"yes—no", "yesno"},
    {"thumbs 👍 up", "thumbs up"},
    {"price: 5 €", "price 5"},
    /* invisible characters dropped */
    {"co\u00ADoperate", "cooperate"},
    {"new\u200Dyork", "newyork"},
    /* invalid UTF-8 dropped */
    {"wo\xff\xferd", "word"},
    {"caf\xc3\xa9\xc3", "café"},
    {"\xc0\xaf", ""},
    /* nothing left */
    {"", ""},
    {"?!...", ""},
    {" \t\n ", ""},
};

static void test_normalize_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof normalize_rows / sizeof normalize_rows[0]; i++) {
        char *n = eval_normalize(normalize_rows[i].text);
        assert_non_null(n);
        assert_string_equal(n, normalize_rows[i].normalized);
        free(n);
    }
}

typedef struct pair_row {
    const char *answer, *target;
    bool expected;
} pair_row;

static const pair_row exact_rows[] = {
    {"The Eiffel Tower.", "eiffel tower", true},
    {"  eiffel\ttower ", "Eiffel Tower", true},
    {"Eiffel Towers", "eiffel tower", false},
    {"tower eiffel", "eiffel tower", false},
    {"STRASSE", "Straße", true},
    {"ΣΊΣΥΦΟΣ", "Σίσυφος", true},
    {"Paris", "", false},
    {"", "Paris", false},
    {"", "", true},
    {"a", "the", true},
    {"new york", "new york city", false},
};

static const pair_row contains_rows[] = {
    {"It is in New York City.", "new york", true},
    {"new  york", "New York", true},
    {"the party", "art", false},
    {"the party", "party", true},
    {"artistic art", "art", true},
    {"Paris, France", "France!", true},
    {"parisian", "paris", false},
    {"new yorkers", "new york", false},
    {"York New", "new york", false},
    {"The answer: 42.", "42", true},
    {"420", "42", false},
    {"Answer: the Straße", "STRASSE", true},
    {"答案是北京", "北京", true},
    {"Beijing", "北京", false},
    {"anything", "", false},
    {"anything", "the", false},
    {"anything", "!!", false},
    {"", "x", false},
};

static void test_exact_match_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof exact_rows / sizeof exact_rows[0]; i++)
        assert_int_equal(eval_exact_match(exact_rows[i].answer, exact_rows[i].target),
                         exact_rows[i].expected);
}

static void test_contains_on_word_boundaries(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof contains_rows / sizeof contains_rows[0]; i++)
        assert_int_equal(eval_contains(contains_rows[i].answer, contains_rows[i].target),
                         contains_rows[i].expected);
}

#define MAX_TARGETS 4

typedef struct score_row {
    const char *answer;
    const char *targets[MAX_TARGETS];
    int n_targets;
    double precision, recall, f1;
} score_row;

static const score_row score_rows[] = {
    /* 2 of 3 predicted are right, 2 of 4 targets found: F1 = 2 * 2/3 * 1/2 / (7/6) = 4/7 */
    {"apple, banana, cherry", {"apple", "banana", "durian", "elder"}, 4, 2.0 / 3, 0.5, 4.0 / 7},
    /* repeats and case count once: {apple, banana} against 3 targets */
    {"apple apple APPLE banana", {"apple", "banana", "cherry"}, 3, 1.0, 2.0 / 3, 0.8},
    /* the list's numbering is not a word when no target is a number */
    {"1. apple 2. banana", {"apple", "banana", "cherry", "durian"}, 4, 1.0, 0.5, 2.0 / 3},
    /* when a target is a number, numbers count: {1, 2, 7, 9} against {7, 8} */
    {"1. 7 2. 9", {"7", "8"}, 2, 0.25, 0.5, 1.0 / 3},
    /* split on anything not a letter or digit */
    {"well-known;fact\n", {"well", "known", "fact"}, 3, 1.0, 1.0, 1.0},
    /* articles in the answer are no words; "and" is a wrong one */
    {"the apple and a pear", {"apple", "pear"}, 2, 2.0 / 3, 1.0, 0.8},
    /* targets are normalized and counted once; one that normalizes to nothing is none */
    {"apple", {"Apple", "apple", "APPLE.", "the"}, 4, 1.0, 1.0, 1.0},
    /* Unicode words: folded, and ideographs are letters */
    {"Äpfel, Straße; 東京", {"äpfel", "STRASSE", "大阪"}, 3, 2.0 / 3, 2.0 / 3, 2.0 / 3},
    /* a combining accent belongs to its word */
    {"cafe\u0301 bar", {"cafe\u0301"}, 1, 0.5, 1.0, 2.0 / 3},
    /* an invalid byte neither splits nor stays */
    {"app\xffle", {"apple"}, 1, 1.0, 1.0, 1.0},
    /* all wrong */
    {"fig grape", {"apple", "banana"}, 2, 0.0, 0.0, 0.0},
    /* no words in the answer */
    {"", {"apple"}, 1, 0.0, 0.0, 0.0},
    {"... -- !!", {"apple"}, 1, 0.0, 0.0, 0.0},
    {"1. 2. 3.", {"apple"}, 1, 0.0, 0.0, 0.0},
    /* no targets: recall 1, and every predicted word is wrong */
    {"apple", {NULL}, 0, 0.0, 1.0, 0.0},
    {"", {NULL}, 0, 0.0, 0.0, 0.0},
};

static void test_word_list_score_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof score_rows / sizeof score_rows[0]; i++) {
        const score_row *r = &score_rows[i];
        eval_prf s = eval_word_list_score(r->answer, r->targets, r->n_targets);
        assert_float_equal(s.precision, r->precision, 1e-9);
        assert_float_equal(s.recall, r->recall, 1e-9);
        assert_float_equal(s.f1, r->f1, 1e-9);
    }
}

static void test_word_list_score_takes_no_target_array(void **state)
{
    (void)state;
    eval_prf s = eval_word_list_score("apple", NULL, 0);
    assert_float_equal(s.precision, 0.0, 1e-9);
    assert_float_equal(s.recall, 1.0, 1e-9);
    assert_float_equal(s.f1, 0.0, 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_table),
        cmocka_unit_test(test_exact_match_table),
        cmocka_unit_test(test_contains_on_word_boundaries),
        cmocka_unit_test(test_word_list_score_table),
        cmocka_unit_test(test_word_list_score_takes_no_target_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
