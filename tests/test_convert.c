/*
 * test_convert.c - HotpotQA and MultiHop-RAG made into long-context examples,
 * on small made-up files in their real formats (tests/data/): each example's
 * fields against its question, its own passages whole and spread, the padding
 * taken once each from the same file, the length in Qwen2's tokens,
 * determinism, what is skipped, and the errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <llama.h>

#include "convert.h"
#include "tokens.h"

#define DATA     WIM_SOURCE_DIR "/tests/data/"
#define HOTPOTQA DATA "hotpotqa-mini.json"
#define CORPUS   DATA "multihop-rag-corpus-mini.json"
#define QUERIES  DATA "multihop-rag-queries-mini.json"

#define MAX_OWN     16
#define MAX_SOURCE  16
#define MAX_PASSAGE 128
#define MAX_CHUNKS  256

static struct llama_model *model;
static const struct llama_vocab *vocab;

static int load_vocab(void **state)
{
    (void)state;
    char err[256];
    llama_backend_init();
    model = eval_vocab_load(WIM_VOCAB_DIR "/ggml-vocab-qwen2.gguf", err, sizeof err);
    if (!model) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    vocab = llama_model_get_vocab(model);
    return 0;
}

static int free_vocab(void **state)
{
    (void)state;
    llama_model_free(model);
    llama_backend_free();
    return 0;
}

/* ---- running the converter ---- */

typedef struct run {
    int rc, written, skipped;
    char *out; /* what it wrote */
    size_t len;
    char err[512];
} run;

static run convert(const char *format, const char *input, const char *corpus, long tokens,
                   int count, uint64_t seed)
{
    run r = {0};
    FILE *f = open_memstream(&r.out, &r.len);
    assert_non_null(f);
    eval_convert_params p = {.format = format,
                             .input = input,
                             .corpus = corpus,
                             .tokens = tokens,
                             .count = count,
                             .seed = seed};
    r.rc = eval_convert(&p, vocab, f, &r.written, &r.skipped, r.err, sizeof r.err);
    fclose(f);
    return r;
}

static run hotpotqa(long tokens, int count, uint64_t seed)
{
    return convert("hotpotqa", HOTPOTQA, NULL, tokens, count, seed);
}

static run multihop(long tokens, int count, uint64_t seed)
{
    return convert("multihop-rag", QUERIES, CORPUS, tokens, count, seed);
}

/* The output's lines, each parsed; fails on a line that is not one JSON object
 * of exactly id, context, query and a string target. */
static int parse_lines(const run *r, cJSON **lines, int cap)
{
    int n = 0;
    const char *s = r->out;
    while (*s) {
        const char *nl = strchr(s, '\n');
        assert_non_null(nl);
        assert_true(n < cap);
        cJSON *j = cJSON_ParseWithLength(s, (size_t)(nl - s));
        assert_true(cJSON_IsObject(j));
        assert_int_equal(cJSON_GetArraySize(j), 4);
        assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "id")));
        assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "context")));
        assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "query")));
        assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "target")));
        lines[n++] = j;
        s = nl + 1;
    }
    return n;
}

static void free_lines(cJSON **lines, int n)
{
    for (int i = 0; i < n; i++)
        cJSON_Delete(lines[i]);
}

static const char *field(const cJSON *j, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(j, name)->valuestring;
}

/* ---- the source files, read here on their own ---- */

typedef struct source_question {
    const char *id, *query, *answer;
    char *own[MAX_OWN]; /* its own passages as they must appear */
    int n_own;
    bool missing; /* evidence not in the corpus */
} source_question;

typedef struct source {
    cJSON *root, *corpus;
    source_question q[MAX_SOURCE];
    int n;
    char *passages[MAX_PASSAGE]; /* every passage of the file */
    int n_passages;
} source;

static cJSON *parse_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    int c;
    while ((c = fgetc(f)) != EOF)
        fputc(c, mem);
    fclose(mem);
    fclose(f);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_true(cJSON_IsArray(j));
    return j;
}

/* "Title\n" and the sentences, each trimmed of spaces, one space between. */
static char *render(const char *title, const cJSON *sentences)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fprintf(f, "%s\n", title);
    const cJSON *s;
    bool first = true;
    cJSON_ArrayForEach(s, sentences)
    {
        const char *a = s->valuestring, *b = a + strlen(a);
        while (*a == ' ')
            a++;
        while (b > a && b[-1] == ' ')
            b--;
        fprintf(f, "%s%.*s", first ? "" : " ", (int)(b - a), a);
        first = false;
    }
    fclose(f);
    return text;
}

static char *article_text(const cJSON *a)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fprintf(f, "%s\n%s", field(a, "title"), field(a, "body"));
    fclose(f);
    return text;
}

static void add_passage(source *src, char *text)
{
    for (int i = 0; i < src->n_passages; i++)
        if (strcmp(src->passages[i], text) == 0) return;
    if (src->n_passages >= MAX_PASSAGE) fail_msg("more than %d passages", MAX_PASSAGE);
    src->passages[src->n_passages++] = strdup(text);
} // NOLINT(clang-analyzer-unix.Malloc): freed with the source; lost to the analyzer in the array

static void read_hotpotqa(source *src)
{
    memset(src, 0, sizeof *src);
    src->root = parse_file(HOTPOTQA);
    const cJSON *item, *par;
    cJSON_ArrayForEach(item, src->root)
    {
        source_question *q = &src->q[src->n++];
        q->id = field(item, "_id");
        q->query = field(item, "question");
        q->answer = field(item, "answer");
        cJSON_ArrayForEach(par, cJSON_GetObjectItemCaseSensitive(item, "context"))
        {
            q->own[q->n_own] =
                render(cJSON_GetArrayItem(par, 0)->valuestring, cJSON_GetArrayItem(par, 1));
            add_passage(src, q->own[q->n_own++]);
        }
    }
}

static const cJSON *article_titled(const source *src, const char *title)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, src->corpus) if (strcmp(field(a, "title"), title) == 0) return a;
    return NULL;
}

static void read_multihop(source *src)
{
    memset(src, 0, sizeof *src);
    src->root = parse_file(QUERIES);
    src->corpus = parse_file(CORPUS);
    const cJSON *item, *e;
    cJSON_ArrayForEach(item, src->corpus)
    {
        char *text = article_text(item);
        add_passage(src, text);
        free(text);
    }
    cJSON_ArrayForEach(item, src->root)
    {
        source_question *q = &src->q[src->n++];
        q->query = field(item, "query");
        q->answer = field(item, "answer");
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(item, "evidence_list"))
        {
            const cJSON *a = article_titled(src, field(e, "title"));
            if (!a) {
                q->missing = true;
                continue;
            }
            char *text = article_text(a);
            bool seen = false;
            for (int i = 0; i < q->n_own; i++)
                seen = seen || strcmp(q->own[i], text) == 0;
            if (seen)
                free(text);
            else
                q->own[q->n_own++] = text;
        }
    }
}

static void free_source(source *src)
{
    for (int i = 0; i < src->n; i++)
        for (int k = 0; k < src->q[i].n_own; k++)
            free(src->q[i].own[k]);
    for (int i = 0; i < src->n_passages; i++)
        free(src->passages[i]);
    cJSON_Delete(src->root);
    cJSON_Delete(src->corpus);
}

/* The question of the file that an example's id names. */
static const source_question *question_of(const source *src, const char *id, bool multihop)
{
    for (int i = 0; i < src->n; i++) {
        char name[32];
        snprintf(name, sizeof name, "mhrag-%d", i);
        if (strcmp(multihop ? name : src->q[i].id, id) == 0) return &src->q[i];
    }
    fail_msg("no question has the id %s", id);
    return NULL;
}

/* ---- contexts ---- */

typedef struct chunk {
    const char *s;
    size_t len;
} chunk;

/* The context's passages, parted by blank lines. */
static int chunks_of(const char *context, chunk *out)
{
    int n = 0;
    for (const char *s = context;;) {
        const char *end = strstr(s, "\n\n");
        assert_true(n < MAX_CHUNKS);
        out[n++] = (chunk){s, end ? (size_t)(end - s) : strlen(s)};
        if (!end) return n;
        s = end + 2;
    }
}

static bool chunk_is(chunk c, const char *text)
{
    return strlen(text) == c.len && memcmp(c.s, text, c.len) == 0;
}

static size_t title_len(chunk c)
{
    const char *nl = memchr(c.s, '\n', c.len);
    return nl ? (size_t)(nl - c.s) : c.len;
}

/* Where own passage k is among the chunks: -1 when absent; fails if twice. */
static int own_position(const source_question *q, int k, const chunk *chunks, int n)
{
    int at = -1;
    for (int i = 0; i < n; i++) {
        if (!chunk_is(chunks[i], q->own[k])) continue;
        assert_int_equal(at, -1);
        at = i;
    }
    return at;
}

static void assert_near(const char *context, long tokens)
{
    long n = eval_count_tokens(vocab, context, strlen(context));
    if (labs(n - tokens) > tokens / 50) fail_msg("%ld tokens, asked for %ld", n, tokens);
}

/* The padding: every chunk that is not an own passage is a passage of the file
 * with another title, whole, or (at most one per context) cut before a space. */
static void assert_padding_from_file(const source *src, const source_question *q,
                                     const chunk *chunks, int n)
{
    int n_cut = 0;
    for (int i = 0; i < n; i++) {
        bool own = false, found = false;
        for (int k = 0; k < q->n_own; k++)
            own = own || chunk_is(chunks[i], q->own[k]);
        if (own) continue;
        for (int k = 0; k < q->n_own; k++)
            assert_false(strncmp(q->own[k], chunks[i].s, title_len(chunks[i]) + 1) == 0);
        for (int p = 0; p < src->n_passages && !found; p++) {
            const char *full = src->passages[p];
            if (strlen(full) < chunks[i].len || memcmp(full, chunks[i].s, chunks[i].len) != 0)
                continue;
            found = full[chunks[i].len] == '\0' || full[chunks[i].len] == ' ' ||
                    full[chunks[i].len] == '\n';
            if (found && full[chunks[i].len] != '\0') n_cut++;
        }
        if (!found) fail_msg("chunk %d is not from the file: %.60s", i, chunks[i].s);
    }
    assert_true(n_cut <= 1);
}

/* No title twice: no passage is repeated, whole or cut. */
static void assert_titles_unique(const chunk *chunks, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            assert_false(title_len(chunks[i]) == title_len(chunks[j]) &&
                         memcmp(chunks[i].s, chunks[j].s, title_len(chunks[i])) == 0);
}

/* Every example of r against its question in src. */
static void check_examples(const run *r, const source *src, bool multihop, long tokens)
{
    cJSON *lines[MAX_SOURCE];
    static chunk chunks[MAX_CHUNKS];
    int n = parse_lines(r, lines, MAX_SOURCE);
    assert_int_equal(n, r->written);
    for (int i = 0; i < n; i++) {
        const source_question *q = question_of(src, field(lines[i], "id"), multihop);
        assert_false(q->missing);
        assert_string_equal(field(lines[i], "query"), q->query);
        assert_string_equal(field(lines[i], "target"), q->answer);
        const char *context = field(lines[i], "context");
        assert_near(context, tokens);
        int n_chunks = chunks_of(context, chunks);
        assert_true(n_chunks > q->n_own); /* padded */
        for (int k = 0; k < q->n_own; k++)
            assert_true(own_position(q, k, chunks, n_chunks) >= 0);
        assert_padding_from_file(src, q, chunks, n_chunks);
        assert_titles_unique(chunks, n_chunks);
        assert_null(strstr(context, "  "));
    }
    free_lines(lines, n);
}

/* ---- the examples ---- */

static void test_hotpotqa_examples_are_their_questions(void **state)
{
    (void)state;
    source src;
    read_hotpotqa(&src);
    static const long sizes[] = {1000, 3000};
    for (int s = 0; s < 2; s++) {
        run r = hotpotqa(sizes[s], 0, 7);
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.written, 6);
        assert_int_equal(r.skipped, 0);
        check_examples(&r, &src, false, sizes[s]);
        /* in the file's order */
        assert_memory_equal(r.out, "{\"id\":\"5a7a06935542990198eaf050\"", 32);
        free(r.out);
    }
    free_source(&src);
}

static void test_multihop_examples_are_their_queries(void **state)
{
    (void)state;
    source src;
    read_multihop(&src);
    static const long sizes[] = {1000, 3000};
    for (int s = 0; s < 2; s++) {
        run r = multihop(sizes[s], 0, 7);
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.written, 3);
        assert_int_equal(r.skipped, 1); /* query 2 cites an article not in the corpus */
        check_examples(&r, &src, true, sizes[s]);
        cJSON *lines[MAX_SOURCE];
        assert_int_equal(parse_lines(&r, lines, MAX_SOURCE), 3);
        assert_string_equal(field(lines[0], "id"), "mhrag-0");
        assert_string_equal(field(lines[1], "id"), "mhrag-1");
        assert_string_equal(field(lines[2], "id"), "mhrag-3");
        assert_string_equal(field(lines[2], "target"), "Insufficient information.");
        free_lines(lines, 3);
        free(r.out);
    }
    /* query 1 cites one article twice and another once: two own passages */
    assert_int_equal(src.q[1].n_own, 2);
    free_source(&src);
}

/* Sentences that do not follow HotpotQA's leading-space habit still come out
 * with one space between them; names and quotes come through as they are. */
static void test_hotpotqa_text_is_joined_and_kept(void **state)
{
    (void)state;
    run r = hotpotqa(1000, 0, 3);
    assert_int_equal(r.rc, 0);
    cJSON *lines[MAX_SOURCE];
    static chunk chunks[MAX_CHUNKS];
    int n = parse_lines(&r, lines, MAX_SOURCE);
    const char *lantern = "The Copper Lantern\nThe Copper Lantern is a theatre company founded in "
                          "1952 in Dunmere. It tours the northern coast every summer. Its first "
                          "production was a play about lighthouse keepers.";
    const char *castle = "Vantry Castle\nVantry Castle is a ruined castle near Selwyn. In 1702 the "
                         "envoys of two counties signed The \"Iron {Gate}\" Treaty in its great "
                         "hall. Only the gatehouse stands today.";
    const char *zoe = "Zo\xC3\xAB \xC3\x9E\xC3\xB3rsd\xC3\xB3ttir\nZo\xC3\xAB \xC3\x9E\xC3\xB3rsd"
                      "\xC3\xB3ttir (born 1941) is an Icelandic-born architect.";
    int n_chunks = chunks_of(field(lines[1], "context"), chunks);
    bool found = false;
    for (int i = 0; i < n_chunks; i++)
        found = found || chunk_is(chunks[i], lantern);
    assert_true(found);
    assert_non_null(strstr(field(lines[2], "context"), castle));
    assert_string_equal(field(lines[2], "target"), "The \"Iron {Gate}\" Treaty");
    assert_non_null(strstr(field(lines[0], "context"), zoe));
    assert_non_null(strstr(field(lines[0], "query"), "Zo\xC3\xAB"));
    free_lines(lines, n);
    free(r.out);
}

/* Own passages are placed among the padding, not stacked at the front, and
 * where they go follows the seed. */
static void test_own_passages_are_spread(void **state)
{
    (void)state;
    static chunk chunks[MAX_CHUNKS];
    source srcs[2];
    read_hotpotqa(&srcs[0]);
    read_multihop(&srcs[1]);
    int not_at_start[2] = {0}, first_own[2][4];
    for (int m = 0; m < 2; m++) {
        for (uint64_t seed = 1; seed <= 4; seed++) {
            run r = m ? multihop(3000, 0, seed) : hotpotqa(3000, 0, seed);
            assert_int_equal(r.rc, 0);
            cJSON *lines[MAX_SOURCE];
            int n = parse_lines(&r, lines, MAX_SOURCE);
            for (int i = 0; i < n; i++) {
                const source_question *q = question_of(&srcs[m], field(lines[i], "id"), m);
                int n_chunks = chunks_of(field(lines[i], "context"), chunks), first = n_chunks;
                bool at_start = true;
                for (int k = 0; k < q->n_own; k++) {
                    int at = own_position(q, k, chunks, n_chunks);
                    at_start = at_start && at < q->n_own;
                    first = at < first ? at : first;
                }
                if (q->n_own && !at_start) not_at_start[m]++;
                if (i == 0) first_own[m][seed - 1] = first;
            }
            free_lines(lines, n);
            free(r.out);
        }
    }
    assert_true(not_at_start[0] > 0);
    assert_true(not_at_start[1] > 0);
    for (int m = 0; m < 2; m++) {
        bool moved = false;
        for (int s = 1; s < 4; s++)
            moved = moved || first_own[m][s] != first_own[m][0];
        assert_true(moved);
    }
    free_source(&srcs[0]);
    free_source(&srcs[1]);
}

/* ---- determinism ---- */

static void assert_same_questions_other_contexts(const run *a, const run *b)
{
    cJSON *la[MAX_SOURCE], *lb[MAX_SOURCE];
    int n = parse_lines(a, la, MAX_SOURCE);
    assert_int_equal(parse_lines(b, lb, MAX_SOURCE), n);
    for (int i = 0; i < n; i++) {
        assert_string_equal(field(la[i], "id"), field(lb[i], "id"));
        assert_string_equal(field(la[i], "query"), field(lb[i], "query"));
        assert_string_not_equal(field(la[i], "context"), field(lb[i], "context"));
    }
    free_lines(la, n);
    free_lines(lb, n);
}

static void test_same_seed_same_bytes(void **state)
{
    (void)state;
    for (int m = 0; m < 2; m++) {
        run a = m ? multihop(2000, 0, 5) : hotpotqa(2000, 0, 5);
        run b = m ? multihop(2000, 0, 5) : hotpotqa(2000, 0, 5);
        run c = m ? multihop(2000, 0, 6) : hotpotqa(2000, 0, 6);
        assert_int_equal(a.rc, 0);
        assert_int_equal(c.rc, 0);
        assert_true(a.len > 0);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.out, b.out, a.len);
        assert_same_questions_other_contexts(&a, &c);
        free(a.out);
        free(b.out);
        free(c.out);
    }
}

/* count stops after that many examples written, and they are the same ones. */
static void test_count_keeps_the_first_examples(void **state)
{
    (void)state;
    run all = hotpotqa(1500, 0, 9), two = hotpotqa(1500, 2, 9);
    assert_int_equal(two.rc, 0);
    assert_int_equal(two.written, 2);
    assert_true(two.len < all.len);
    assert_memory_equal(two.out, all.out, two.len);
    free(all.out);
    free(two.out);

    run m_all = multihop(1500, 0, 9), m_three = multihop(1500, 3, 9);
    assert_int_equal(m_three.written, 3);
    assert_int_equal(m_three.skipped, 1);
    assert_int_equal(m_three.len, m_all.len);
    assert_memory_equal(m_three.out, m_all.out, m_all.len);
    run m_one = multihop(1500, 1, 9);
    assert_int_equal(m_one.written, 1);
    assert_int_equal(m_one.skipped, 0);
    free(m_all.out);
    free(m_three.out);
    free(m_one.out);
}

/* ---- skipping ---- */

static long own_tokens(const source_question *q)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    for (int k = 0; k < q->n_own; k++)
        fprintf(f, "%s%s", k ? "\n\n" : "", q->own[k]);
    fclose(f);
    long n = eval_count_tokens(vocab, text, len);
    free(text);
    return n;
}

static int compare_longs(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static void test_questions_too_long_are_skipped(void **state)
{
    (void)state;
    source src;
    read_hotpotqa(&src);
    long own[MAX_SOURCE], sorted[MAX_SOURCE];
    for (int i = 0; i < src.n; i++)
        sorted[i] = own[i] = own_tokens(&src.q[i]);
    qsort(sorted, (size_t)src.n, sizeof *sorted, compare_longs);
    long tokens = sorted[2];
    int longer = 0;
    for (int i = 0; i < src.n; i++)
        longer += own[i] > tokens;
    assert_true(longer > 0 && longer < src.n);

    run r = hotpotqa(tokens, 0, 1);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.skipped, longer);
    assert_int_equal(r.written, src.n - longer);
    cJSON *lines[MAX_SOURCE];
    int n = parse_lines(&r, lines, MAX_SOURCE), at = 0;
    for (int i = 0; i < src.n; i++)
        if (own[i] <= tokens) assert_string_equal(field(lines[at++], "id"), src.q[i].id);
    free_lines(lines, n);
    free(r.out);

    run none = hotpotqa(100, 0, 1);
    assert_int_equal(none.rc, 0);
    assert_int_equal(none.written, 0);
    assert_int_equal(none.skipped, 6);
    assert_int_equal(none.len, 0);
    free(none.out);
    free_source(&src);
}

/* At 300 tokens each evidence article alone is too long; the null query (no
 * evidence) is all padding; the missing evidence is skipped as before. */
static void test_multihop_skips_long_and_missing(void **state)
{
    (void)state;
    run r = multihop(300, 0, 1);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.written, 1);
    assert_int_equal(r.skipped, 3);
    cJSON *lines[MAX_SOURCE] = {0};
    int n = parse_lines(&r, lines, MAX_SOURCE);
    assert_string_equal(field(lines[0], "id"), "mhrag-3");
    assert_near(field(lines[0], "context"), 300);
    free_lines(lines, n);
    free(r.out);
}

/* ---- errors ---- */

/* A file with these contents; the caller unlinks it. */
static void write_temp(char *path, const char *contents)
{
    memcpy(path, "/tmp/test_convert_XXXXXX", sizeof "/tmp/test_convert_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(contents, f);
    fclose(f);
}

static void assert_fails(run r, const char *message)
{
    assert_int_equal(r.rc, -1);
    assert_int_equal(r.written, 0);
    assert_string_equal(r.err, message);
    free(r.out);
}

static void assert_fails_with(run r, const char *start)
{
    assert_int_equal(r.rc, -1);
    if (strncmp(r.err, start, strlen(start)) != 0)
        fail_msg("error '%s' does not start with '%s'", r.err, start);
    free(r.out);
}

static void test_unreadable_and_unknown(void **state)
{
    (void)state;
    char expected[512];
    snprintf(expected, sizeof expected, "cannot open /nonexistent/hotpot.json: %s",
             strerror(ENOENT));
    assert_fails(convert("hotpotqa", "/nonexistent/hotpot.json", NULL, 1000, 0, 1), expected);
    snprintf(expected, sizeof expected, "cannot open /nonexistent/corpus.json: %s",
             strerror(ENOENT));
    assert_fails(convert("multihop-rag", QUERIES, "/nonexistent/corpus.json", 1000, 0, 1),
                 expected);
    assert_fails(convert("squad", HOTPOTQA, NULL, 1000, 0, 1),
                 "unknown format 'squad' (hotpotqa or multihop-rag)");
    assert_fails_with(convert("multihop-rag", QUERIES, NULL, 1000, 0, 1),
                      "multihop-rag needs its corpus file");
}

#define NOT_HOTPOTQA                                                                               \
    " is not a HotpotQA distractor file (expected a JSON array of objects with question, answer, " \
    "context)"
#define NOT_QUERIES                                                                                \
    " is not a MultiHop-RAG queries file (expected a JSON array of objects with query, answer, "   \
    "evidence_list)"
#define NOT_CORPUS                                                                                 \
    " is not a MultiHop-RAG corpus file (expected a JSON array of objects with title, body)"

static void test_files_not_in_the_format(void **state)
{
    (void)state;
    char path[64], expected[512];
    static const char *const not_a_list[] = {"this is { not JSON", "", "{\"question\": \"q\"}"};
    for (int i = 0; i < 3; i++) {
        write_temp(path, not_a_list[i]);
        snprintf(expected, sizeof expected, "%s" NOT_HOTPOTQA, path);
        assert_fails(convert("hotpotqa", path, NULL, 1000, 0, 1), expected);
        snprintf(expected, sizeof expected, "%s" NOT_QUERIES, path);
        assert_fails(convert("multihop-rag", path, CORPUS, 1000, 0, 1), expected);
        snprintf(expected, sizeof expected, "%s" NOT_CORPUS, path);
        assert_fails(convert("multihop-rag", QUERIES, path, 1000, 0, 1), expected);
        unlink(path);
    }

    /* lists of the wrong things: the item at fault is named */
    write_temp(path, "[{\"question\": \"q\", \"answer\": \"a\", \"context\": [[\"T\", [\"s\"]]]},"
                     " {\"question\": \"q\", \"answer\": \"a\"}]");
    snprintf(expected, sizeof expected, "%s" NOT_HOTPOTQA ": item 1 has no \"context\" list", path);
    assert_fails(convert("hotpotqa", path, NULL, 1000, 0, 1), expected);
    unlink(path);
    write_temp(path, "[{\"question\": \"q\", \"answer\": \"a\", \"context\": [[\"T\", \"s\"]]}]");
    snprintf(expected, sizeof expected, "%s" NOT_HOTPOTQA, path);
    assert_fails_with(convert("hotpotqa", path, NULL, 1000, 0, 1), expected);
    unlink(path);

    /* each format's file given for the other */
    snprintf(expected, sizeof expected, "%s" NOT_HOTPOTQA, QUERIES);
    assert_fails_with(convert("hotpotqa", QUERIES, NULL, 1000, 0, 1), expected);
    snprintf(expected, sizeof expected, "%s" NOT_QUERIES, HOTPOTQA);
    assert_fails_with(convert("multihop-rag", HOTPOTQA, CORPUS, 1000, 0, 1), expected);
    snprintf(expected, sizeof expected, "%s" NOT_CORPUS, QUERIES);
    assert_fails_with(convert("multihop-rag", QUERIES, QUERIES, 1000, 0, 1), expected);
}

static void test_too_little_padding(void **state)
{
    (void)state;
    assert_fails_with(hotpotqa(6000, 0, 1),
                      "not enough other passages in " HOTPOTQA " to pad to 6000 tokens");
    assert_fails_with(multihop(9000, 0, 1),
                      "not enough other passages in " CORPUS " to pad to 9000 tokens");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hotpotqa_examples_are_their_questions),
        cmocka_unit_test(test_multihop_examples_are_their_queries),
        cmocka_unit_test(test_hotpotqa_text_is_joined_and_kept),
        cmocka_unit_test(test_own_passages_are_spread),
        cmocka_unit_test(test_same_seed_same_bytes),
        cmocka_unit_test(test_count_keeps_the_first_examples),
        cmocka_unit_test(test_questions_too_long_are_skipped),
        cmocka_unit_test(test_multihop_skips_long_and_missing),
        cmocka_unit_test(test_unreadable_and_unknown),
        cmocka_unit_test(test_files_not_in_the_format),
        cmocka_unit_test(test_too_little_padding),
    };
    return cmocka_run_group_tests(tests, load_vocab, free_vocab);
}
