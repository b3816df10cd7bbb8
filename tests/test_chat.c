/*
 * test_chat.c - user and generation headers for the three families' chat
 * templates (ChatML, Llama 3, Phi-3), as carried by models wim-mkmodel made
 * from llama.cpp's vocab files; and how headers and user text tokenize.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "chat.h"
#include "model.h"

#include <stdlib.h>
#include <string.h>

typedef struct family {
    const char *model; /* file under WIM_TEST_MODELS */
    const char *user_header;
    const char *generation_header;
    const char *special; /* a chat marker that must be one special token */
} family;

static const family families[] = {
    {"tiny-qwen2.gguf", "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n",
     "<|im_end|>\n<|im_start|>assistant\n", "<|im_start|>"},
    {"tiny-llama.gguf",
     "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
     "<|start_header_id|>user<|end_header_id|>\n\n",
     "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", "<|eot_id|>"},
    {"tiny-phi3.gguf", "<|system|>\nBe brief.<|end|>\n<|user|>\n", "<|end|>\n<|assistant|>\n",
     "<|end|>"},
};

static wim_model *load(const char *name)
{
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/%s", WIM_TEST_MODELS, name);
    wim_model *m = wim_model_load(path, NULL, err, sizeof err);
    if (!m) fail_msg("%s", err);
    return m;
}

static void test_headers_from_model_templates(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        wim_model *m = load(families[i].model);
        wim_chat c;
        char err[256];
        const char *tmpl = llama_model_chat_template(m->model, NULL);
        assert_non_null(tmpl);
        assert_int_equal(wim_chat_init(&c, tmpl, "Be brief.", NULL, NULL, err, sizeof err), 0);
        assert_string_equal(c.user_header, families[i].user_header);
        assert_string_equal(c.generation_header, families[i].generation_header);
        wim_chat_free(&c);
        wim_model_free(m);
    }
}

static int count_token(const wim_tokens *t, llama_token id)
{
    int n = 0;
    for (int i = 0; i < t->n; i++)
        n += t->v[i] == id;
    return n;
}

/* Chat markers are special tokens in headers, plain text in user text. */
static void test_markers_special_only_in_headers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        wim_model *m = load(families[i].model);
        const char *mark = families[i].special;
        wim_tokens t = {0};
        assert_int_equal(wim_tokens_add_text(m, &t, mark, strlen(mark), false, true), 0);
        assert_int_equal(t.n, 1);
        llama_token special = t.v[0];
        assert_true(llama_vocab_is_control(m->vocab, special) ||
                    llama_vocab_is_eog(m->vocab, special));
        t.n = 0;
        assert_int_equal(wim_tokens_add_text(m, &t, mark, strlen(mark), false, false), 0);
        assert_true(t.n > 1);
        assert_int_equal(count_token(&t, special), 0);
        wim_tokens_free(&t);
        wim_model_free(m);
    }
}

static void test_header_overrides(void **state)
{
    (void)state;
    wim_chat c;
    char err[256];
    assert_int_equal(
        wim_chat_init(&c, NULL, "S{query}", "[{system}]<user>", "</user><bot>", err, sizeof err),
        0);
    assert_string_equal(c.user_header, "[S{query}]<user>");
    assert_string_equal(c.generation_header, "</user><bot>");
    wim_chat_free(&c);
    assert_int_equal(wim_chat_init(&c, NULL, "S", NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "--user-header"));
    assert_int_equal(
        wim_chat_init(&c, "{% not a known template %}", "S", NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "--generation-header"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers_from_model_templates),
        cmocka_unit_test(test_markers_special_only_in_headers),
        cmocka_unit_test(test_header_overrides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
