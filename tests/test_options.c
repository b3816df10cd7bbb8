/*
 * test_options.c - setting options by name: every choice's name sets that
 * choice (the names are also what events print), numbers are range-checked,
 * and each failure says which kind it is.
 */
#include "wim.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static int set(wim_options *o, const char *key, const char *value, char *err)
{
    return wim_options_set(o, key, value, err, 256);
}

static void test_names_round_trip(void **state)
{
    (void)state;
    wim_options o;
    char err[256];
    wim_options_default(&o);
    for (wim_mode m = WIM_MODE_WIM; m <= WIM_MODE_RAG; m++) {
        assert_int_equal(set(&o, "mode", wim_mode_name(m), err), 0);
        assert_int_equal(o.mode, m);
    }
    for (wim_schedule s = WIM_SCHEDULE_SEQUENTIAL; s <= WIM_SCHEDULE_OVERLAP; s++) {
        assert_int_equal(set(&o, "schedule", wim_schedule_name(s), err), 0);
        assert_int_equal(o.schedule, s);
    }
    for (wim_classify c = WIM_CLASSIFY_TWO_PASS; c <= WIM_CLASSIFY_ONE_PASS; c++) {
        assert_int_equal(set(&o, "classify", wim_classify_name(c), err), 0);
        assert_int_equal(o.classify, c);
    }
    assert_string_equal(wim_schedule_name(WIM_SCHEDULE_OVERLAP), "overlap");
}

static void test_values_land_in_their_fields(void **state)
{
    (void)state;
    wim_options o;
    char err[256];
    wim_options_default(&o);
    assert_int_equal(set(&o, "segment_tokens", "2048", err), 0);
    assert_int_equal(set(&o, "max_margin_tokens", "7", err), 0);
    assert_int_equal(set(&o, "ctx_size", "9000", err), 0);
    assert_int_equal(set(&o, "batch_size", "64", err), 0);
    assert_int_equal(set(&o, "seed", "4294967295", err), 0);
    assert_int_equal(set(&o, "temp", "0.5", err), 0);
    assert_int_equal(set(&o, "templates", "/tmp/t", err), 0);
    assert_int_equal(set(&o, "fixed_length", NULL, err), 0);
    assert_int_equal(set(&o, "assume_relevant", "true", err), 0);
    assert_int_equal(set(&o, "assume_relevant", "false", err), 0);
    assert_int_equal(set(&o, "quoted_margins", "true", err), 0);
    assert_int_equal(set(&o, "quoted_answers", "true", err), 0);
    assert_int_equal(o.segment_tokens, 2048);
    assert_int_equal(o.max_margin_tokens, 7);
    assert_int_equal(o.max_answer_tokens, 100); /* untouched */
    assert_int_equal(o.n_ctx, 9000);
    assert_int_equal(o.n_batch, 64);
    assert_true(o.seed == 4294967295u);
    assert_true(o.temp == 0.5f);
    assert_string_equal(o.templates_dir, "/tmp/t");
    assert_true(o.fixed_length);
    assert_false(o.assume_relevant);
    assert_true(o.quoted_margins);
    assert_true(o.quoted_answers);
    assert_int_equal(wim_options_check(&o, err, sizeof err), 0);
}

/* --window takes a size, auto or off; a window is for wim mode alone. */
static void test_the_window_setting(void **state)
{
    (void)state;
    wim_options o;
    char err[256];
    wim_options_default(&o);
    assert_int_equal(o.window, WIM_WINDOW_AUTO);
    assert_int_equal(set(&o, "window", "off", err), 0);
    assert_int_equal(o.window, WIM_WINDOW_OFF);
    assert_int_equal(set(&o, "window", "4096", err), 0);
    assert_int_equal(o.window, 4096);
    assert_int_equal(set(&o, "window", "auto", err), 0);
    assert_int_equal(o.window, WIM_WINDOW_AUTO);
    assert_int_equal(set(&o, "window", "-2", err), WIM_OPTION_BAD_VALUE);
    assert_int_equal(set(&o, "window", "wide", err), WIM_OPTION_BAD_VALUE);
    assert_int_equal(set(&o, "carry_tokens", "512", err), 0);
    assert_int_equal(o.carry_tokens, 512);
    assert_int_equal(set(&o, "carry_tokens", "-1", err), WIM_OPTION_BAD_VALUE);
    o.window = 2048;
    o.mode = WIM_MODE_LLM;
    assert_int_equal(wim_options_check(&o, err, sizeof err), -1);
    assert_non_null(strstr(err, "wim mode"));
    o.window = -5;
    o.mode = WIM_MODE_WIM;
    assert_int_equal(wim_options_check(&o, err, sizeof err), -1);
}

static void test_failures_say_what_is_wrong(void **state)
{
    (void)state;
    wim_options o, before;
    char err[256];
    wim_options_default(&o);
    before = o;
    assert_int_equal(set(&o, "frobnicate", "1", err), WIM_OPTION_UNKNOWN);
    assert_int_equal(set(&o, "segment_tokens", NULL, err), WIM_OPTION_NEEDS_VALUE);
    assert_int_equal(set(&o, "segment_tokens", "ten", err), WIM_OPTION_BAD_VALUE);
    assert_non_null(strstr(err, "got 'ten'"));
    assert_int_equal(set(&o, "segment_tokens", "0", err), WIM_OPTION_BAD_VALUE);
    assert_int_equal(set(&o, "segment_tokens", "99999999999", err), WIM_OPTION_BAD_VALUE);
    assert_int_equal(set(&o, "seed", "-1", err), WIM_OPTION_BAD_VALUE);
    assert_int_equal(set(&o, "temp", "warm", err), WIM_OPTION_BAD_VALUE);
    assert_int_equal(set(&o, "temp", "nan", err), WIM_OPTION_BAD_VALUE);
    assert_int_equal(set(&o, "fixed_length", "maybe", err), WIM_OPTION_BAD_VALUE);
    assert_int_equal(set(&o, "mode", "fast", err), WIM_OPTION_BAD_VALUE);
    assert_string_equal(err, "unknown value 'fast' (one of wim llm rag)");
    assert_memory_equal(&o, &before, sizeof o); /* nothing was changed by a failure */

    o.top_p = 0;
    assert_int_equal(wim_options_check(&o, err, sizeof err), -1);
    assert_string_equal(err, "top-p must be in (0, 1]");
}

/* Every whole number has a bound far below what sizing arithmetic could
 * overflow on, from text and in the struct alike. */
static void test_numbers_are_bounded(void **state)
{
    (void)state;
    static const char *const keys[] = {
        "segment_tokens", "max_margin_tokens", "max_verdict_tokens", "max_answer_tokens",
        "threads",        "ctx_size",          "batch_size",         "ubatch_size"};
    wim_options o;
    char err[256];
    wim_options_default(&o);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        assert_int_equal(set(&o, keys[i], "2147483647", err), WIM_OPTION_BAD_VALUE);
        assert_non_null(strstr(err, "needs a whole number from"));
    }
    assert_int_equal(set(&o, "max_answer_tokens", "16777216", err), 0);
    assert_int_equal(set(&o, "max_answer_tokens", "16777217", err), WIM_OPTION_BAD_VALUE);
    assert_int_equal(set(&o, "batch_size", "65537", err), WIM_OPTION_BAD_VALUE);
    assert_int_equal(set(&o, "threads", "0", err), 0); /* 0: one per core */
    assert_int_equal(wim_options_check(&o, err, sizeof err), 0);
    o.max_verdict_tokens = 2147483647;
    assert_int_equal(wim_options_check(&o, err, sizeof err), -1);
    assert_string_equal(err, "max_verdict_tokens must be from 1 to 16777216, not 2147483647");
    wim_options_default(&o);
    o.n_batch = 0;
    assert_int_equal(wim_options_check(&o, err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_values_land_in_their_fields),
        cmocka_unit_test(test_the_window_setting),
        cmocka_unit_test(test_failures_say_what_is_wrong),
        cmocka_unit_test(test_numbers_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
