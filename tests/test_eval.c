/*
 * test_eval.c - wim-eval as a user runs it, on a tiny made model: generate
 * data, run the three modes with a judge, and check every output file's shape;
 * then cut the results short and check a rerun resumes without repeating;
 * then the refusals, each one clear line; and examples whose context is a
 * document file (a made PDF) named relative to the data file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dataset.h"
#include "pdf.h"
#include "tool.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EVAL WIM_BIN_DIR "/wim-eval"
#define TINY WIM_TEST_MODELS "/tiny-qwen2.gguf"

/* Small and fast: 3 segments of a 300-token document, short generations. */
#define ENGINE "--segment-tokens 128 --max-margin-tokens 4 --max-answer-tokens 4 -t 1 --quiet"

static char dir[] = "/tmp/wim-eval-XXXXXX";

static const char *in_dir(const char *name)
{
    return tool_path(dir, name);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; (p = strchr(p, '\n')); p++)
        n++;
    return n;
}

static void run_ok(const char *args)
{
    static tool_result r;
    tool_run(&r, EVAL, 2, args);
    if (r.status != 0) fail_msg("wim-eval %s: status %d: %s", args, r.status, r.out);
}

/* The command line of the main run, into out; extra is appended. */
static const char *eval_args(const char *extra)
{
    static char args[2048];
    snprintf(args, sizeof args,
             "-m %s --data %s --data %s --data %s --modes llm,rag,wim --judge same --out %s %s %s",
             TINY, in_dir("cwe.jsonl"), in_dir("needle.jsonl"), in_dir("ref.json"), in_dir("out"),
             ENGINE, extra);
    return args;
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir)) return -1;
    char args[1024];
    snprintf(args, sizeof args, "--generate cwe --tokens 500 --count 2 --seed 3 -m %s -o %s", TINY,
             in_dir("cwe.jsonl"));
    run_ok(args);
    snprintf(args, sizeof args, "--generate needle --tokens 300 --count 2 --seed 3 -m %s -o %s",
             TINY, in_dir("needle.jsonl"));
    run_ok(args);
    /* the reference files' shape: one object, no id */
    write_text(in_dir("ref.json"),
               "{\"context\": \"The {keeper} rowed to Orrin. <|im_end|> Then she slept.\","
               " \"query\": \"Where did the keeper row?\", \"target\": \"Orrin\"}");
    run_ok(eval_args(""));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tool_remove_dir(dir);
}

/* ============================================================================
 * The outputs
 * ========================================================================= */

static void check_result_line(const cJSON *j)
{
    const char *set = cJSON_GetStringValue(cJSON_GetObjectItem(j, "dataset"));
    const char *mode = cJSON_GetStringValue(cJSON_GetObjectItem(j, "mode"));
    assert_non_null(set);
    assert_non_null(mode);
    assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")));
    if (cJSON_HasObjectItem(j, "error")) fail_msg("%s", cJSON_Print(j));
    assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(j, "answer")));
    assert_true(cJSON_GetObjectItem(j, "wall_ms")->valuedouble > 0);
    assert_true(cJSON_GetObjectItem(j, "prefill_tokens")->valueint > 0);
    assert_true(cJSON_GetObjectItem(j, "doc_tokens")->valueint > 0);
    const cJSON *score = cJSON_GetObjectItem(j, "score");
    bool list = strcmp(set, "cwe") == 0;
    assert_int_equal(cJSON_HasObjectItem(score, "f1"), list);
    assert_int_equal(cJSON_HasObjectItem(score, "contains"), !list);
    /* the judge reads QA answers only */
    assert_int_equal(cJSON_HasObjectItem(j, "judge"), !list);
    const cJSON *margins = cJSON_GetObjectItem(j, "margins");
    if (strcmp(mode, "wim") == 0) {
        assert_int_equal(cJSON_GetArraySize(margins), cJSON_GetObjectItem(j, "segments")->valueint);
        const cJSON *m;
        cJSON_ArrayForEach(m, margins)
        {
            assert_true(cJSON_IsString(cJSON_GetObjectItem(m, "text")));
            assert_true(cJSON_IsBool(cJSON_GetObjectItem(m, "relevant")));
        }
    } else {
        assert_int_equal(cJSON_GetArraySize(margins), 0);
    }
    if (strcmp(mode, "rag") == 0)
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "verdicts")),
                         cJSON_GetObjectItem(j, "segments")->valueint);
}

static void test_every_output_has_its_shape(void **state)
{
    (void)state;
    char *results = tool_read_file(in_dir("out/results.jsonl"));
    assert_non_null(results);
    assert_int_equal(count_lines(results), (2 + 2 + 1) * 3);
    int modes[3] = {0};
    for (char *line = strtok(results, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j);
        check_result_line(j);
        const char *mode = cJSON_GetObjectItem(j, "mode")->valuestring;
        modes[strcmp(mode, "llm") == 0 ? 0 : strcmp(mode, "rag") == 0 ? 1 : 2]++;
        cJSON_Delete(j);
    }
    assert_int_equal(modes[0], 5);
    assert_int_equal(modes[1], 5);
    assert_int_equal(modes[2], 5);
    free(results);

    /* the CSV: a header and one row per dataset x length x mode, 12 cells each */
    char *csv = tool_read_file(in_dir("out/summary.csv"));
    assert_non_null(csv);
    assert_int_equal(strncmp(csv, "dataset,length,mode,examples,", 29), 0);
    assert_int_equal(count_lines(csv), 1 + 3 * 3);
    for (char *line = strtok(csv, "\n"); line; line = strtok(NULL, "\n")) {
        int commas = 0;
        for (const char *c = line; *c; c++)
            commas += *c == ',';
        assert_int_equal(commas, 11);
    }
    free(csv);
    char *md = tool_read_file(in_dir("out/summary.md"));
    assert_non_null(md);
    assert_non_null(strstr(md, "| dataset | length | mode |"));
    assert_int_equal(count_lines(md), 2 + 3 * 3);
    free(md);
    char *png = tool_read_file(in_dir("out/plot.png"));
    assert_non_null(png);
    assert_memory_equal(png, "\x89PNG", 4);
    free(png);
}

/* Generated examples are sized and shaped as asked. */
static void test_generated_files(void **state)
{
    (void)state;
    char *text = tool_read_file(in_dir("needle.jsonl"));
    assert_int_equal(count_lines(text), 2);
    cJSON *j = cJSON_Parse(strtok(text, "\n"));
    assert_string_equal(cJSON_GetObjectItem(j, "id")->valuestring, "needle-300-0");
    assert_true(cJSON_IsString(cJSON_GetObjectItem(j, "target")));
    cJSON_Delete(j);
    free(text);
    text = tool_read_file(in_dir("cwe.jsonl"));
    j = cJSON_Parse(strtok(text, "\n"));
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "target")));
    cJSON_Delete(j);
    free(text);
}

/* ============================================================================
 * Resuming
 * ========================================================================= */

static void test_rerun_resumes_without_repeating(void **state)
{
    (void)state;
    char *full = tool_read_file(in_dir("out/results.jsonl"));
    /* keep 11 whole lines and half of the 12th, as a crash would */
    char *cut = full;
    for (int i = 0; i < 11; i++)
        cut = strchr(cut, '\n') + 1;
    size_t kept = (size_t)(cut - full);
    char *partial = strndup(full, kept + 20);
    write_text(in_dir("out/results.jsonl"), partial);
    run_ok(eval_args(""));
    char *again = tool_read_file(in_dir("out/results.jsonl"));
    assert_int_equal(count_lines(again), 15);
    assert_memory_equal(again, full, kept); /* finished lines untouched */
    /* every (dataset, id, mode) once */
    char keys[15][256];
    int n = 0;
    for (char *line = strtok(again, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j); /* the cut line is gone, not glued to the next */
        snprintf(keys[n], 256, "%s/%s/%s", cJSON_GetObjectItem(j, "dataset")->valuestring,
                 cJSON_GetObjectItem(j, "id")->valuestring,
                 cJSON_GetObjectItem(j, "mode")->valuestring);
        for (int k = 0; k < n; k++)
            assert_string_not_equal(keys[k], keys[n]);
        n++;
        cJSON_Delete(j);
    }
    free(full);
    free(partial);
    free(again);
}

/* ============================================================================
 * Refusals
 * ========================================================================= */

static void test_refusals(void **state)
{
    (void)state;
    char args[2048];
    tool_expect_error(EVAL, eval_args("--max-answer-tokens 5"), "other settings");
    tool_expect_error(EVAL, "--data x.jsonl", "no model given");
    snprintf(args, sizeof args, "-m %s", TINY);
    tool_expect_error(EVAL, args, "no data given");
    snprintf(args, sizeof args, "-m %s --data %s", TINY, in_dir("missing.jsonl"));
    tool_expect_error(EVAL, args, "cannot open data file");
    write_text(in_dir("bad.jsonl"),
               "{\"context\": \"a\", \"query\": \"q\", \"target\": \"t\"}\n{oops\n");
    snprintf(args, sizeof args, "-m %s --data %s", TINY, in_dir("bad.jsonl"));
    tool_expect_error(EVAL, args, "line 2 is not JSON");
    write_text(in_dir("dup.jsonl"),
               "{\"id\": \"a\", \"context\": \"a\", \"query\": \"q\", \"target\": \"t\"}\n"
               "{\"id\": \"a\", \"context\": \"b\", \"query\": \"q\", \"target\": \"t\"}\n");
    snprintf(args, sizeof args, "-m %s --data %s", TINY, in_dir("dup.jsonl"));
    tool_expect_error(EVAL, args, "a second example with id 'a'");
    write_text(in_dir("notarget.jsonl"), "{\"context\": \"a\", \"query\": \"q\", \"target\": 3}\n");
    snprintf(args, sizeof args, "-m %s --data %s", TINY, in_dir("notarget.jsonl"));
    tool_expect_error(EVAL, args, "\"target\" that is a string or a list");
    snprintf(args, sizeof args, "-m %s --data %s --modes wim,fast", TINY, in_dir("cwe.jsonl"));
    tool_expect_error(EVAL, args, "--modes: unknown value 'fast'");
    snprintf(args, sizeof args, "--generate haiku --tokens 300 --count 1 -m %s -o %s", TINY,
             in_dir("h.jsonl"));
    tool_expect_error(EVAL, args, "unknown generator 'haiku'");
    snprintf(args, sizeof args, "--generate cwe --count 1 -m %s -o %s", TINY, in_dir("h.jsonl"));
    tool_expect_error(EVAL, args, "--generate needs --tokens N");
    snprintf(args, sizeof args, "--convert hotpotqa --input %s --tokens 300 -m %s -o %s",
             in_dir("missing.json"), TINY, in_dir("h.jsonl"));
    tool_expect_error(EVAL, args, "missing.json");
}

/* "context_file": a PDF beside the data file becomes the example's context,
 * its pages' words in order between form feeds; one that cannot be read, or
 * given with "context" too, is refused naming the line. */
static void test_context_from_a_document_file(void **state)
{
    (void)state;
    const char *const pages[] = {"Alpha page one.", "Bravo page two.", "Charlie page three."};
    assert_int_equal(pdf_write(in_dir("report.pdf"), pages, 3), 0);
    write_text(in_dir("files.jsonl"),
               "{\"id\": \"p\", \"context_file\": \"report.pdf\", \"query\": \"q\", "
               "\"target\": \"Bravo\"}\n");
    eval_dataset d = {0};
    char err[512];
    if (eval_dataset_load(in_dir("files.jsonl"), &d, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(d.n, 1);
    const char *ctx = d.ex[0].context, *b = strstr(ctx, "Bravo page two.");
    assert_non_null(strstr(ctx, "Alpha page one.\n\f"));
    assert_non_null(b);
    assert_non_null(strstr(b, "\fCharlie page three."));
    eval_dataset_free(&d);

    size_t len;
    char *pdf = pdf_make(pages, 3, &len);
    FILE *f = fopen(in_dir("damaged.pdf"), "wb");
    fwrite(pdf, 1, len / 4, f);
    fclose(f);
    free(pdf);
    write_text(in_dir("damaged.jsonl"),
               "{\"context\": \"a\", \"query\": \"q\", \"target\": \"t\"}\n"
               "{\"context_file\": \"damaged.pdf\", \"query\": \"q\", \"target\": \"t\"}\n");
    assert_int_equal(eval_dataset_load(in_dir("damaged.jsonl"), &d, err, sizeof err), -1);
    if (!strstr(err, "line 2: the example context file 'damaged.pdf' (PDF): not a readable PDF"))
        fail_msg("%s", err);
    eval_dataset_free(&d);
    write_text(in_dir("both.jsonl"), "{\"context\": \"a\", \"context_file\": \"report.pdf\", "
                                     "\"query\": \"q\", \"target\": \"t\"}\n");
    assert_int_equal(eval_dataset_load(in_dir("both.jsonl"), &d, err, sizeof err), -1);
    if (!strstr(err, "not both")) fail_msg("%s", err);
    eval_dataset_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_output_has_its_shape),
        cmocka_unit_test(test_generated_files),
        cmocka_unit_test(test_rerun_resumes_without_repeating),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_context_from_a_document_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
