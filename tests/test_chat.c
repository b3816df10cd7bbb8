/*
 * test_chat.c - user and generation headers from chat templates rendered by
 * llama.cpp's Jinja engine: the three families' own templates (ChatML,
 * Llama 3, Phi-3), as carried by models wim-mkmodel made from llama.cpp's
 * vocab files; real models' templates from llama.cpp's models/templates/
 * (thinking on and off); how headers and user text tokenize; errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "chat.h"
#include "model.h"

#include <dirent.h>
#include <stdio.h>
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
    /* Phi-3-mini's template drops system turns; common then puts the system
     * text at the head of the user's (llama.cpp's built-in "phi3" style made
     * a <|system|> turn the model's own template never shows it) */
    {"tiny-phi3.gguf", "<|user|>\nBe brief.\n", "<|end|>\n<|assistant|>\n", "<|end|>"},
};

#define N_FAMILIES (sizeof families / sizeof families[0])

/* The families' models, loaded once for all tests. */
static wim_model *models[N_FAMILIES];

static int load_models(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_FAMILIES; i++) {
        char path[1024], err[512];
        snprintf(path, sizeof path, "%s/%s", WIM_TEST_MODELS, families[i].model);
        models[i] = wim_model_load(path, NULL, err, sizeof err);
        if (!models[i]) {
            fprintf(stderr, "%s\n", err);
            return -1;
        }
    }
    return 0;
}

static int free_models(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_FAMILIES; i++)
        wim_model_free(models[i]);
    return 0;
}

static wim_model *model(const char *name)
{
    for (size_t i = 0; i < N_FAMILIES; i++)
        if (strcmp(families[i].model, name) == 0) return models[i];
    fail_msg("no model %s", name);
    return NULL;
}

/* The text of a file under WIM_CHAT_TEMPLATES (llama.cpp's models/templates/). */
static char *read_template(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", WIM_CHAT_TEMPLATES, name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* Headers of template file name, rendered with model m's BOS and EOS. */
static int headers_of(wim_chat *c, wim_model *m, const char *name, bool think, char *err,
                      size_t errlen)
{
    char *tmpl = read_template(name);
    int rc = wim_chat_from_template(c, m->model, tmpl, think, "Be brief.", err, errlen);
    free(tmpl);
    return rc;
}

static void expect_headers(wim_model *m, const char *name, bool think, const char *user_header,
                           const char *generation_header)
{
    wim_chat c;
    char err[512];
    if (headers_of(&c, m, name, think, err, sizeof err) != 0) fail_msg("%s: %s", name, err);
    assert_string_equal(c.user_header, user_header);
    assert_string_equal(c.generation_header, generation_header);
    wim_chat_free(&c);
}

/* ============================================================================
 * The three families
 * ========================================================================= */

static void test_headers_from_model_templates(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_FAMILIES; i++) {
        wim_model *m = models[i];
        wim_chat c;
        char err[256];
        assert_int_equal(
            wim_chat_init(&c, m->model, false, "Be brief.", NULL, NULL, err, sizeof err), 0);
        assert_string_equal(c.user_header, families[i].user_header);
        assert_string_equal(c.generation_header, families[i].generation_header);
        wim_chat_free(&c);
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
    for (size_t i = 0; i < N_FAMILIES; i++) {
        wim_model *m = models[i];
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
    }
}

/* ============================================================================
 * Real models' templates
 * ========================================================================= */

/* Qwen3 thinks unless told not to; not thinking, its reply starts past an
 * empty thought. */
static void test_qwen3_thinking_off_and_on(void **state)
{
    (void)state;
    wim_model *m = model("tiny-qwen2.gguf");
    const char *uh = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n";
    expect_headers(m, "Qwen-Qwen3-0.6B.jinja", false, uh,
                   "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
    expect_headers(m, "Qwen-Qwen3-0.6B.jinja", true, uh, "<|im_end|>\n<|im_start|>assistant\n");
}

/* Generation headers of thinking models' templates, thinking off and on. */
static void test_thinking_models(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        const char *off, *on;
    } cases[] = {
        /* Nemotron-H: enable_thinking */
        {"NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja",
         "<|im_end|>\n<|im_start|>assistant\n<think></think>",
         "<|im_end|>\n<|im_start|>assistant\n<think>\n"},
        /* Nemotron Nano 2 and DeepSeek-R1 always open a thought: closed here */
        {"NVIDIA-Nemotron-Nano-v2.jinja", "\n<SPECIAL_11>Assistant\n<think>\n</think>",
         "\n<SPECIAL_11>Assistant\n<think>\n"},
        {"deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja",
         "<\uff5cAssistant\uff5c><think>\n</think>", "<\uff5cAssistant\uff5c><think>\n"},
        {"deepseek-ai-DeepSeek-V3.1.jinja", "<\uff5cAssistant\uff5c><think></think>",
         "<\uff5cAssistant\uff5c><think>"},
        /* no thinking at all: the same either way */
        {"Qwen-Qwen2.5-7B-Instruct.jinja", "<|im_end|>\n<|im_start|>assistant\n",
         "<|im_end|>\n<|im_start|>assistant\n"},
    };
    wim_model *m = model("tiny-qwen2.gguf");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int think = 0; think < 2; think++) {
            wim_chat c;
            char err[512];
            if (headers_of(&c, m, cases[i].file, think, err, sizeof err) != 0)
                fail_msg("%s: %s", cases[i].file, err);
            assert_string_equal(c.generation_header, think ? cases[i].on : cases[i].off);
            assert_non_null(strstr(c.user_header, "Be brief."));
            wim_chat_free(&c);
        }
    }
}

/* gpt-oss's template has no switch for thinking: not thinking, the reply opens
 * its final channel; thinking, the model picks its channel. */
static void test_gpt_oss_channels(void **state)
{
    (void)state;
    wim_model *m = model("tiny-llama.gguf");
    wim_chat c;
    char err[512];
    assert_int_equal(headers_of(&c, m, "openai-gpt-oss-120b.jinja", false, err, sizeof err), 0);
    assert_string_equal(c.generation_header,
                        "<|end|><|start|>assistant<|channel|>final<|message|>");
    assert_non_null(strstr(c.user_header, "Be brief."));
    wim_chat_free(&c);
    assert_int_equal(headers_of(&c, m, "openai-gpt-oss-120b.jinja", true, err, sizeof err), 0);
    assert_string_equal(c.generation_header, "<|end|><|start|>assistant");
    wim_chat_free(&c);
}

/* Gemma 4's template, one that llama_chat_apply_template refuses. */
static void test_gemma4(void **state)
{
    (void)state;
    wim_model *m = model("tiny-llama.gguf");
    const char *uh = "<|turn>system\nBe brief.<turn|>\n<|turn>user\n";
    expect_headers(m, "google-gemma-4-31B-it.jinja", false, uh,
                   "<turn|>\n<|turn>model\n<|channel>thought\n<channel|>");
    expect_headers(m, "google-gemma-4-31B-it.jinja", true,
                   "<|turn>system\n<|think|>\nBe brief.<turn|>\n<|turn>user\n",
                   "<turn|>\n<|turn>model\n");
}

/* Gemma 2 has no system turn: its text opens the user's. */
static void test_gemma2_system_in_user_turn(void **state)
{
    (void)state;
    wim_model *m = model("tiny-llama.gguf");
    expect_headers(m, "google-gemma-2-2b-it.jinja", false, "<start_of_turn>user\nBe brief.\n",
                   "<end_of_turn>\n<start_of_turn>model\n");
}

/* Every template in llama.cpp's collection either gives two headers around the
 * user's words or fails with a message; nearly all give headers. */
static void test_every_template_splits(void **state)
{
    (void)state;
    wim_model *m = model("tiny-llama.gguf");
    DIR *d = opendir(WIM_CHAT_TEMPLATES);
    assert_non_null(d);
    int tried = 0, split = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 6, ".jinja") != 0) continue;
        for (int think = 0; think < 2; think++) {
            wim_chat c;
            char err[512] = "";
            tried++;
            if (headers_of(&c, m, e->d_name, think, err, sizeof err) == 0) {
                split++;
                assert_non_null(c.user_header);
                assert_true(strlen(c.generation_header) > 0);
                wim_chat_free(&c);
            } else {
                assert_true(strlen(err) > 0);
                assert_null(strchr(err, '\n'));
                print_message("%s (think %d): %s\n", e->d_name, think, err);
            }
        }
    }
    closedir(d);
    print_message("%d of %d template renderings split\n", split, tried);
    assert_true(tried >= 100);
    assert_true(split >= tried - 4);
}

/* Templates that put bos_token first give a user header that tokenizes to one
 * BOS at its head, whether or not the tokenizer adds its own (common strips
 * the template's when it does). */
static void test_one_bos(void **state)
{
    (void)state;
    static const char *const with_bos[] = {"meta-llama-Llama-3.1-8B-Instruct.jinja",
                                           "google-gemma-4-31B-it.jinja"};
    for (size_t i = 0; i < N_FAMILIES; i++) {
        wim_model *m = models[i];
        llama_token bos = llama_vocab_bos(m->vocab);
        for (size_t j = 0; j < sizeof with_bos / sizeof with_bos[0]; j++) {
            wim_chat c;
            char err[512];
            assert_int_equal(headers_of(&c, m, with_bos[j], false, err, sizeof err), 0);
            wim_tokens t = {0};
            assert_int_equal(
                wim_tokens_add_text(m, &t, c.user_header, strlen(c.user_header), true, true), 0);
            assert_true(t.n > 2);
            assert_int_equal(t.v[0], bos);
            assert_int_equal(count_token(&t, bos), 1);
            wim_tokens_free(&t);
            wim_chat_free(&c);
        }
    }
}

/* ============================================================================
 * Overrides and errors
 * ========================================================================= */

static void test_header_overrides(void **state)
{
    (void)state;
    wim_chat c;
    char err[256];
    assert_int_equal(wim_chat_init(&c, NULL, false, "S{query}", "[{system}]<user>", "</user><bot>",
                                   err, sizeof err),
                     0);
    assert_string_equal(c.user_header, "[S{query}]<user>");
    assert_string_equal(c.generation_header, "</user><bot>");
    wim_chat_free(&c);
    assert_int_equal(wim_chat_init(&c, NULL, false, "S", NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "--user-header"));
}

/* Templates that refuse a system turn: common sees that some never read its
 * content and merges it into the user's turn; the others raise, and get it
 * at the head of the user's words. */
static void test_system_turn_refused(void **state)
{
    (void)state;
    wim_model *m = model("tiny-qwen2.gguf");
    static const char *const refusing[] = {
        "{% if messages[0]['role'] == 'system' %}{{ raise_exception('no system') }}{% endif %}"
        "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}"
        "{% if add_generation_prompt %}<bot>{% endif %}",
        "{% for m in messages %}{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('roles must alternate') }}{% endif %}"
        "<{{ m['role'] }}>{{ m['content'] }}{% endfor %}"
        "{% if add_generation_prompt %}<bot>{% endif %}",
        "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}"
        "{% if m['role'] == 'system' %}{{ raise_exception('no system') }}{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}<bot>{% endif %}",
    };
    static const char *const user_header[] = {"<user>S\n", "<user>S\n", "<user>S\n\n"};
    for (size_t i = 0; i < sizeof refusing / sizeof refusing[0]; i++) {
        wim_chat c;
        char err[512] = "";
        if (wim_chat_from_template(&c, m->model, refusing[i], false, "S", err, sizeof err) != 0)
            fail_msg("template %zu: %s", i, err);
        assert_string_equal(c.user_header, user_header[i]);
        assert_string_equal(c.generation_header, "<bot>");
        wim_chat_free(&c);
    }
}

/* A template that does not parse, or raises while rendering, is a one-line
 * error that names the problem. */
static void test_broken_templates(void **state)
{
    (void)state;
    wim_model *m = model("tiny-qwen2.gguf");
    static const struct {
        const char *tmpl, *problem;
    } broken[] = {
        {"{% not a known template %}", "not"},
        {"{% for message in messages %}{{ message['content'] }", "Expected }}"},
        {"{{ raise_exception('no chats today') }}", "no chats today"},
        {"{{ messages[7]['content'] + 1 }}", "messages[7]"},
    };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        wim_chat c;
        char err[1024] = "";
        assert_int_equal(
            wim_chat_from_template(&c, m->model, broken[i].tmpl, false, "S", err, sizeof err), -1);
        assert_non_null(strstr(err, "chat template failed: "));
        assert_non_null(strstr(err, broken[i].problem));
        assert_null(strstr(err, "std::exception"));
        assert_null(strchr(err, '\n'));
    }
}

/* ============================================================================
 * Whole conversations (wim_session_chat's prompt)
 * ========================================================================= */

static const char *const roles[] = {"system", "user", "assistant", "user"};
static const char *const turns[] = {"Be brief.", "Hi", "Hello.", "Why?"};

/* Every turn, in order, in the model's own template, up to the reply. */
static void test_conversation_in_the_models_template(void **state)
{
    (void)state;
    char err[512] = "";
    char *text = wim_chat_template_conversation(model("tiny-qwen2.gguf")->model, NULL, roles, turns,
                                                4, false, err, sizeof err);
    assert_non_null(text);
    assert_string_equal(text, "<|im_start|>system\nBe brief.<|im_end|>\n"
                              "<|im_start|>user\nHi<|im_end|>\n"
                              "<|im_start|>assistant\nHello.<|im_end|>\n"
                              "<|im_start|>user\nWhy?<|im_end|>\n"
                              "<|im_start|>assistant\n");
    free(text);
}

/* A template that raises on any system turn: its text leads the next user turn. */
static void test_conversation_system_folded_where_refused(void **state)
{
    (void)state;
    static const char tmpl[] =
        "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}"
        "{% if m['role'] == 'system' %}{{ raise_exception('no system') }}{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}<bot>{% endif %}";
    char err[512] = "";
    char *text = wim_chat_template_conversation(model("tiny-qwen2.gguf")->model, tmpl, roles, turns,
                                                4, false, err, sizeof err);
    assert_non_null(text);
    assert_string_equal(text, "<user>Be brief.\n\nHi<assistant>Hello.<user>Why?<bot>");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers_from_model_templates),
        cmocka_unit_test(test_markers_special_only_in_headers),
        cmocka_unit_test(test_qwen3_thinking_off_and_on),
        cmocka_unit_test(test_thinking_models),
        cmocka_unit_test(test_gpt_oss_channels),
        cmocka_unit_test(test_gemma4),
        cmocka_unit_test(test_gemma2_system_in_user_turn),
        cmocka_unit_test(test_every_template_splits),
        cmocka_unit_test(test_one_bos),
        cmocka_unit_test(test_header_overrides),
        cmocka_unit_test(test_system_turn_refused),
        cmocka_unit_test(test_broken_templates),
        cmocka_unit_test(test_conversation_in_the_models_template),
        cmocka_unit_test(test_conversation_system_folded_where_refused),
    };
    return cmocka_run_group_tests(tests, load_models, free_models);
}
