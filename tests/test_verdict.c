/*
 * test_verdict.c - the verdict parser's table: lenient on shape, closed on doubt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "verdict.h"
#include "wim.h"

typedef struct row {
    const char *text;
    bool relevant, parsed;
    const char *reason;
} row;

static const row rows[] = {
    {"YES#the note names the keeper", true, true, "the note names the keeper"},
    {"NO#nothing about it", false, true, "nothing about it"},
    {"yes# lower case", true, true, "lower case"},
    {"  \n Yes #spaced", true, true, "spaced"},
    {"```\nYES#fenced\n```", true, true, "fenced\n```"},
    {"```text\nNO#fenced with tag", false, true, "fenced with tag"},
    {"**YES**# emphasised", true, true, "emphasised"},
    {"\"NO\": quoted", false, true, "quoted"},
    {"YES", true, true, ""},
    {"No.", false, true, ""},
    {"Yesterday it rained", false, false, ""},
    {"Nothing here", false, false, ""},
    {"I think YES#", false, false, ""},
    {"", false, false, ""},
    {"#YES", false, false, ""},
    {"\xff\xfe garbage", false, false, ""},
};

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        wim_verdict v = wim_verdict_parse(rows[i].text);
        assert_int_equal(v.relevant, rows[i].relevant);
        assert_int_equal(v.parsed, rows[i].parsed);
        assert_string_equal(v.reason, rows[i].reason);
    }
}

/* The public reading is the table's, as 1 / 0 / -1. */
static void test_yes_no_follows_the_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_int_equal(wim_yes_no(rows[i].text), rows[i].parsed ? rows[i].relevant : -1);
}

static void test_prefix_decides_only_on_word_and_hash(void **state)
{
    (void)state;
    assert_int_equal(wim_verdict_prefix(""), -1);
    assert_int_equal(wim_verdict_prefix("N"), -1);
    assert_int_equal(wim_verdict_prefix("NO"), -1);
    assert_int_equal(wim_verdict_prefix("NO#"), 0);
    assert_int_equal(wim_verdict_prefix(" no #x"), 0);
    assert_int_equal(wim_verdict_prefix("YES#"), 1);
    assert_int_equal(wim_verdict_prefix("```\nYes#facts"), 1);
    assert_int_equal(wim_verdict_prefix("Nothing# here"), -1);
    assert_int_equal(wim_verdict_prefix("NO, because#"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_prefix_decides_only_on_word_and_hash),
        cmocka_unit_test(test_yes_no_follows_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
