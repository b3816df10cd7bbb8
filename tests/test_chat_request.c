/*
 * test_chat_request.c - POST /v1/chat/completions bodies read without a
 * server: where the document is found and what the question is, OpenAI's
 * fields as wim's options, the wim object, and every refusal's line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "chat_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static wim_options defaults;

static unsigned read_body(const char *body, chat_request *r, char *err, size_t errlen)
{
    wim_options_default(&defaults);
    err[0] = '\0';
    return chat_request_read(body, strlen(body), &defaults, 0, r, err, errlen);
}

static chat_request read_ok(const char *body)
{
    char err[640];
    chat_request r;
    unsigned status = read_body(body, &r, err, sizeof err);
    if (status) fail_msg("%u: %s (%s)", status, err, body);
    return r;
}

/* ============================================================================
 * Where the document is
 * ========================================================================= */

static void test_document_in_the_system_turn(void **state)
{
    (void)state;
    chat_request r =
        read_ok("{\"messages\": [{\"role\": \"system\", \"content\": \"A long text.\"},"
                "{\"role\": \"user\", \"content\": \"Why?\"}]}");
    assert_string_equal(r.document, "A long text.");
    assert_string_equal(r.query, "Why?");
    assert_int_equal(r.n_msgs, 2);
    assert_string_equal(r.msgs[0].role, "system");
    chat_request_free(&r);
}

/* Pasted in the last turn: the question is what follows its last blank line. */
static void test_document_and_question_in_one_turn(void **state)
{
    (void)state;
    chat_request r = read_ok("{\"messages\": [{\"role\": \"user\", \"content\": "
                             "\"Para one.\\n\\nPara two.\\n\\n  Who wrote it?\\n\"}]}");
    assert_string_equal(r.document, "Para one.\n\nPara two.");
    assert_string_equal(r.query, "Who wrote it?");
    chat_request_free(&r);
    /* what follows the last blank line is blank as wim_check_text counts it (a
     * vertical tab, a form feed): no question, so no document (found by fuzz_request) */
    r = read_ok("{\"messages\": [{\"role\": \"user\", \"content\": "
                "\"Para one.\\n\\nWhy?\\n\\n\\u000b\\n\"}]}");
    assert_string_equal(r.document, "Para one.");
    assert_string_equal(r.query, "Why?");
    chat_request_free(&r);
    r = read_ok("{\"messages\": [{\"role\": \"user\", \"content\": "
                "\"Para one.\\n\\n\\u000b\\f\"}]}");
    assert_null(r.document);
    chat_request_free(&r);
    /* no blank line: nothing to split, so no document (a chat) */
    r = read_ok("{\"messages\": [{\"role\": \"user\", \"content\": \"Just a question?\"}]}");
    assert_null(r.document);
    chat_request_free(&r);
}

/* Content parts: the longest is the document, the others the question. */
static void test_document_as_a_part(void **state)
{
    (void)state;
    chat_request r =
        read_ok("{\"messages\": [{\"role\": \"user\", \"content\": ["
                "{\"type\": \"text\", \"text\": \"Summarize.\"},"
                "{\"type\": \"text\", \"text\": \"The longest part of them all.\"}]}]}");
    assert_string_equal(r.document, "The longest part of them all.");
    assert_string_equal(r.query, "Summarize.");
    /* the model sees the parts joined, should the document be short */
    assert_string_equal(r.msgs[0].content, "Summarize.\n\nThe longest part of them all.");
    chat_request_free(&r);
}

/* OpenAI's file part: a file's bytes as a data URL, read for their text. */
static void test_document_as_a_file(void **state)
{
    (void)state;
    chat_request r = read_ok(
        "{\"messages\": [{\"role\": \"user\", \"content\": ["
        "{\"type\": \"file\", \"file\": {\"filename\": \"page.html\", \"file_data\": "
        "\"data:text/html;base64,PCFkb2N0eXBlIGh0bWw+PGh0bWw+PGhlYWQ+PHRpdGxlPlQ8L3RpdGxlPjwvaGVh"
        "ZD48Ym9keT48cD5UaGUgbG9uZyBwYWdlLCByZWFkLjwvcD48c2NyaXB0PnZhciB4Ozwvc2NyaXB0PjwvYm9keT48L2"
        "h"
        "0bWw+\"}},"
        "{\"type\": \"text\", \"text\": \"What is it?\"}]}]}");
    assert_non_null(strstr(r.document, "The long page, read."));
    assert_null(strstr(r.document, "var x"));
    assert_string_equal(r.query, "What is it?");
    chat_request_free(&r);
    char err[640];
    unsigned status = read_body("{\"messages\": [{\"role\": \"user\", \"content\": ["
                                "{\"type\": \"file\", \"file\": {\"file_data\": \"@@@\"}}]}]}",
                                &r, err, sizeof err);
    assert_int_equal(status, 400);
    assert_non_null(strstr(err, "messages[0].content[0] is not base64"));
    chat_request_free(&r);
    status = read_body("{\"messages\": [{\"role\": \"user\", \"content\": ["
                       "{\"type\": \"file\", \"file\": {\"file_id\": \"f1\"}}]}]}",
                       &r, err, sizeof err);
    assert_int_equal(status, 400);
    assert_non_null(strstr(err, "needs \"file_data\""));
    chat_request_free(&r);
}

/* An earlier turn holds it; the last user turn asks; assistant turns never hold it. */
static void test_document_in_an_earlier_turn(void **state)
{
    (void)state;
    chat_request r = read_ok(
        "{\"messages\": [{\"role\": \"user\", \"content\": \"Here is the long report text.\"},"
        "{\"role\": \"assistant\", \"content\": \"An even longer reply from the model itself.\"},"
        "{\"role\": \"developer\", \"content\": \"Be brief.\"},"
        "{\"role\": \"user\", \"content\": \"And the date?\"}]}");
    assert_string_equal(r.document, "Here is the long report text.");
    assert_string_equal(r.query, "And the date?");
    assert_string_equal(r.msgs[2].role, "system");
    chat_request_free(&r);
}

/* ============================================================================
 * Read or chat
 * ========================================================================= */

static void test_threshold_decides(void **state)
{
    (void)state;
    chat_request r = read_ok("{\"messages\": [{\"role\": \"system\", \"content\": \"Doc.\"},"
                             "{\"role\": \"user\", \"content\": \"Q?\"}]}");
    assert_true(chat_request_is_reading(&r, 100, 100));
    assert_false(chat_request_is_reading(&r, 99, 100));
    chat_request_free(&r);
    r = read_ok(
        "{\"messages\": [{\"role\": \"system\", \"content\": \"Doc.\"},"
        "{\"role\": \"user\", \"content\": \"Q?\"}], \"wim\": {\"min_document_tokens\": 5}}");
    assert_true(chat_request_is_reading(&r, 5, 100));
    assert_false(chat_request_is_reading(&r, 4, 1));
    chat_request_free(&r);
    r = read_ok("{\"messages\": [{\"role\": \"system\", \"content\": \"Doc.\"},"
                "{\"role\": \"user\", \"content\": \"Q?\"}], \"wim\": {\"mode\": \"rag\"}}");
    assert_true(chat_request_is_reading(&r, 1, 100));
    assert_int_equal(r.options.mode, WIM_MODE_RAG);
    chat_request_free(&r);
    r = read_ok("{\"messages\": [{\"role\": \"system\", \"content\": \"Doc.\"},"
                "{\"role\": \"user\", \"content\": \"Q?\"}], \"wim\": {\"mode\": \"chat\"}}");
    assert_false(chat_request_is_reading(&r, 100000, 1));
    chat_request_free(&r);
}

/* ============================================================================
 * OpenAI's fields
 * ========================================================================= */

static void test_openai_fields_become_options(void **state)
{
    (void)state;
    chat_request r =
        read_ok("{\"model\": \"gpt-4o\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}],"
                "\"max_tokens\": 33, \"temperature\": 0.5, \"top_p\": 0.9, \"seed\": 11, \"n\": 1,"
                "\"stream\": true, \"stream_options\": {\"include_usage\": true}, \"stop\": "
                "[\"END\", \"##\"],"
                "\"frequency_penalty\": 0, \"user\": \"someone\","
                "\"wim\": {\"options\": {\"segment_tokens\": 512, \"max_margin_tokens\": 20}}}");
    assert_int_equal(r.options.max_answer_tokens, 33);
    assert_float_equal(r.options.temp, 0.5, 1e-6);
    assert_float_equal(r.options.top_p, 0.9, 1e-6);
    assert_int_equal(r.options.seed, 11);
    assert_int_equal(r.options.segment_tokens, 512);
    assert_int_equal(r.options.max_margin_tokens, 20);
    assert_true(r.stream);
    assert_true(r.include_usage);
    assert_int_equal(r.n_stops, 2);
    assert_string_equal(r.stops[1], "##");
    chat_request_free(&r);
    r = read_ok("{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"stop\": \"X\","
                "\"max_completion_tokens\": 7, \"max_tokens\": null, \"stream\": null}");
    assert_int_equal(r.n_stops, 1);
    assert_int_equal(r.options.max_answer_tokens, 7);
    assert_false(r.stream);
    chat_request_free(&r);
}

static void test_refusals(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"[]", "must be a JSON object"},
        {"{\"messages\": []}", "at least one message"},
        {"{\"messages\": [{\"content\": \"Hi\"}]}", "messages[0] needs a \"role\""},
        {"{\"messages\": [\"Hi\"]}", "messages[0] must be an object"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": 5}]}", "string or an array of parts"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}",
         "parts of type \"image_url\" are not read here"},
        {"{\"messages\": [{\"role\": \"assistant\", \"content\": \"Hi\"}]}",
         "needs a user message"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"  \"}]}", "needs a user message"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"n\": 2}",
         "\"n\" must be 1"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"max_tokens\": 0}",
         "max_tokens: "},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"max_tokens\": \"9\"}",
         "\"max_tokens\" must be a number"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"stop\": [\"a\", \"\"]}",
         "\"stop\" must be"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], "
         "\"stop\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}",
         "at most 4"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"stream\": \"yes\"}",
         "must be booleans"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"wim\": {\"mode\": \"x\"}}",
         "mode: "},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"wim\": {\"mode\": "
         "\"wim\"}}",
         "needs a document and a question"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], "
         "\"wim\": {\"options\": {\"threads\": 4}}}",
         "set by the server"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], "
         "\"wim\": {\"min_document_tokens\": -1}}",
         "min_document_tokens must be"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\\u0000there\"}]}", "NUL"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"\xff\"}]}", "UTF-8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[640];
        chat_request r;
        unsigned status = read_body(cases[i][0], &r, err, sizeof err);
        if (status != 400 || !strstr(err, cases[i][1]))
            fail_msg("%s: got %u '%s', wanted 400 '%s'", cases[i][0], status, err, cases[i][1]);
        assert_null(strchr(err, '\n'));
        chat_request_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document_in_the_system_turn),
        cmocka_unit_test(test_document_and_question_in_one_turn),
        cmocka_unit_test(test_document_as_a_part),
        cmocka_unit_test(test_document_as_a_file),
        cmocka_unit_test(test_document_in_an_earlier_turn),
        cmocka_unit_test(test_threshold_decides),
        cmocka_unit_test(test_openai_fields_become_options),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
