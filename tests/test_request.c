/*
 * test_request.c - the server's request reader (tools/server/request.c) alone:
 * what an accepted body gives, and bodies that must be refused because
 * reading them would lose part of what the client sent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static wim_options defaults;

static int setup(void **state)
{
    (void)state;
    wim_options_default(&defaults);
    defaults.n_ctx = 8192;
    return 0;
}

/* request_read on body[0..len); the status, with err holding the reason. */
static unsigned read_body(const char *body, size_t len, request *r, char *err, size_t errlen)
{
    err[0] = '\0';
    return request_read(body, len, &defaults, 0, r, err, errlen);
}

static void expect_refused(const char *body, size_t len, const char *why)
{
    request r;
    char err[640];
    assert_int_equal(read_body(body, len, &r, err, sizeof err), 400);
    if (!strstr(err, why)) fail_msg("'%s' lacks '%s'", err, why);
    assert_null(r.json);
    request_free(&r);
}

static void test_an_accepted_body(void **state)
{
    (void)state;
    static const char body[] = "{\"document\": \"One. Two.\", \"query\": \"Which?\", \"mode\": "
                               "\"rag\", \"options\": {\"segment_tokens\": 256, \"think\": true}}";
    request r;
    char err[640];
    assert_int_equal(read_body(body, strlen(body), &r, err, sizeof err), 0);
    assert_string_equal(r.document, "One. Two.");
    assert_string_equal(r.query, "Which?");
    assert_int_equal(r.options.mode, WIM_MODE_RAG);
    assert_int_equal(r.options.segment_tokens, 256);
    assert_true(r.options.think);
    assert_int_equal(r.options.n_ctx, 8192); /* the server's */
    request_free(&r);
    expect_refused(NULL, 0, "not JSON");
}

/* "document_base64": the decoded file's text becomes the document (an HTML
 * page here, its script left out); exactly one of it and "document". */
/* <p>One <script>x()</script>two.</p>: 8 bytes of text */
static const char html_body[] =
    "{\"document_base64\": "
    "\"PHA+T25lIDxzY3JpcHQ+eCgpPC9zY3JpcHQ+dHdvLjwvcD4=\", \"query\": \"q\"}";

static void test_a_document_in_base64(void **state)
{
    (void)state;
    request r;
    char err[640];
    assert_int_equal(read_body(html_body, strlen(html_body), &r, err, sizeof err), 0);
    assert_string_equal(r.document, "One two.");
    request_free(&r);
    expect_refused("{\"document_base64\": \"PHA+\", \"document\": \"x\", \"query\": \"q\"}", 58,
                   "not both");
    expect_refused("{\"document_base64\": \"PH*+\", \"query\": \"q\"}", 41,
                   "\"document_base64\" is not base64: a character that is not at offset 2");
    expect_refused("{\"document_base64\": \"PHA+\", \"query\": \"q\"}", 41,
                   "\"document_base64\" (HTML): the HTML page has no text");
    expect_refused("{\"query\": \"q\"}", 14, "missing field \"document\" (or \"document_base64\")");
}

/* A file's text longer than a reading can hold is 413, refused as it is read
 * (before: read whole, then refused on its bytes or tokens). */
static void test_a_file_longer_than_a_reading_is_413(void **state)
{
    (void)state;
    const char *body = html_body;
    request r;
    char err[640];
    assert_int_equal(request_read(body, strlen(body), &defaults, 7, &r, err, sizeof err), 413);
    if (!strstr(err, "over 7 bytes")) fail_msg("reason: %s", err);
    assert_null(r.json);
    assert_int_equal(request_read(body, strlen(body), &defaults, 8, &r, err, sizeof err), 0);
    assert_string_equal(r.document, "One two.");
    request_free(&r);
}

/* With every place for reading a file taken (by other connections), a file is
 * not read at all: 503, try again; once one is free, it is read. */
static void test_a_file_with_no_place_to_be_read_is_503(void **state)
{
    (void)state;
    for (int i = 0; i < REQUEST_EXTRACTIONS; i++)
        assert_true(request_extraction_begin());
    assert_false(request_extraction_begin());
    request r;
    char err[640];
    assert_int_equal(request_read(html_body, strlen(html_body), &defaults, 0, &r, err, sizeof err),
                     503);
    if (!strstr(err, "files are being read already")) fail_msg("reason: %s", err);
    request_extraction_end();
    assert_int_equal(request_read(html_body, strlen(html_body), &defaults, 0, &r, err, sizeof err),
                     0);
    request_free(&r);
    for (int i = 1; i < REQUEST_EXTRACTIONS; i++)
        request_extraction_end();
}

/* cJSON copies a zero byte inside a string and ends the string there: the
 * document would be cut short without a word (found by fuzz_request). */
static void test_a_zero_byte_is_refused(void **state)
{
    (void)state;
    static const char body[] = "{\"document\": \"kept\0dropped\", \"query\": \"q\"}";
    expect_refused(body, sizeof body - 1, "NUL character");
    static const char after[] = "{\"document\": \"kept\", \"query\": \"q\"}\0";
    expect_refused(after, sizeof after - 1, "NUL character");
    static const char escape[] = "{\"document\": \"a\\u0000b\", \"query\": \"q\"}";
    expect_refused(escape, strlen(escape), "NUL character");
}

/* cJSON stops at the end of the first value and keeps the first of two equal
 * keys (other parsers, the last): a proxy that checked the body could be told
 * one thing and the server read another. */
static void test_trailing_data_and_twice_given_keys_are_refused(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"{\"document\": \"a\", \"query\": \"q\"}{\"x\": 1}",
         "data after the JSON value, at byte 31"},
        {"{\"document\": \"a\", \"query\": \"q\"} xyz", "data after the JSON value"},
        {"{\"document\": \"a\", \"query\": \"q\", \"query\": \"r\"}", "\"query\" twice"},
        {"{\"document\": \"a\", \"query\": \"q\", \"options\": {\"temp\": 1, \"temp\": 0}}",
         "\"temp\" twice"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_refused(bad[i][0], strlen(bad[i][0]), bad[i][1]);
    /* many keys, the twice-given pair far apart: found by sorting, not pairwise */
    enum { KEYS = 50000 };
    char *many = malloc(KEYS * 16 + 64), *at = many;
    at += sprintf(at, "{\"document\": \"a\", \"query\": \"q\"");
    for (int i = 0; i < KEYS; i++)
        at += sprintf(at, ", \"k%d\": 1", i == KEYS - 1 ? 7 : i);
    memcpy(at, "}", 2);
    expect_refused(many, strlen(many), "\"k7\" twice");
    free(many);
    static const char spaced[] = "{\"document\": \"a\", \"query\": \"q\"} \r\n\t";
    request r;
    char err[640];
    assert_int_equal(read_body(spaced, strlen(spaced), &r, err, sizeof err), 0);
    request_free(&r);
}

/* An option's string was copied into 64 bytes, so a bad value longer than
 * that could pass for a good one, cut short. */
static void test_a_long_option_is_read_whole(void **state)
{
    (void)state;
    char body[256];
    snprintf(body, sizeof body,
             "{\"document\": \"x\", \"query\": \"q\", \"options\": {\"temp\": \"0.5%060dx\"}}", 0);
    expect_refused(body, strlen(body), "options.temp: needs a number");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_accepted_body),
        cmocka_unit_test(test_a_zero_byte_is_refused),
        cmocka_unit_test(test_trailing_data_and_twice_given_keys_are_refused),
        cmocka_unit_test(test_a_document_in_base64),
        cmocka_unit_test(test_a_file_longer_than_a_reading_is_413),
        cmocka_unit_test(test_a_file_with_no_place_to_be_read_is_503),
        cmocka_unit_test(test_a_long_option_is_read_whole),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
