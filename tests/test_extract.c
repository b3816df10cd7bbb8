/*
 * test_extract.c - the text of document files (tools/common/extract.c): a
 * 3-page PDF made here comes back with its pages' words in order and form
 * feeds between them; encrypted, damaged and text-less PDFs, and non-UTF-8
 * text, are refused with their own line; HTML loses its script, style and head
 * and keeps its blocks apart; the kind is told by content. And the strict
 * base64 decoder the server reads uploads with (tools/common/base64.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "extract.h"
#include "pdf.h"

static const char *const three[] = {"Alpha page one.", "Bravo page two.", "Charlie page three."};

/* extract_text on s[0..len), which must fail with a reason holding needle. */
static void expect_refused(const char *s, size_t len, const char *needle)
{
    char *text = NULL, err[256] = "";
    size_t n;
    if (extract_text(s, len, 0, &text, &n, err, sizeof err) == 0)
        fail_msg("accepted, wanted '%s'; text '%s'", needle, text);
    if (!strstr(err, needle)) fail_msg("reason '%s', wanted '%s'", err, needle);
    assert_null(strchr(err, '\n'));
}

/* extract_text on s, which must succeed; the text (to free). */
static char *expect_text(const char *s, size_t len)
{
    char *text = NULL, err[256] = "";
    size_t n = 0;
    if (extract_text(s, len, 0, &text, &n, err, sizeof err) != 0) fail_msg("refused: %s", err);
    assert_non_null(text);
    assert_int_equal(n, strlen(text));
    return text;
}

/* ---- PDF ---- */

static void test_pdf_pages_come_back_in_order_between_form_feeds(void **state)
{
    (void)state;
    size_t len;
    char *pdf = pdf_make(three, 3, &len);
    assert_int_equal(extract_kind_of(pdf, len), EXTRACT_PDF);
    char *text = expect_text(pdf, len);
    const char *at = text;
    for (int i = 0; i < 3; i++) {
        const char *page = strstr(at, three[i]);
        if (!page) {
            fail_msg("page %d's words '%s' not after offset %td in '%s'", i + 1, three[i],
                     at - text, text);
            return; /* fail_msg does not return: this tells the analyzer so */
        }
        /* exactly i form feeds before page i's words: they separate the pages */
        int ff = 0;
        for (const char *p = text; p < page; p++)
            ff += *p == '\f';
        assert_int_equal(ff, i);
        at = page + strlen(three[i]);
    }
    assert_null(strchr(at, '\f'));
    free(text);
    free(pdf);
}

static void test_encrypted_pdf_is_refused_as_encrypted(void **state)
{
    (void)state;
    size_t len = 0;
    char *pdf = pdf_make_encrypted(three, 3, &len);
    assert_non_null(pdf);
    expect_refused(pdf, len, "the PDF is encrypted");
    free(pdf);
}

/* A bound on the text: a PDF with more pages than it has bytes (each page is a
 * form feed at least) is refused before it is read, a longer text as it grows. */
static void test_text_past_its_bound_is_too_long(void **state)
{
    (void)state;
    static const char *const blank[12] = {NULL};
    size_t len, n;
    char *text = NULL, err[256];
    char *many = pdf_make(blank, 12, &len); /* 11 form feeds */
    assert_int_equal(extract_text(many, len, 10, &text, &n, err, sizeof err), EXTRACT_TOO_LONG);
    assert_non_null(strstr(err, "over 10 bytes"));
    free(many);
    char *pdf = pdf_make(three, 3, &len);
    assert_int_equal(extract_text(pdf, len, 20, &text, &n, err, sizeof err), EXTRACT_TOO_LONG);
    assert_int_equal(extract_text(pdf, len, 1000, &text, &n, err, sizeof err), 0);
    free(text);
    free(pdf);
    assert_int_equal(extract_text("twelve bytes", 12, 11, &text, &n, err, sizeof err),
                     EXTRACT_TOO_LONG);
    assert_int_equal(extract_text("twelve bytes", 12, 12, &text, &n, err, sizeof err), 0);
    free(text);
}

/* The encoder the tests send PDFs with, against the decoder. */
static void test_base64_round_trip(void **state)
{
    (void)state;
    size_t len, n;
    char *pdf = pdf_make(three, 3, &len), *b64 = pdf_base64(pdf, len), *back = NULL, err[128];
    assert_int_equal(base64_decode(b64, strlen(b64), &back, &n, err, sizeof err), 0);
    assert_int_equal(n, len);
    assert_memory_equal(back, pdf, len);
    free(back);
    free(b64);
    free(pdf);
}

static void test_damaged_pdf_is_not_readable(void **state)
{
    (void)state;
    expect_refused("%PDF-1.5\nthis is no PDF at all\n", 31, "not a readable PDF");
    size_t len;
    char *pdf = pdf_make(three, 3, &len);
    expect_refused(pdf, 200, "not a readable PDF"); /* its header and a little more */
    free(pdf);
}

static void test_pdf_without_text_says_it_has_no_text_layer(void **state)
{
    (void)state;
    const char *const scanned[] = {NULL, NULL};
    size_t len;
    char *pdf = pdf_make(scanned, 2, &len);
    expect_refused(pdf, len, "the PDF has no text layer");
    free(pdf);
}

/* ---- HTML ---- */

static void test_html_loses_script_style_and_head_and_keeps_blocks_apart(void **state)
{
    (void)state;
    const char *page = "<!DOCTYPE html>\n<html><head><title>Hidden title</title>"
                       "<style>p { color: red }</style><script>var secret = 1;</script></head>\n"
                       "<body><h1>The   heading</h1><p>One &amp; two\n  words.</p>"
                       "<script>document.write('no')</script><p>Three<br>four</p>"
                       "<ul><li>first</li><li>second</li></ul><!-- a comment --></body></html>";
    assert_int_equal(extract_kind_of(page, strlen(page)), EXTRACT_HTML);
    char *text = expect_text(page, strlen(page));
    assert_string_equal(text, "The heading\n\nOne & two words.\n\nThree\nfour\n\nfirst\nsecond");
    free(text);
}

static void test_html_in_its_declared_charset_becomes_utf8(void **state)
{
    (void)state;
    const char *page = "<html><head><meta charset=\"iso-8859-1\"></head>"
                       "<body><p>caf\xe9</p></body></html>";
    char *text = expect_text(page, strlen(page));
    assert_string_equal(text, "caf\xc3\xa9");
    free(text);
}

static void test_html_without_text_is_refused(void **state)
{
    (void)state;
    const char *page =
        "<html><head><title>t</title></head><body><script>x()</script></body></html>";
    expect_refused(page, strlen(page), "the HTML page has no text");
}

static void test_html_text_over_the_bound_is_refused(void **state)
{
    (void)state;
    /* paragraphs of 1 KiB words until their text passes EXTRACT_MAX_TEXT */
    size_t n = (EXTRACT_MAX_TEXT >> 10) + 8, one = 1024 + 7;
    char *page = malloc(n * one + 1);
    assert_non_null(page);
    for (size_t i = 0; i < n; i++) {
        memcpy(page + i * one, "<p>", 3);
        memset(page + i * one + 3, 'w', 1024);
        memcpy(page + i * one + 3 + 1024, "</p>", 4);
    }
    page[n * one] = '\0';
    expect_refused(page, n * one, "text is over 67108864 bytes");
    free(page);
}

/* ---- text, and telling kinds apart ---- */

static void test_text_stays_as_it_is_form_feeds_and_all(void **state)
{
    (void)state;
    const char *doc = "Page one.\n\fPage two <p> is not HTML here.\n";
    assert_int_equal(extract_kind_of(doc, strlen(doc)), EXTRACT_TEXT);
    char *text = expect_text(doc, strlen(doc));
    assert_string_equal(text, doc);
    free(text);
}

static void test_text_that_is_not_utf8_is_refused(void **state)
{
    (void)state;
    expect_refused("caf\xe9 au lait", 12, "not valid UTF-8 at byte offset 3");
    expect_refused("a\0b", 3, "NUL byte");
    expect_refused(" \f\n", 3, "empty");
}

static void test_kinds_are_told_by_content(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        extract_kind k;
    } cases[] = {
        {"%PDF-1.7\n", EXTRACT_PDF},
        {"junk before\n%PDF-1.4\n", EXTRACT_PDF},
        {"\xEF\xBB\xBF  <!doctype HTML><p>x", EXTRACT_HTML},
        {"<?xml version=\"1.0\"?>\n<!-- c --><html xmlns=\"x\">", EXTRACT_HTML},
        {"<p>para", EXTRACT_HTML},
        {"<BODY>", EXTRACT_HTML},
        {"<pre>code</pre>", EXTRACT_TEXT},
        {"<please> read this", EXTRACT_TEXT},
        {"Some text, then <html>", EXTRACT_TEXT},
        {"", EXTRACT_TEXT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (extract_kind_of(cases[i].s, strlen(cases[i].s)) != cases[i].k)
            fail_msg("'%s' is not %s", cases[i].s, extract_kind_name(cases[i].k));
}

/* ---- base64 ---- */

static void test_base64_decodes_every_padding(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"", ""},           {"Zg==", "f"},        {"Zm8=", "fo"},         {"Zm9v", "foo"},
        {"Zm9vYg", "foob"}, {"Zm9vYmE", "fooba"}, {"Zm9vYmFy", "foobar"}, {"+/8=", "\xfb\xff"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *out = NULL, err[128];
        size_t n;
        assert_int_equal(base64_decode(cases[i][0], strlen(cases[i][0]), &out, &n, err, sizeof err),
                         0);
        assert_int_equal(n, strlen(cases[i][1]));
        assert_memory_equal(out, cases[i][1], n);
        free(out);
    }
}

static void test_base64_refuses_what_is_not_base64(void **state)
{
    (void)state;
    static const char *const bad[] = {"Zm9v YmFy", "Zg=", "Z===", "Zm9vY", "Zm=v", "Zm9v\n", "é"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *out = NULL, err[128] = "";
        size_t n;
        if (base64_decode(bad[i], strlen(bad[i]), &out, &n, err, sizeof err) == 0)
            fail_msg("'%s' decoded", bad[i]);
        assert_non_null(strstr(err, "not base64"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pdf_pages_come_back_in_order_between_form_feeds),
        cmocka_unit_test(test_encrypted_pdf_is_refused_as_encrypted),
        cmocka_unit_test(test_damaged_pdf_is_not_readable),
        cmocka_unit_test(test_pdf_without_text_says_it_has_no_text_layer),
        cmocka_unit_test(test_html_loses_script_style_and_head_and_keeps_blocks_apart),
        cmocka_unit_test(test_html_in_its_declared_charset_becomes_utf8),
        cmocka_unit_test(test_html_without_text_is_refused),
        cmocka_unit_test(test_html_text_over_the_bound_is_refused),
        cmocka_unit_test(test_text_stays_as_it_is_form_feeds_and_all),
        cmocka_unit_test(test_text_that_is_not_utf8_is_refused),
        cmocka_unit_test(test_kinds_are_told_by_content),
        cmocka_unit_test(test_base64_decodes_every_padding),
        cmocka_unit_test(test_base64_refuses_what_is_not_base64),
        cmocka_unit_test(test_base64_round_trip),
        cmocka_unit_test(test_text_past_its_bound_is_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
