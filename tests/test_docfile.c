/*
 * test_docfile.c - read once, ask later: a saved document answers as a fresh
 * reading does, and a file of another model, another context size, or a
 * damaged one is refused with a clear error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model.h"
#include "results.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static wim_model *model, *other_model, *same_shape; /* same_shape: other weights */
static char path[] = "/tmp/wim-doc-XXXXXX";

static const char document[] =
    "The harbour master logged forty ships in March. Two were turned away for want of papers. "
    "In April the breakwater was repaired with stone from Hollin. The tolls rose by a tenth. "
    "The keeper of the light, Mara Quill, asked for a second lamp. By May the fleet was back. "
    "Herring sold at four coins a crate. The council did nothing about the merchants. ";
static const char *const first[] = {"Who asked for a lamp?"};
static const char *const later[] = {"Where did the stone come from?", "What did herring cost?"};

static void options(wim_options *o)
{
    wim_options_default(o);
    o->n_threads = 1;
    o->segment_tokens = 24;
    o->max_margin_tokens = 12;
    o->max_answer_tokens = 8;
    o->schedule = WIM_SCHEDULE_SEQUENTIAL;
}

static wim_session *session(wim_model *m, const wim_options *o)
{
    char err[256];
    wim_session *s = wim_session_new(m, o, err, sizeof err);
    assert_non_null(s);
    return s;
}

static int setup(void **state)
{
    (void)state;
    char err[512];
    model = wim_model_load(WIM_TEST_MODELS "/tiny-qwen2.gguf", NULL, err, sizeof err);
    other_model = wim_model_load(WIM_TEST_MODELS "/tiny-llama.gguf", NULL, err, sizeof err);
    same_shape = wim_model_load(WIM_TEST_MODELS "/tiny-qwen2-seed7.gguf", NULL, err, sizeof err);
    int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    return model && other_model && same_shape && fd >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    wim_model_free(model);
    wim_model_free(other_model);
    wim_model_free(same_shape);
    unlink(path);
    return 0;
}

/* Reads the document fresh with queries into r, and saves it to path. */
static void read_and_save(const char *const *queries, int nq, results *r)
{
    wim_options o;
    options(&o);
    wim_session *s = session(model, &o);
    assert_int_equal(wim_session_run_many(s, document, strlen(document), queries, nq, collect, r),
                     0);
    assert_int_equal(wim_session_save_doc(s, path), 0);
    wim_session_free(s);
}

static void ask_loaded(const char *const *queries, int nq, results *r)
{
    wim_options o;
    options(&o);
    wim_session *s = session(model, &o);
    if (wim_session_load_doc(s, path) != 0) fail_msg("%s", wim_session_error(s));
    assert_int_equal(wim_session_ask(s, queries, nq, collect, r), 0);
    wim_session_free(s);
}

static void test_saved_document_answers_as_fresh_reading(void **state)
{
    (void)state;
    results fresh = {0}, loaded = {0};
    read_and_save(first, 1, &fresh);
    assert_true(fresh.n_segments >= 3);
    ask_loaded(first, 1, &loaded);
    assert_same_results(&fresh, &loaded);
    results_free(&fresh);
    results_free(&loaded);
}

/* A stored document keeps its segments: it is asked whatever segment size the
 * session was made with, and answers as the reading that stored it. */
static void test_stored_segment_size_applies(void **state)
{
    (void)state;
    results fresh = {0}, loaded = {0};
    read_and_save(first, 1, &fresh);
    wim_options o;
    options(&o);
    o.segment_tokens = 99;
    wim_session *s = session(model, &o);
    if (wim_session_load_doc(s, path) != 0) fail_msg("%s", wim_session_error(s));
    assert_int_equal(wim_session_options(s)->segment_tokens, 24);
    assert_int_equal(wim_session_ask(s, first, 1, collect, &loaded), 0);
    wim_session_free(s);
    assert_same_results(&fresh, &loaded);
    results_free(&fresh);
    results_free(&loaded);
}

/* A document stored with short margins and answers has a context sized for
 * them: asked with the default lengths it writes them as long as it stored
 * them, not an error naming a token count. */
static void test_stored_margin_limit_applies(void **state)
{
    (void)state;
    wim_options o;
    options(&o);
    o.max_margin_tokens = 3;
    o.n_ctx = 0;
    wim_session *s = session(model, &o);
    results r = {0};
    assert_int_equal(wim_session_run(s, document, strlen(document), first[0], collect, &r), 0);
    assert_int_equal(wim_session_save_doc(s, path), 0);
    wim_session_free(s);
    results_free(&r);
    wim_options_default(&o);
    o.n_threads = 1;
    s = session(model, &o);
    if (wim_session_load_doc(s, path) != 0) fail_msg("%s", wim_session_error(s));
    assert_int_equal(wim_session_options(s)->max_margin_tokens, 3);
    assert_int_equal(wim_session_options(s)->max_answer_tokens, 8);
    if (wim_session_ask(s, later, 2, collect, &r) != 0) fail_msg("%s", wim_session_error(s));
    assert_int_equal(r.n_margins, 2 * r.n_segments);
    results_free(&r);
    wim_session_free(s);
}

static void test_new_questions_about_a_saved_document(void **state)
{
    (void)state;
    results fresh = {0}, loaded = {0}, ignored = {0};
    read_and_save(first, 1, &ignored);
    wim_options o;
    options(&o);
    wim_session *s = session(model, &o);
    assert_int_equal(wim_session_run_many(s, document, strlen(document), later, 2, collect, &fresh),
                     0);
    wim_session_free(s);
    ask_loaded(later, 2, &loaded);
    assert_same_results(&fresh, &loaded);
    results_free(&fresh);
    results_free(&loaded);
    results_free(&ignored);
}

static void expect_refused(wim_model *m, const wim_options *o, const char *file, const char *why)
{
    wim_session *s = session(m, o);
    assert_int_equal(wim_session_load_doc(s, file), -1);
    const char *err = wim_session_error(s);
    if (!strstr(err, why)) fail_msg("'%s' lacks '%s'", err, why);
    assert_int_equal(wim_session_ask(s, first, 1, collect, &(results){0}), -1);
    wim_session_free(s);
}

/* A copy of the saved file with its first `from` replaced by `to`, as long. */
static void copy_replacing(const char *dest, const char *from, const char *to)
{
    FILE *in = fopen(path, "rb"), *out = fopen(dest, "wb");
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, in);
    assert_true(n < sizeof buf);
    buf[n] = '\0';
    char *at = strstr(buf + 12, from); /* in the header, before any NUL of the body */
    assert_non_null(at);
    assert_int_equal(strlen(from), strlen(to));
    memcpy(at, to, strlen(to));
    assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
}

static void copy_with(const char *to, long flip_at, long truncate_to)
{
    FILE *in = fopen(path, "rb"), *out = fopen(to, "wb");
    int c;
    for (long i = 0; (c = fgetc(in)) != EOF && (truncate_to < 0 || i < truncate_to); i++)
        fputc(i == flip_at ? c ^ 0x40 : c, out);
    fclose(in);
    fclose(out);
}

static void test_refusals(void **state)
{
    (void)state;
    results ignored = {0};
    read_and_save(first, 1, &ignored);
    results_free(&ignored);
    wim_options o;
    options(&o);
    expect_refused(other_model, &o, path, "another model");
    /* the description, counts and sizes all match: only the weights differ */
    expect_refused(same_shape, &o, path, "another model");
    o.n_ctx = 4096;
    expect_refused(model, &o, path, "another context size");
    options(&o);
    char damaged[] = "/tmp/wim-bad-XXXXXX";
    close(mkstemp(damaged));
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    copy_with(damaged, size - 100, -1); /* a flipped bit in the KV state */
    expect_refused(model, &o, damaged, "damaged");
    copy_with(damaged, -1, size - 1); /* one byte short */
    expect_refused(model, &o, damaged, "damaged");
    copy_with(damaged, 20, -1); /* the header's JSON broken */
    expect_refused(model, &o, damaged, "damaged");
    copy_with(damaged, 0, -1);
    expect_refused(model, &o, damaged, "not a wim document file");
    copy_replacing(damaged, "\"segment_tokens\":24", "\"segment_tokens\":-1");
    expect_refused(model, &o, damaged, "damaged"); /* the header is not in the checksum */
    expect_refused(model, &o, "/nonexistent/doc.wim", "cannot open");
    unlink(damaged);
}

/* path's header with key's value replaced by value, written to to; the body,
 * which the checksum covers, is kept. */
static void edit_header(const char *from, const char *to, const char *key, const char *value)
{
    FILE *in = fopen(from, "rb");
    assert_non_null(in);
    fseek(in, 0, SEEK_END);
    size_t size = (size_t)ftell(in);
    fseek(in, 0, SEEK_SET);
    char *file = malloc(size + 1);
    assert_int_equal(fread(file, 1, size, in), size);
    fclose(in);
    file[size] = '\0';
    size_t n = (uint8_t)file[8] | (uint8_t)file[9] << 8 | (uint8_t)file[10] << 16 |
               (size_t)(uint8_t)file[11] << 24;
    char name[64];
    snprintf(name, sizeof name, "\"%s\":", key);
    const char *found = strstr(file + 12, name);
    if (!found || found >= file + 12 + n) fail_msg("no %s in the header", name);
    char *at = file + (found ? found - file + (ptrdiff_t)strlen(name) : 12);
    char *end = at + strcspn(at, ",}");
    size_t m = n - (size_t)(end - at) + strlen(value);
    const uint8_t len_le[4] = {m & 0xff, (m >> 8) & 0xff, (m >> 16) & 0xff, m >> 24};
    FILE *out = fopen(to, "wb");
    fwrite(file, 1, 8, out);
    fwrite(len_le, 1, 4, out);
    fwrite(file + 12, 1, (size_t)(at - (file + 12)), out);
    fputs(value, out);
    fwrite(end, 1, size - (size_t)(end - file), out);
    fclose(out);
    free(file);
}

/* A number of path's header. */
static double header_number(const char *key)
{
    FILE *in = fopen(path, "rb");
    char head[4096];
    size_t got = fread(head, 1, sizeof head - 1, in);
    fclose(in);
    head[got] = '\0';
    char name[64];
    snprintf(name, sizeof name, "\"%s\":", key);
    const char *at = strstr(head + 12, name);
    assert_non_null(at);
    return strtod(at + strlen(name), NULL);
}

/* Numbers a forged or damaged header may hold, its checksum still right: each
 * is refused before it is converted past its type or sizes a context (found by
 * fuzz_docfile: pre_tokens 1e999). */
static void test_header_numbers_out_of_range(void **state)
{
    (void)state;
    results ignored = {0};
    read_and_save(first, 1, &ignored);
    results_free(&ignored);
    wim_options o;
    options(&o);
    char bad[] = "/tmp/wim-bad-XXXXXX", text[64];
    close(mkstemp(bad));
    edit_header(path, bad, "pre_tokens", "1e999");
    expect_refused(model, &o, bad, "damaged");
    /* 2^62 tokens of 4 bytes wrap around to none; the state said to be longer
     * by what they took makes the sizes add up */
    snprintf(text, sizeof text, "%.0f",
             header_number("state_bytes") + 4 * header_number("pre_tokens"));
    edit_header(path, bad, "pre_tokens", "4611686018427387904");
    edit_header(bad, bad, "state_bytes", text);
    expect_refused(model, &o, bad, "damaged");
    edit_header(path, bad, "n_ctx", "0");
    expect_refused(model, &o, bad, "damaged");
    edit_header(path, bad, "segment_tokens", "1e30");
    expect_refused(model, &o, bad, "damaged");
    /* a context past the model's trained one, up to infinite, is taken only
     * when -c asks for it */
    edit_header(path, bad, "n_ctx", "1e999");
    expect_refused(model, &o, bad, "give its size with -c");
    edit_header(path, bad, "n_ctx", "16384");
    expect_refused(model, &o, bad, "give its size with -c");
    o.n_ctx = 16384; /* asked for, it is taken */
    wim_session *s = session(model, &o);
    if (wim_session_load_doc(s, bad) != 0) fail_msg("%s", wim_session_error(s));
    wim_session_free(s);
    unlink(bad);
}

/* A split model ("NAME-00001-of-00002.gguf") is identified by every part:
 * another second part is another model. */
static void weights_of_split(const char *dir, const char *second, char *id, size_t len)
{
    char cmd[1024], first_part[600];
    snprintf(first_part, sizeof first_part, "%s/m-00001-of-00002.gguf", dir);
    snprintf(cmd, sizeof cmd, "cp %s/tiny-qwen2.gguf %s && printf %s > %s/m-00002-of-00002.gguf",
             WIM_TEST_MODELS, first_part, second, dir);
    assert_int_equal(system(cmd), 0);
    char err[256];
    wim_model *m = wim_model_load(first_part, NULL, err, sizeof err);
    if (!m) fail_msg("%s", err);
    snprintf(id, len, "%s", wim_model_weights_id(m));
    wim_model_free(m);
}

static void test_a_split_model_is_all_its_parts(void **state)
{
    (void)state;
    char dir[] = "/tmp/wim-split-XXXXXX", a[64], b[64];
    assert_non_null(mkdtemp(dir));
    weights_of_split(dir, "one", a, sizeof a);
    weights_of_split(dir, "two", b, sizeof b);
    assert_true(a[0] && b[0]);
    assert_string_not_equal(a, b);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_ask_needs_a_document(void **state)
{
    (void)state;
    wim_options o;
    options(&o);
    wim_session *s = session(model, &o);
    assert_int_equal(wim_session_ask(s, first, 1, collect, &(results){0}), -1);
    assert_non_null(strstr(wim_session_error(s), "no document"));
    assert_int_equal(wim_session_save_doc(s, path), -1);
    wim_session_free(s);
    o.mode = WIM_MODE_RAG;
    s = session(model, &o);
    assert_int_equal(wim_session_ask(s, first, 1, collect, &(results){0}), -1);
    assert_non_null(strstr(wim_session_error(s), "rag"));
    wim_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_saved_document_answers_as_fresh_reading),
        cmocka_unit_test(test_stored_segment_size_applies),
        cmocka_unit_test(test_stored_margin_limit_applies),
        cmocka_unit_test(test_new_questions_about_a_saved_document),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_header_numbers_out_of_range),
        cmocka_unit_test(test_a_split_model_is_all_its_parts),
        cmocka_unit_test(test_ask_needs_a_document),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
