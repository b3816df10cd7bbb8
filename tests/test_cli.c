/*
 * test_cli.c - the wim command as a user meets it: every bad input gets one
 * clear line on stderr and a non-zero exit; --json output parses line by line.
 */
#define _GNU_SOURCE /* F_SETPIPE_SZ */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pdf.h"
#include "tool.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define WIM  WIM_BIN_DIR "/wim"
#define TINY WIM_TEST_MODELS "/tiny-qwen2.gguf"

static char dir[] = "/tmp/wim-cli-XXXXXX";

static const char *path_in_dir(const char *name)
{
    return tool_path(dir, name);
}

static void write_bytes(const char *name, const char *bytes, size_t len)
{
    FILE *f = fopen(path_in_dir(name), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir)) return -1;
    const char *doc = "The pier was closed in May. The keeper moved north. ";
    write_bytes("doc.txt", doc, strlen(doc));
    write_bytes("empty.txt", "", 0);
    write_bytes("nul.txt", "abc\0def", 7);
    write_bytes("latin1.txt", "caf\xe9 au lait", 12);
    write_bytes("notgguf.gguf", "hello, this is text", 19);
    FILE *in = fopen(TINY, "rb");
    char head[4096];
    size_t n = in ? fread(head, 1, sizeof head, in) : 0;
    if (in) fclose(in);
    write_bytes("truncated.gguf", head, n);
    FILE *big = fopen(path_in_dir("big.txt"), "wb");
    for (int i = 0; i < 3000; i++)
        fprintf(big, "Line %d of a very long ledger of ships. ", i);
    fclose(big);
    FILE *many = fopen(path_in_dir("many.txt"), "wb");
    for (int i = 0; i < 40; i++)
        fprintf(many, "Ship %d left the pier. ", i);
    fclose(many);
    const char *const pages[] = {"Alpha page one.", "Bravo page two.", "Charlie page three."};
    if (pdf_write(path_in_dir("report.pdf"), pages, 3) != 0) return -1;
    size_t len;
    char *pdf = pdf_make_encrypted(pages, 3, &len);
    if (!pdf) return -1;
    write_bytes("locked.pdf", pdf, len);
    free(pdf);
    pdf = pdf_make(pages, 3, &len);
    write_bytes("damaged.pdf", pdf, len / 4);
    free(pdf);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tool_remove_dir(dir);
}

typedef tool_result result;

static void run(result *r, int stream, const char *args)
{
    tool_run(r, WIM, stream, args);
}

static void expect_error(const char *args, const char *needle)
{
    tool_expect_error(WIM, args, needle);
}

static void test_bad_model(void **state)
{
    (void)state;
    char args[1024];
    snprintf(args, sizeof args, "-m %s -f %s -q q", path_in_dir("missing.gguf"),
             path_in_dir("doc.txt"));
    expect_error(args, "cannot open model");
    snprintf(args, sizeof args, "-m %s -f %s -q q", path_in_dir("notgguf.gguf"),
             path_in_dir("doc.txt"));
    expect_error(args, "is not a GGUF model file");
    snprintf(args, sizeof args, "-m %s -f %s -q q", path_in_dir("truncated.gguf"),
             path_in_dir("doc.txt"));
    expect_error(args, "cannot load model");
    /* RPC servers: without llama.cpp's RPC backend, refused for that; with it,
     * port 1 takes no connection (its client would abort the process) */
    snprintf(args, sizeof args, "-m %s -f %s -q q --rpc 127.0.0.1:1", TINY, path_in_dir("doc.txt"));
    expect_error(args, "--rpc: ");
}

static void expect_doc_error(const char *doc, const char *query, const char *needle)
{
    char args[1024];
    snprintf(args, sizeof args, "-m %s -f %s -q '%s'", TINY, path_in_dir(doc), query);
    expect_error(args, needle);
}

static void test_bad_document_and_query(void **state)
{
    (void)state;
    expect_doc_error("empty.txt", "q", "document is empty");
    expect_doc_error("nul.txt", "q", "document contains a NUL byte at offset 3");
    expect_doc_error("latin1.txt", "q", "document is not valid UTF-8 at byte offset 3");
    expect_doc_error("doc.txt", "", "query is empty");
    expect_doc_error("missing.txt", "q", "cannot open document");
    char big[1024]; /* past the context: refused with no window, or in the baselines */
    snprintf(big, sizeof big, "-m %s -f %s -q q --window off", TINY, path_in_dir("big.txt"));
    expect_error(big, "more than the context limit of 8192 tokens");
    snprintf(big, sizeof big, "-m %s -f %s -q q --mode llm", TINY, path_in_dir("big.txt"));
    expect_error(big, "more than the context limit of 8192 tokens");
    char queries[1024];
    snprintf(queries, sizeof queries, "-m %s -f %s --queries %s", TINY, path_in_dir("doc.txt"),
             path_in_dir("missing-questions.txt"));
    expect_error(queries, "cannot open questions file");
    char args[1024];
    snprintf(args, sizeof args, "-m %s -f %s -q q -c 64", TINY, path_in_dir("doc.txt"));
    expect_error(args, "context limit of 64 tokens (set by -c)");
}

static void test_bad_flags(void **state)
{
    (void)state;
    expect_error("--frobnicate", "unknown option '--frobnicate'");
    expect_error("-m x.gguf -f y --segment-tokens ten -q q",
                 "--segment-tokens: needs a whole number from 1");
    expect_error("-m x.gguf -f y --mode fast -q q", "--mode: unknown value 'fast'");
    expect_error("-m x.gguf -f y -q", "-q needs a value");
    expect_error("-m x.gguf -f y -q q --rpc", "--rpc needs a value");
    expect_error("-f y -q q", "no model given");
    expect_error("-m x.gguf -f y -q q --schedule eager", "--schedule: unknown value 'eager'");
    expect_error("-m x.gguf -f y -q q --fixed_length", "unknown option '--fixed_length'");
    /* near INT_MAX these once overflowed the sizing or the batch's allocation */
    expect_error("-m x.gguf -f y -q q --max-verdict-tokens 2147483647",
                 "--max-verdict-tokens: needs a whole number from 1 to 16777216");
    expect_error("-m x.gguf -f y -q q -b 2147483647", "-b: needs a whole number from 1 to 65536");
}

/* Token limits within their bounds but past the context are refused before
 * anything is allocated for them, in 64-bit arithmetic. */
static void test_limits_past_the_context(void **state)
{
    (void)state;
    char args[1024];
    snprintf(args, sizeof args, "-m %s -f %s -q q --max-answer-tokens 16777216", TINY,
             path_in_dir("doc.txt"));
    expect_error(args, "more than the context limit of 8192 tokens");
    snprintf(args, sizeof args, "-m %s -f %s -q q --max-margin-tokens 16777216 --segment-tokens 8",
             TINY, path_in_dir("doc.txt"));
    expect_error(args, "more than the context limit of 8192 tokens");
    snprintf(args, sizeof args, "-m %s -f %s -q q --max-verdict-tokens 16777216", TINY,
             path_in_dir("doc.txt"));
    expect_error(args, "a verdict prompt needs 16777472 tokens, more than the context limit");
}

static void test_json_lines_parse(void **state)
{
    (void)state;
    static result r;
    char args[1024];
    snprintf(args, sizeof args,
             "-m %s -f %s -q 'Where did {the keeper} go? <|im_end|>' --json --segment-tokens 8 "
             "--max-margin-tokens 4 --max-answer-tokens 4 --schedule overlap -t 1",
             TINY, path_in_dir("doc.txt"));
    run(&r, 1, args);
    assert_int_equal(r.status, 0);
    int lines = 0, margins = 0;
    const char *first = NULL, *last = NULL;
    for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        if (!j) fail_msg("not JSON: %s", line);
        const char *ev = cJSON_GetObjectItem(j, "event")->valuestring;
        if (!first) first = strcmp(ev, "start") == 0 ? "start" : "other";
        if (strcmp(ev, "start") == 0) { /* the flags reached the engine */
            assert_string_equal(cJSON_GetObjectItem(j, "schedule")->valuestring, "overlap");
            assert_int_equal(cJSON_GetObjectItem(j, "threads")->valueint, 1);
        }
        last = strcmp(ev, "done") == 0 ? "done" : "other";
        margins += strcmp(ev, "margin") == 0;
        assert_false(cJSON_HasObjectItem(j, "pages")); /* no form feed, no pages */
        cJSON_Delete(j);
        lines++;
    }
    assert_true(lines > 4);
    assert_string_equal(first, "start");
    assert_string_equal(last, "done");
    assert_true(margins >= 2); /* 8-token segments: the document is cut at least twice */
}

/* A 3-page PDF, one short page a segment: every segment and margin event
 * names its own page, and the margin lines on stderr show it. */
static void test_pdf_pages_in_events(void **state)
{
    (void)state;
    static result r;
    char args[1024];
    snprintf(args, sizeof args,
             "-m %s -f %s -q 'Who came third?' --json --segment-tokens 8 --max-margin-tokens 2 "
             "--max-answer-tokens 2 -t 1",
             TINY, path_in_dir("report.pdf"));
    run(&r, 1, args);
    assert_int_equal(r.status, 0);
    int segments = 0, margins = 0;
    for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        const char *ev = cJSON_GetObjectItem(j, "event")->valuestring;
        bool paged = strcmp(ev, "segment") == 0 || strcmp(ev, "margin") == 0;
        const cJSON *pages = cJSON_GetObjectItem(j, "pages");
        assert_int_equal(pages != NULL, paged);
        if (paged) {
            int page = cJSON_GetObjectItem(j, "segment")->valueint + 1;
            assert_int_equal(cJSON_GetArraySize(pages), 2);
            assert_int_equal(cJSON_GetArrayItem(pages, 0)->valueint, page);
            assert_int_equal(cJSON_GetArrayItem(pages, 1)->valueint, page);
            segments += strcmp(ev, "segment") == 0;
            margins += strcmp(ev, "margin") == 0;
        }
        cJSON_Delete(j);
    }
    assert_int_equal(segments, 3);
    assert_int_equal(margins, 3);
    /* by content, from standard input too */
    snprintf(args, sizeof args,
             "-m %s -f - -q q --segment-tokens 8 --max-margin-tokens 2 --max-answer-tokens 2 -t 1 "
             "< %s",
             TINY, path_in_dir("report.pdf"));
    run(&r, 2, args);
    assert_int_equal(r.status, 0);
    if (!strstr(r.out, "[margin 3/3 · p. 3]")) fail_msg("no page in the margin lines: %s", r.out);
}

static void test_unreadable_pdfs(void **state)
{
    (void)state;
    expect_doc_error("locked.pdf", "q", "(PDF): the PDF is encrypted");
    expect_doc_error("damaged.pdf", "q", "(PDF): not a readable PDF");
}

/* The llama.cpp-style engine flags reach the contexts: the start event reports
 * them, and a combination llama.cpp refuses is one line naming why. */
static void test_engine_flags(void **state)
{
    (void)state;
    static result r;
    char args[1024];
    snprintf(args, sizeof args,
             "-m %s -f %s -q 'Where?' --json --segment-tokens 8 --max-margin-tokens 4 "
             "--max-answer-tokens 4 -t 1 -b 16 -ub 8 -ctk bf16 -ctv f32 -fa on --no-mmap "
             "--think --rope-scaling yarn --rope-scale 2 -c 16384 --draft-max 5",
             TINY, path_in_dir("doc.txt"));
    run(&r, 1, args);
    assert_int_equal(r.status, 0);
    cJSON *start = cJSON_Parse(strtok(r.out, "\n"));
    assert_non_null(start);
    assert_string_equal(cJSON_GetObjectItem(start, "cache_type_k")->valuestring, "bf16");
    assert_string_equal(cJSON_GetObjectItem(start, "cache_type_v")->valuestring, "f32");
    assert_string_equal(cJSON_GetObjectItem(start, "flash_attn")->valuestring, "on");
    assert_int_equal(cJSON_GetObjectItem(start, "ubatch_size")->valueint, 8);
    assert_int_equal(cJSON_GetObjectItem(start, "n_ctx")->valueint, 16384);
    assert_int_equal(cJSON_GetObjectItem(start, "draft_max")->valueint, 5);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(start, "think")));
    cJSON_Delete(start);
    expect_error("-m x.gguf -f y -q q -ctk q3", "-ctk: unknown value 'q3'");
    expect_error("-m x.gguf -f y -q q -fa maybe", "-fa: unknown value 'maybe'");
    expect_error("-m x.gguf -f y -q q --draft-max 17",
                 "--draft-max: needs a whole number from 0 to 16, got '17'");
    expect_error("-m x.gguf -f y -q q --draft-max -1",
                 "--draft-max: needs a whole number from 0 to 16, got '-1'");
    snprintf(args, sizeof args, "-m %s -f %s -q q --rope-scale -1", TINY, path_in_dir("doc.txt"));
    expect_error(args, "rope scale must not be negative");
    /* the tiny model's heads are 16 wide: too narrow for q8_0's 32-value blocks */
    snprintf(args, sizeof args, "-m %s -f %s -q q -ctk q8_0", TINY, path_in_dir("doc.txt"));
    expect_error(args, "does not divide");
    /* a KV cache no machine here holds is refused before llama.cpp allocates
       it page by page (it grew to 19.6 GB before failing) */
    snprintf(args, sizeof args, "-m %s -f %s -q q -c 1000000000", TINY, path_in_dir("doc.txt"));
    expect_error(args, "GiB of memory free: give a smaller -c");
}

/* The GiB a refused KV cache of a billion cells would take, said in its error. */
static double refused_kv_gib(const char *model)
{
    static tool_result r;
    char args[1024];
    snprintf(args, sizeof args, "-m %s -f %s -q q -c 1000000000 -ctk f16 -ctv f16", model,
             path_in_dir("doc.txt"));
    tool_run(&r, WIM, 2, args);
    const char *at = strstr(r.out, "would take ");
    if (!at) {
        fail_msg("no size in '%s'", r.out);
        return 0;
    }
    return strtod(at + strlen("would take "), NULL);
}

/* A model whose heads are wider than n_embd / n_head (Qwen3's, Gemma 3's) needs
 * a cache as wide as its heads: the estimate took n_embd / n_head, half of
 * Qwen3-0.6B's, and let through contexts twice the memory free. */
static void test_the_cache_estimate_takes_the_heads_width(void **state)
{
    (void)state;
    double narrow = refused_kv_gib(WIM_TEST_MODELS "/tiny-llama.gguf");
    double wide = refused_kv_gib(WIM_TEST_MODELS "/tiny-llama-wide.gguf");
    assert_true(narrow > 0);
    if (fabs(wide / narrow - 2) > 0.01) fail_msg("%.1f GiB against %.1f GiB", wide, narrow);
}

/* A verdict no model gave says why: with --quoted-margins the tiny model's
 * margins, noise, are dropped as not quoted (it once printed "unclear
 * answer: " and nothing). */
static void test_a_verdict_no_model_gave_says_why(void **state)
{
    (void)state;
    static result r;
    char args[1024];
    snprintf(args, sizeof args,
             "-m %s -f %s -q 'Where?' --segment-tokens 8 --max-margin-tokens 4 "
             "--max-answer-tokens 4 -t 1 --quoted-margins",
             TINY, path_in_dir("doc.txt"));
    run(&r, 2, args);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "] not relevant: not quoted from the document\n"));
    assert_null(strstr(r.out, "unclear answer: )"));
}

static void test_input_json_reference_format(void **state)
{
    (void)state;
    const char *json = "{\"context\": \"The pier {0} closed. The keeper left.\", "
                       "\"query\": \"Why?\", \"target\": \"storm\"}";
    write_bytes("task.json", json, strlen(json));
    static result r;
    char args[1024];
    snprintf(args, sizeof args, "-m %s --input-json %s --json --max-answer-tokens 2", TINY,
             path_in_dir("task.json"));
    run(&r, 1, args);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "\"query\":\"Why?\""));
    write_bytes("bad.json", "{\"query\": 1}", 12);
    snprintf(args, sizeof args, "-m %s --input-json %s", TINY, path_in_dir("bad.json"));
    expect_error(args, "string \"context\"");
    /* cJSON would end the context at \u0000 and read only what came before */
    static const char *const bad[][2] = {
        {"{\"context\": \"kept\\u0000dropped\", \"query\": \"q\"}", "NUL character"},
        {"{\"context\": \"a\", \"query\": \"q\"} xyz", "data after the JSON value"},
        {"{\"context\": \"a\", \"context\": \"b\", \"query\": \"q\"}", "\"context\" twice"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_bytes("bad.json", bad[i][0], strlen(bad[i][0]));
        expect_error(args, bad[i][1]);
    }
}

static void test_two_questions_and_a_saved_document(void **state)
{
    (void)state;
    static result r;
    char args[1024];
    const char *saved = path_in_dir("doc.wim");
    snprintf(args, sizeof args,
             "-m %s -f %s -q 'Where?' -q 'When?' --segment-tokens 8 --max-margin-tokens 3 "
             "--max-answer-tokens 3 --save-doc %s",
             TINY, path_in_dir("doc.txt"), saved);
    run(&r, 1, args);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "Q1: Where?\nA1: "));
    assert_non_null(strstr(r.out, "Q2: When?\nA2: "));
    assert_int_equal(access(saved, R_OK), 0);
    snprintf(args, sizeof args,
             "-m %s --load-doc %s -q 'Who?' --segment-tokens 8 --max-margin-tokens 3 "
             "--max-answer-tokens 3 --json",
             TINY, saved);
    run(&r, 1, args);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "\"event\":\"done\""));
    snprintf(args, sizeof args, "-m %s --load-doc %s -q 'Who?' --segment-tokens 9", TINY, saved);
    expect_error(args, "another segment size; give --segment-tokens 8 or none");
    snprintf(args, sizeof args, "-m %s --load-doc %s -q q", TINY, path_in_dir("doc.txt"));
    expect_error(args, "not a wim document file");
    snprintf(args, sizeof args, "-m %s --load-doc %s -f %s -q q", TINY, saved,
             path_in_dir("doc.txt"));
    expect_error(args, "give no -f");
}

/* A prompt may hold any number of placeholders: past 31 it once failed with
 * "wim: error: " and no message. */
static void test_template_with_many_placeholders(void **state)
{
    (void)state;
    assert_int_equal(mkdir(path_in_dir("templates"), 0700), 0);
    char text[2000];
    for (size_t i = 0, at = 0; i < 40; i++)
        at += (size_t)snprintf(text + at, sizeof text - at, "Say what {query} means. ");
    write_bytes("templates/extract.txt", text, strlen(text));
    static result r;
    char args[1024];
    snprintf(args, sizeof args,
             "-m %s -f %s -q 'Where?' --templates %s --json --max-margin-tokens 2 "
             "--max-answer-tokens 2",
             TINY, path_in_dir("doc.txt"), path_in_dir("templates"));
    run(&r, 1, args);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "\"event\":\"done\""));
    /* the same for a user header's {system} (it was "out of memory") */
    char header[600];
    size_t at = (size_t)snprintf(header, sizeof header, "<|im_start|>");
    for (int i = 0; i < 40; i++)
        at += (size_t)snprintf(header + at, sizeof header - at, "{system} ");
    snprintf(args, sizeof args,
             "-m %s -f %s -q 'Where?' --user-header '%s<|im_end|>' "
             "--generation-header '<|im_start|>assistant' --json --max-margin-tokens 2 "
             "--max-answer-tokens 2",
             TINY, path_in_dir("doc.txt"), header);
    run(&r, 1, args);
    assert_int_equal(r.status, 0);
}

/* The stored document's settings apply where the user gives none: one saved
 * with --segment-tokens 2048 is asked without repeating it. */
static void test_stored_settings_apply(void **state)
{
    (void)state;
    static result r;
    char args[1024];
    const char *saved = path_in_dir("doc2048.wim");
    snprintf(args, sizeof args,
             "-m %s -f %s -q 'Where?' --segment-tokens 2048 --max-margin-tokens 2 "
             "--max-margin-tokens 2 --max-answer-tokens 2 --save-doc %s",
             TINY, path_in_dir("doc.txt"), saved);
    run(&r, 1, args);
    assert_int_equal(r.status, 0);
    snprintf(args, sizeof args,
             "-m %s --load-doc %s -q 'Who?' --max-margin-tokens 2 --max-answer-tokens 2 --json",
             TINY, saved);
    run(&r, 1, args);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "\"segment_tokens\":2048"));
    assert_non_null(strstr(r.out, "\"event\":\"done\""));
    snprintf(args, sizeof args, "-m %s --load-doc %s -q 'Who?' --segment-tokens 4096", TINY, saved);
    expect_error(args, "give --segment-tokens 2048 or none");
}

/* The document tokens a --json run's start event reports. */
static int doc_tokens(const char *args)
{
    static result r;
    run(&r, 1, args);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "\"event\":\"done\""));
    cJSON *start = cJSON_Parse(strtok(r.out, "\n"));
    assert_non_null(start);
    int n = cJSON_GetObjectItem(start, "doc_tokens")->valueint;
    cJSON_Delete(start);
    return n;
}

/* The document from standard input, as from a file. */
static void test_document_from_stdin(void **state)
{
    (void)state;
    char args[1024];
    snprintf(args, sizeof args,
             "-m %s -f %s -q 'Where?' --json --max-margin-tokens 2 --max-answer-tokens 2", TINY,
             path_in_dir("doc.txt"));
    int from_file = doc_tokens(args);
    snprintf(args, sizeof args,
             "-m %s -f - -q 'Where?' --json --max-margin-tokens 2 --max-answer-tokens 2 < %s", TINY,
             path_in_dir("doc.txt"));
    assert_int_equal(doc_tokens(args), from_file);
    assert_true(from_file > 5);
}

/* A --save-doc file that cannot be written is refused before the reading, not
 * after it; one that fails while written is one line too. */
static void test_failed_save(void **state)
{
    (void)state;
    static result r;
    char args[1024];
    snprintf(args, sizeof args,
             "-m %s -f %s -q q --max-margin-tokens 2 --max-answer-tokens 2 --save-doc %s", TINY,
             path_in_dir("doc.txt"), path_in_dir("no/such/dir/doc.wim"));
    expect_error(args, "--save-doc: cannot write");
    run(&r, 1, args);
    assert_string_equal(r.out, ""); /* nothing was read or answered */
    /* the check leaves no file behind, and one that was there as it was */
    write_bytes("kept.txt", "keep me", 7);
    snprintf(args, sizeof args, "-m %s -f %s -q q --save-doc %s", TINY, path_in_dir("empty.txt"),
             path_in_dir("kept.txt"));
    expect_error(args, "document is empty");
    snprintf(args, sizeof args, "-m %s -f %s -q q --save-doc %s", TINY, path_in_dir("empty.txt"),
             path_in_dir("new.wim"));
    expect_error(args, "document is empty");
    assert_int_equal(access(path_in_dir("new.wim"), F_OK), -1);
    FILE *f = fopen(path_in_dir("kept.txt"), "rb");
    char kept[16] = "";
    assert_int_equal(fread(kept, 1, sizeof kept, f), 7);
    fclose(f);
    assert_string_equal(kept, "keep me");
    snprintf(
        args, sizeof args,
        "-m %s -f %s -q q --max-margin-tokens 2 --max-answer-tokens 2 --quiet --save-doc /dev/full",
        TINY, path_in_dir("doc.txt"));
    expect_error(args, "cannot write '/dev/full': No space left on device");
}

/* An answer that cannot be written is an error, not a silent success. */
static void test_answer_not_written(void **state)
{
    (void)state;
    char args[1024];
    snprintf(args, sizeof args,
             "-m %s -f %s -q q --max-margin-tokens 2 --max-answer-tokens 2 --quiet", TINY,
             path_in_dir("doc.txt"));
    tool_expect_error_to(WIM, args, ">/dev/full",
                         "cannot write the answer: No space left on device");
    tool_expect_error_to(WIM, args, ">&-", "cannot write the answer: Bad file descriptor");
    /* a closed stdout is found before the reading (this document is too long for it) */
    snprintf(args, sizeof args, "-m %s -f %s -q q", TINY, path_in_dir("big.txt"));
    tool_expect_error_to(WIM, args, ">&-", "cannot write the answer: Bad file descriptor");
    snprintf(args, sizeof args,
             "-m %s -f %s -q q --max-margin-tokens 2 --max-answer-tokens 2 --json", TINY,
             path_in_dir("doc.txt"));
    tool_expect_error_to(WIM, args, ">/dev/full", "cannot write the answer");
}

/* Input without end is refused after a bounded read: no more than the context
 * could hold (the tiny model: 8192 tokens of at most 128 bytes), or past it in
 * a window, WIM_MAX_DOC_BYTES. */
static void test_endless_input(void **state)
{
    (void)state;
    char args[1024];
    snprintf(args, sizeof args, "-m %s -f /dev/zero -q q --window off", TINY);
    expect_error(args, "document '/dev/zero' is over 1048576 bytes: more than the context limit "
                       "of 8192 tokens can hold");
    snprintf(args, sizeof args, "-m %s -f /dev/zero -q q", TINY);
    expect_error(args, "document '/dev/zero' is over 16777216 bytes: the most read of a document "
                       "past the context");
    snprintf(args, sizeof args, "-m %s -f - -q q -c 64 --window off", TINY);
    /* "yes |" before the program: text, not NULs, so only the bound stops it */
    tool_expect_error("yes | " WIM, args, "document '-' is over 8192 bytes");
    snprintf(args, sizeof args, "-m %s --input-json /dev/zero", TINY);
    expect_error(args, "input JSON '/dev/zero' is over");
    snprintf(args, sizeof args, "-m %s -f %s --queries /dev/zero", TINY, path_in_dir("doc.txt"));
    expect_error(args, "questions file '/dev/zero' is over");
    /* a missing file is named before the model is even loaded */
    snprintf(args, sizeof args, "-m %s -f %s -q q", path_in_dir("notgguf.gguf"),
             path_in_dir("missing.txt"));
    expect_error(args, "cannot open document");
}

/* Ctrl-C while reading: the run stops, answers from the margins so far, and
 * says it stopped early. No timing: wim writes its events into a one-page
 * pipe that is not read between the first margin event and the signal, so it
 * gets at most a page of events (a few segments) past that margin before the
 * signal is sent; the signal is handled at the latest when its next write of
 * an event returns, before that event's callback returns (WIM_STOP). 40
 * sentences in 8-token segments (70) leave far more than a page to come. */
static void test_ctrl_c_answers_from_what_was_read(void **state)
{
    (void)state;
    int out[2];
    assert_int_equal(pipe(out), 0);
    assert_true(fcntl(out[0], F_SETPIPE_SZ, 4096) >= 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execl(WIM, WIM, "-m", TINY, "-f", path_in_dir("many.txt"), "-q", "Which ship?", "--json",
              "--segment-tokens", "8", "--max-margin-tokens", "2", "--max-answer-tokens", "2", "-t",
              "1", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *in = fdopen(out[0], "r");
    setvbuf(in, NULL, _IONBF, 0); /* read no further than each line */
    static char line[1 << 16];
    int answers = 0;
    bool signalled = false;
    cJSON *done = NULL;
    while (fgets(line, sizeof line, in)) {
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j);
        const char *ev = cJSON_GetObjectItem(j, "event")->valuestring;
        if (!signalled && strcmp(ev, "margin") == 0) signalled = kill(pid, SIGINT) == 0;
        answers += strcmp(ev, "answer") == 0;
        if (strcmp(ev, "done") == 0)
            done = j;
        else
            cJSON_Delete(j);
    }
    fclose(in);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_true(signalled);
    assert_int_equal(answers, 1);
    assert_non_null(done);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(done, "stopped_early")));
    int read = cJSON_GetObjectItem(done, "segments_read")->valueint;
    int total = cJSON_GetObjectItem(done, "segments")->valueint;
    assert_true(read >= 1 && read < total);
    cJSON_Delete(done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_model),
        cmocka_unit_test(test_bad_document_and_query),
        cmocka_unit_test(test_bad_flags),
        cmocka_unit_test(test_the_cache_estimate_takes_the_heads_width),
        cmocka_unit_test(test_limits_past_the_context),
        cmocka_unit_test(test_json_lines_parse),
        cmocka_unit_test(test_pdf_pages_in_events),
        cmocka_unit_test(test_unreadable_pdfs),
        cmocka_unit_test(test_engine_flags),
        cmocka_unit_test(test_a_verdict_no_model_gave_says_why),
        cmocka_unit_test(test_input_json_reference_format),
        cmocka_unit_test(test_two_questions_and_a_saved_document),
        cmocka_unit_test(test_template_with_many_placeholders),
        cmocka_unit_test(test_stored_settings_apply),
        cmocka_unit_test(test_document_from_stdin),
        cmocka_unit_test(test_failed_save),
        cmocka_unit_test(test_answer_not_written),
        cmocka_unit_test(test_endless_input),
        cmocka_unit_test(test_ctrl_c_answers_from_what_was_read),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
