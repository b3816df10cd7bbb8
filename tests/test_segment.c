/*
 * test_segment.c - the UTF-8 checks and the segmenter: exact small cases, then
 * properties over generated documents, counted both with a real tokenizer
 * (Qwen2's vocabulary) and with bytes / 3 + 1, a counter that grows with the text.
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

#include <llama.h>

#include "segment.h"
#include "text.h"
#include "wim.h"

#define N_GENERATED 200

/* ---- counters ---- */

/* A token counter that tallies what it is asked to count. */
typedef struct counter {
    const char *name;
    const struct llama_vocab *vocab; /* NULL: bytes / 3 + 1 */
    size_t calls, bytes;
} counter;

static int count_tokens(const char *text, size_t len, void *user)
{
    counter *c = user;
    c->calls++;
    c->bytes += len;
    if (!c->vocab) return (int)(len / 3 + 1);
    /* With no room for tokens, llama_tokenize returns minus the number it needs. */
    int32_t n = llama_tokenize(c->vocab, text, (int32_t)len, NULL, 0, false, false);
    if (n == INT32_MIN) return -1;
    return n < 0 ? -n : n;
}

static int count_bytes(const char *text, size_t len, void *user)
{
    (void)text;
    (void)user;
    return (int)len;
}

/* Superadditive, so a segment counts more than its sentences added up. */
static int count_quadratic(const char *text, size_t len, void *user)
{
    (void)text;
    (void)user;
    return (int)(len * len / 10);
}

static int count_fails(const char *text, size_t len, void *user)
{
    (void)text;
    (void)len;
    (void)user;
    return -7;
}

typedef struct fixture {
    struct llama_model *model;
    counter tokenizer, bytes;
} fixture;

static void log_errors_only(enum ggml_log_level level, const char *text, void *user)
{
    (void)user;
    if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

static int load_vocab(void **state)
{
    llama_log_set(log_errors_only, NULL);
    llama_backend_init();
    struct llama_model_params params = llama_model_default_params();
    params.vocab_only = true;
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    const char *path = WIM_VOCAB_DIR "/ggml-vocab-qwen2.gguf";
    f->model = llama_model_load_from_file(path, params);
    if (!f->model) {
        fprintf(stderr, "cannot load the vocabulary %s\n", path);
        free(f);
        return -1;
    }
    f->tokenizer = (counter){.name = "qwen2", .vocab = llama_model_get_vocab(f->model)};
    f->bytes = (counter){.name = "bytes/3+1"};
    *state = f;
    return 0;
}

static int free_vocab(void **state)
{
    fixture *f = *state;
    llama_model_free(f->model);
    free(f);
    llama_backend_free();
    return 0;
}

static int count_of(counter *c, const char *text, size_t len)
{
    return count_tokens(text, len, c);
}

/* ---- UTF-8 ---- */

static void test_utf8_validation_is_strict(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        bool valid;
        size_t bad_offset;
    } cases[] = {
        {"plain ascii", true, 0},
        {"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", true, 0},
        {"\xED\x9F\xBF\xEE\x80\x80\xF4\x8F\xBF\xBF", true, 0}, /* U+D7FF U+E000 U+10FFFF */
        {"ab\xC0\x80", false, 2},                              /* overlong NUL */
        {"ab\xC1\xBF", false, 2},                              /* overlong 2-byte */
        {"\xE0\x80\xAF", false, 0},                            /* overlong 3-byte */
        {"x\xF0\x8F\xBF\xBF", false, 1},                       /* overlong 4-byte */
        {"ok \xED\xA0\x80", false, 3},                         /* surrogate U+D800 */
        {"\xED\xBF\xBF", false, 0},                            /* surrogate U+DFFF */
        {"\xF4\x90\x80\x80", false, 0},                        /* U+110000 */
        {"\xF5\x80\x80\x80", false, 0},                        /* lead byte past U+10FFFF */
        {"\xFF", false, 0},
        {"abc\x80", false, 3},              /* lone continuation */
        {"\xE2\x82", false, 0},             /* truncated at the end */
        {"\xE2\x82z", false, 0},            /* truncated by an ASCII byte */
        {"\xF0\x9F\x98", false, 0},         /* truncated 4-byte */
        {"\xC3\xA9\xC3", false, 2},         /* valid then truncated */
        {"\xF0\x9F\x98\x80\xBF", false, 4}, /* extra continuation */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t bad = 12345;
        bool valid = wim_utf8_valid(cases[i].bytes, strlen(cases[i].bytes), &bad);
        if (valid != cases[i].valid)
            fail_msg("case %zu: expected %s", i, cases[i].valid ? "valid" : "invalid");
        if (!valid && bad != cases[i].bad_offset)
            fail_msg("case %zu: bad byte reported at %zu, expected %zu", i, bad,
                     cases[i].bad_offset);
    }
    assert_true(wim_utf8_valid("", 0, NULL));
    assert_false(wim_utf8_valid("\xC3", 1, NULL)); /* NULL bad_offset is allowed */
}

static void test_utf8_decode_reports_code_points(void **state)
{
    (void)state;
    const char *s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"; /* a é € 😀 */
    size_t len = strlen(s);
    uint32_t cp = 0;
    assert_int_equal(wim_utf8_decode(s, len, 0, &cp), 1);
    assert_int_equal(cp, 'a');
    assert_int_equal(wim_utf8_decode(s, len, 1, &cp), 2);
    assert_int_equal(cp, 0xE9);
    assert_int_equal(wim_utf8_decode(s, len, 3, &cp), 3);
    assert_int_equal(cp, 0x20AC);
    assert_int_equal(wim_utf8_decode(s, len, 6, &cp), 4);
    assert_int_equal(cp, 0x1F600);
    assert_int_equal(wim_utf8_decode(s, len, 7, &cp), 0); /* a continuation byte */
    assert_int_equal(wim_utf8_decode(s, 8, 6, &cp), 0);   /* cut short by len */
}

static void test_utf8_floor_and_ceil_land_on_boundaries(void **state)
{
    (void)state;
    const char *s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"; /* boundaries 0 1 3 6 10 */
    size_t len = strlen(s);
    static const size_t floors[] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 10};
    static const size_t ceils[] = {0, 1, 3, 3, 6, 6, 6, 10, 10, 10, 10, 10};
    for (size_t pos = 0; pos < sizeof floors / sizeof floors[0]; pos++) {
        if (wim_utf8_floor(s, len, pos) != floors[pos])
            fail_msg("floor(%zu) = %zu, expected %zu", pos, wim_utf8_floor(s, len, pos),
                     floors[pos]);
        if (wim_utf8_ceil(s, len, pos) != ceils[pos])
            fail_msg("ceil(%zu) = %zu, expected %zu", pos, wim_utf8_ceil(s, len, pos), ceils[pos]);
    }
}

static void test_utf8_floor_of_the_end_drops_a_truncated_character(void **state)
{
    (void)state;
    assert_int_equal(wim_utf8_floor("", 0, 0), 0);
    assert_int_equal(wim_utf8_floor("ab", 2, 2), 2);
    assert_int_equal(wim_utf8_floor("a\xC3\xA9", 3, 3), 3);
    assert_int_equal(wim_utf8_floor("a\xC3", 2, 2), 1);
    assert_int_equal(wim_utf8_floor("a\xE2\x82", 3, 3), 1);
    assert_int_equal(wim_utf8_floor("a\xE2\x82", 3, 9), 1);
    assert_int_equal(wim_utf8_floor("\xF0\x9F\x98", 3, 3), 0);
    assert_int_equal(wim_utf8_floor("\xF0\x9F\x98\x80", 4, 4), 4);
}

/* ---- exact segmentation cases ---- */

static void expect_spans(const wim_span *spans, size_t n, const wim_span *want, size_t n_want)
{
    assert_int_equal(n, n_want);
    for (size_t i = 0; i < n_want; i++) {
        if (spans[i].start != want[i].start || spans[i].len != want[i].len)
            fail_msg("segment %zu is [%zu, +%zu), expected [%zu, +%zu)", i, spans[i].start,
                     spans[i].len, want[i].start, want[i].len);
    }
}

static void segment_exactly(const char *text, int limit, counter *c, const wim_span *want,
                            size_t n_want)
{
    wim_span *spans;
    size_t n;
    char err[256] = "";
    if (wim_segment(text, strlen(text), limit, count_tokens, c, &spans, &n, err, sizeof err) != 0)
        fail_msg("wim_segment failed: %s", err);
    expect_spans(spans, n, want, n_want);
    free(spans);
}

static void test_three_sentences_with_room_for_two(void **state)
{
    fixture *f = *state;
    const char *text = "The cat sat on the mat. It was warm there! Then the dog came in.";
    size_t third = (size_t)(strstr(text, "Then") - text);
    int two = count_of(&f->tokenizer, text, third);
    assert_true(count_of(&f->tokenizer, text, strlen(text)) > two);
    wim_span want[] = {{0, third}, {third, strlen(text) - third}};
    segment_exactly(text, two, &f->tokenizer, want, 2);
}

static void test_whole_document_within_limit_is_one_segment(void **state)
{
    fixture *f = *state;
    const char *text = "One. Two! Three?\nFour.";
    wim_span want[] = {{0, strlen(text)}};
    segment_exactly(text, 512, &f->tokenizer, want, 1);
}

static void test_whitespace_stays_with_the_sentence_before(void **state)
{
    fixture *f = *state;
    /* 12 bytes = 5, 9 bytes = 4, all 21 bytes = 8 tokens by bytes / 3 + 1 */
    wim_span want[] = {{0, 12}, {12, 9}};
    segment_exactly("Hi there.   Next one.", 5, &f->bytes, want, 2);
}

/* Pages separated by form feeds (a PDF's text): each page a sentence, a budget
 * of one sentence; every segment covers its own page only, and the checks on a
 * document take form feeds for the whitespace they are. */
static void test_form_feeds_keep_segments_on_their_pages(void **state)
{
    fixture *f = *state;
    const char *text = "Page one ends.\fPage two ends.\n\fPage three.\n";
    wim_span *spans = NULL;
    size_t n = 0;
    char err[128];
    assert_int_equal(
        wim_segment(text, strlen(text), 6, count_tokens, &f->bytes, &spans, &n, err, sizeof err),
        0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        int first, last;
        wim_span_pages(text, strlen(text), spans[i], &first, &last);
        assert_int_equal(first, (int)i + 1);
        assert_int_equal(last, (int)i + 1);
    }
    free(spans);
    assert_int_equal(wim_check_text("document", text, strlen(text), err, sizeof err), 0);
    assert_int_equal(wim_check_text("document", "\f \f\n", 4, err, sizeof err), -1);
    assert_string_equal(err, "document is empty");
}

static void test_span_pages_count_form_feeds_and_skip_the_edges(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        wim_span sp;
        int first, last;
    } cases[] = {
        {"no pages here", {0, 13}, 0, 0},
        {"a\fb c\f\fd", {0, 8}, 1, 4},
        {"a\fb c\f\fd", {2, 6}, 2, 4},
        {"a\fb c\f\fd", {1, 2}, 2, 2}, /* "\fb": the feed before b is page 1's end */
        {"a\fb c\f\fd", {4, 3}, 2, 2}, /* "c\f\f" */
        {"a\fb c\f\fd", {1, 1}, 1, 1}, /* a feed alone is on the page it ends */
        {"\f\fx", {0, 3}, 3, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int first = -1, last = -1;
        wim_span_pages(cases[i].text, strlen(cases[i].text), cases[i].sp, &first, &last);
        if (first != cases[i].first || last != cases[i].last)
            fail_msg("case %zu: pages %d-%d, wanted %d-%d", i, first, last, cases[i].first,
                     cases[i].last);
    }
}

static void test_cjk_sentence_ends_are_boundaries(void **state)
{
    fixture *f = *state;
    /* sentences of 9, 15 and 12 bytes: 4, 6, 5 tokens; no two fit in 6 */
    wim_span want[] = {{0, 9}, {9, 15}, {24, 12}};
    segment_exactly("你好。今天很好！明天呢？", 6, &f->bytes, want, 3);
}

static void test_long_sentence_is_cut_after_whitespace(void **state)
{
    fixture *f = *state;
    /* 11 bytes fit in 4 tokens: "aaaa bbbb c" fits, and is cut back to "aaaa bbbb " */
    wim_span want[] = {{0, 10}, {10, 9}};
    segment_exactly("aaaa bbbb cccc dddd", 4, &f->bytes, want, 2);
}

static void test_long_sentence_ignores_whitespace_in_first_half(void **state)
{
    fixture *f = *state;
    /* the only space is at byte 2 of the 11 that fit: cutting there wastes too much */
    wim_span want[] = {{0, 11}, {11, 6}};
    segment_exactly("ab cdefghijklmnop", 4, &f->bytes, want, 2);
}

static void test_long_sentence_is_cut_after_unicode_space_but_not_no_break_space(void **state)
{
    fixture *f = *state;
    /* U+3000 ideographic space at bytes 6..8, in the latter half of the 11 that fit */
    wim_span ideographic[] = {{0, 9}, {9, 9}};
    segment_exactly("aaaaaa\u3000bbbbbbbbb", 4, &f->bytes, ideographic, 2);
    /* U+00A0 no-break space at bytes 6..7: the cut stays at 11 */
    wim_span no_break[] = {{0, 11}, {11, 6}};
    segment_exactly("aaaaaa\u00A0bbbbbbbbb", 4, &f->bytes, no_break, 2);
}

static void test_long_sentence_is_never_cut_inside_a_character(void **state)
{
    fixture *f = *state;
    /* five 4-byte emoji; 3 tokens allow 8 bytes, i.e. two emoji */
    wim_span want[] = {{0, 8}, {8, 8}, {16, 4}};
    segment_exactly("😀😀😀😀😀", 3, &f->bytes, want, 3);
}

static void test_segment_over_the_limit_gives_back_sentences(void **state)
{
    (void)state;
    /* sentences of 10 bytes: 10 each, 40 for two, 90 for three; their sum says
     * three fit in 40, the count of the three says no, two do */
    const char *text = "Aaaa bbb. Cccc ddd. Eeee fff. ";
    wim_span *spans;
    size_t n;
    char err[256] = "";
    assert_int_equal(
        wim_segment(text, strlen(text), 40, count_quadratic, NULL, &spans, &n, err, sizeof err), 0);
    wim_span want[] = {{0, 20}, {20, 10}};
    expect_spans(spans, n, want, 2);
    free(spans);
}

/* ---- errors ---- */

static void expect_failure(const char *text, size_t len, int limit, wim_token_count_fn count,
                           const char *reason)
{
    static wim_span stale;
    wim_span *spans = &stale; /* must come back NULL */
    size_t n = 99;
    char err[256] = "";
    assert_int_equal(wim_segment(text, len, limit, count, NULL, &spans, &n, err, sizeof err), -1);
    assert_null(spans);
    assert_int_equal(n, 0);
    if (!strstr(err, reason)) fail_msg("error \"%s\" does not mention \"%s\"", err, reason);
    assert_null(strchr(err, '\n'));
}

static void test_errors_are_reported(void **state)
{
    (void)state;
    expect_failure("", 0, 10, count_bytes, "document is empty");
    expect_failure("text", 4, 0, count_bytes, "at least 1 token (got 0)");
    expect_failure("text", 4, -3, count_bytes, "at least 1 token (got -3)");
    expect_failure("text", 4, 10, count_fails, "token counter failed (returned -7)");
    expect_failure("ok \xED\xA0\x80", 6, 10, count_bytes, "not valid UTF-8 (at byte 3)");
    /* "a" fits in 3 "tokens" (bytes), the 4-byte emoji after it never can */
    expect_failure("a😀", 5, 3, count_bytes, "character at byte 1 alone is more than 3 tokens");
}

static void test_errors_fit_a_small_buffer(void **state)
{
    (void)state;
    wim_span *spans;
    size_t n;
    char err[8];
    memset(err, 'x', sizeof err);
    assert_int_equal(wim_segment("", 0, 10, count_bytes, NULL, &spans, &n, err, sizeof err), -1);
    assert_string_equal(err, "documen");
    assert_int_equal(wim_segment("", 0, 10, count_bytes, NULL, &spans, &n, NULL, 0), -1);
}

/* ---- generated documents ---- */

static uint64_t next_random(uint64_t *state) /* splitmix64 */
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static size_t below(uint64_t *rng, size_t n)
{
    return (size_t)(next_random(rng) % n);
}

typedef struct doc {
    char *text;
    size_t len, cap;
    bool tracks_ends; /* for kinds whose sentence ends ICU must find */
    size_t *ends;     /* those ends, as generated */
    size_t n_ends, cap_ends;
} doc;

static void *grow(void *items, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return items;
    while (*cap < need)
        *cap = *cap ? 2 * *cap : 256;
    items = realloc(items, *cap * size);
    assert_non_null(items);
    return items;
}

static void put_bytes(doc *d, const char *s, size_t n)
{
    d->text = grow(d->text, &d->cap, d->len + n, 1);
    memcpy(d->text + d->len, s, n);
    d->len += n;
}

static void put_str(doc *d, const char *s)
{
    put_bytes(d, s, strlen(s));
}

static void put_code_point(doc *d, uint32_t cp)
{
    char b[4];
    if (cp < 0x80) {
        b[0] = (char)cp;
        put_bytes(d, b, 1);
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | cp >> 6);
        b[1] = (char)(0x80 | (cp & 0x3F));
        put_bytes(d, b, 2);
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | cp >> 12);
        b[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        put_bytes(d, b, 3);
    } else {
        b[0] = (char)(0xF0 | cp >> 18);
        b[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        b[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        put_bytes(d, b, 4);
    }
}

static void mark_sentence_end(doc *d)
{
    if (!d->tracks_ends) return;
    d->ends = grow(d->ends, &d->cap_ends, d->n_ends + 1, sizeof *d->ends);
    d->ends[d->n_ends++] = d->len;
}

static void doc_free(doc *d)
{
    free(d->text);
    free(d->ends);
}

static void put_word(uint64_t *rng, doc *d, bool capital)
{
    static const char *const words[] = {
        "the",   "margin",  "of",      "a",        "long",   "document", "model",     "reads",
        "every", "segment", "and",     "writes",   "notes",  "about",    "what",      "it",
        "found", "in",      "context", "question", "answer", "cache",    "token",     "sentence",
        "is",    "not",     "where",   "we",       "stop",   "reading",  "carefully",
    };
    const char *w = words[below(rng, sizeof words / sizeof words[0])];
    if (capital) {
        char first = (char)(w[0] - 'a' + 'A');
        put_bytes(d, &first, 1);
        w++;
    }
    put_str(d, w);
}

static void put_prose_sentence(uint64_t *rng, doc *d)
{
    static const char terminators[] = ".!?";
    size_t n = 2 + below(rng, 24);
    put_word(rng, d, true);
    for (size_t i = 1; i < n; i++) {
        put_str(d, below(rng, 8) ? " " : ", ");
        put_word(rng, d, false);
    }
    put_bytes(d, &terminators[below(rng, 3)], 1);
}

/* Whitespace after a sentence; ICU ends a sentence after a line break, so a blank
 * line is a sentence of its own. */
static void put_sentence_gap(uint64_t *rng, doc *d)
{
    switch (below(rng, 4)) {
    case 0:
        put_str(d, "\n");
        break;
    case 1:
        put_str(d, "\n");
        mark_sentence_end(d);
        put_str(d, "\n");
        break;
    default:
        put_str(d, " ");
    }
    mark_sentence_end(d);
}

static void put_cjk_sentence(uint64_t *rng, doc *d)
{
    static const char *const terminators[] = {"。", "！", "？"};
    size_t n = 2 + below(rng, 40);
    for (size_t i = 0; i < n; i++)
        put_code_point(d, 0x4E00 + (uint32_t)below(rng, 0x5000));
    put_str(d, terminators[below(rng, 3)]);
    if (below(rng, 4) == 0) put_str(d, "\n");
    mark_sentence_end(d);
}

static void put_emoji(uint64_t *rng, doc *d)
{
    switch (below(rng, 5)) {
    case 0:
        put_str(d, "👩‍💻"); /* a ZWJ sequence */
        break;
    case 1:
        put_str(d, "🇯🇵"); /* a flag: two regional indicators */
        break;
    case 2:
        put_code_point(d, 0x1F300 + (uint32_t)below(rng, 0x100));
        break;
    default:
        put_code_point(d, 0x1F600 + (uint32_t)below(rng, 0x50));
    }
}

static void put_emoji_sentence(uint64_t *rng, doc *d)
{
    size_t n = 1 + below(rng, 15);
    put_word(rng, d, true);
    for (size_t i = 0; i < n; i++) {
        put_str(d, " ");
        if (below(rng, 2))
            put_word(rng, d, false);
        else
            for (size_t k = 1 + below(rng, 3); k > 0; k--)
                put_emoji(rng, d);
    }
    put_str(d, below(rng, 2) ? "! " : "? ");
}

static void put_unpunctuated_words(uint64_t *rng, doc *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        put_word(rng, d, false);
        put_str(d, below(rng, 6) ? " " : "  ");
    }
}

/* Letters, accents, CJK and emoji with no space and no punctuation. */
static void put_giant_word(uint64_t *rng, doc *d, size_t bytes)
{
    size_t end = d->len + bytes;
    while (d->len < end) {
        switch (below(rng, 6)) {
        case 0:
            put_code_point(d, 0xE0 + (uint32_t)below(rng, 0x1F));
            break;
        case 1:
            put_code_point(d, 0x4E00 + (uint32_t)below(rng, 0x5000));
            break;
        case 2:
            put_emoji(rng, d);
            break;
        default:
            put_code_point(d, 'a' + (uint32_t)below(rng, 26));
        }
    }
}

static void put_whitespace_run(uint64_t *rng, doc *d)
{
    static const char *const spaces[] = {" ", " ", "\t", "\n", "\r\n", "\u3000", "\u00A0"};
    for (size_t n = 1 + below(rng, 40); n > 0; n--)
        put_str(d, spaces[below(rng, sizeof spaces / sizeof spaces[0])]);
}

typedef enum kind { PROSE, CJK, EMOJI, UNPUNCTUATED, GIANT_WORD, WHITESPACE, MIXED, N_KINDS } kind;

static const char *const kind_names[N_KINDS] = {
    "prose", "cjk", "emoji", "unpunctuated", "giant-word", "whitespace", "mixed",
};

static void put_mixed_piece(uint64_t *rng, doc *d)
{
    switch (below(rng, 6)) {
    case 0:
        put_prose_sentence(rng, d);
        put_str(d, " ");
        break;
    case 1:
        put_cjk_sentence(rng, d);
        break;
    case 2:
        put_emoji_sentence(rng, d);
        break;
    case 3:
        put_giant_word(rng, d, 1 + below(rng, 300));
        break;
    case 4:
        put_whitespace_run(rng, d);
        break;
    default:
        put_unpunctuated_words(rng, d, 1 + below(rng, 30));
    }
}

static void put_whitespace_document(uint64_t *rng, doc *d, size_t target)
{
    bool only_whitespace = below(rng, 6) == 0;
    while (d->len < target) {
        put_whitespace_run(rng, d);
        if (!only_whitespace) put_prose_sentence(rng, d);
    }
}

static void generate(uint64_t *rng, kind k, size_t target, doc *d)
{
    d->tracks_ends = k == PROSE || k == CJK;
    switch (k) {
    case UNPUNCTUATED:
        put_unpunctuated_words(rng, d, 1 + target / 6);
        return;
    case GIANT_WORD:
        put_giant_word(rng, d, target);
        return;
    case WHITESPACE:
        put_whitespace_document(rng, d, target);
        return;
    default:
        break;
    }
    while (d->len < target) {
        if (k == PROSE) {
            put_prose_sentence(rng, d);
            put_sentence_gap(rng, d);
        } else if (k == CJK) {
            put_cjk_sentence(rng, d);
        } else if (k == EMOJI) {
            put_emoji_sentence(rng, d);
        } else {
            put_mixed_piece(rng, d);
        }
    }
}

/* Lengths from a few bytes to 8 KiB, spread evenly in scale; giant words are
 * always far longer than the largest limit. */
static size_t random_length(uint64_t *rng, kind k)
{
    if (k == GIANT_WORD) return 3000 + below(rng, 6000);
    return 1 + below(rng, (size_t)16 << below(rng, 10));
}

static int random_limit(uint64_t *rng)
{
    int base = 8 << below(rng, 7);
    int limit = base + (int)below(rng, (size_t)base);
    return limit > 512 ? 512 : limit;
}

/* ---- properties ---- */

typedef struct trial {
    const doc *d;
    kind kind;
    int index, limit;
    counter *c;
    wim_span *spans;
    size_t n;
} trial;

/* How often the conditional properties were exercised, so none is vacuous. */
typedef struct coverage {
    size_t sentence_aligned, cut_in_words, cut_in_giant_words;
} coverage;

__attribute__((format(printf, 3, 4))) static void expect(const trial *t, bool ok, const char *fmt,
                                                         ...)
{
    if (ok) return;
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    fail_msg("%s document #%d (%zu bytes, limit %d, %s): %s", kind_names[t->kind], t->index,
             t->d->len, t->limit, t->c->name, why);
}

static size_t span_end(const wim_span *s)
{
    return s->start + s->len;
}

static int count_span(const trial *t, size_t start, size_t end)
{
    return count_of(t->c, t->d->text + start, end - start);
}

static void segment_trial(trial *t)
{
    char err[256] = "";
    int rc = wim_segment(t->d->text, t->d->len, t->limit, count_tokens, t->c, &t->spans, &t->n, err,
                         sizeof err);
    expect(t, rc == 0, "wim_segment failed: %s", err);
    expect(t, t->n >= 1, "no segments");
}

static void expect_tiling(const trial *t)
{
    char *joined = malloc(t->d->len);
    size_t at = 0;
    assert_non_null(joined);
    for (size_t i = 0; i < t->n; i++) {
        const wim_span *s = &t->spans[i];
        expect(t, s->start == at, "segment %zu starts at %zu, not %zu", i, s->start, at);
        expect(t, s->len > 0, "segment %zu is empty", i);
        expect(t, span_end(s) <= t->d->len, "segment %zu runs past the end", i);
        memcpy(joined + at, t->d->text + s->start, s->len);
        at += s->len;
    }
    expect(t, at == t->d->len, "segments cover %zu bytes of %zu", at, t->d->len);
    expect(t, memcmp(joined, t->d->text, at) == 0, "segments do not join into the input");
    free(joined);
}

static void expect_segments_valid_and_within_limit(const trial *t)
{
    for (size_t i = 0; i < t->n; i++) {
        const wim_span *s = &t->spans[i];
        size_t bad = 0;
        expect(t, wim_utf8_valid(t->d->text + s->start, s->len, &bad),
               "segment %zu is not valid UTF-8 at byte %zu", i, s->start + bad);
        int tokens = count_span(t, s->start, span_end(s));
        expect(t, tokens <= t->limit, "segment %zu has %d tokens", i, tokens);
    }
}

static bool all_sentences_fit(const trial *t)
{
    size_t start = 0;
    for (size_t i = 0; i < t->d->n_ends; start = t->d->ends[i++])
        if (count_span(t, start, t->d->ends[i]) > t->limit) return false;
    return true;
}

/* Index of the sentence that ends at pos, or n_ends if none does. */
static size_t sentence_ending_at(const doc *d, size_t pos)
{
    for (size_t i = 0; i < d->n_ends; i++)
        if (d->ends[i] == pos) return i;
    return d->n_ends;
}

/* Every segment ends at a sentence end, and the next sentence would not have fit. */
static void expect_greedy_sentence_segments(const trial *t)
{
    for (size_t i = 0; i < t->n; i++) {
        size_t end = span_end(&t->spans[i]);
        size_t k = sentence_ending_at(t->d, end);
        expect(t, k < t->d->n_ends, "segment %zu ends at %zu, inside a sentence", i, end);
        if (i + 1 < t->n) {
            int tokens = count_span(t, t->spans[i].start, t->d->ends[k + 1]);
            expect(t, tokens > t->limit, "segment %zu had room for the next sentence (%d tokens)",
                   i, tokens);
        }
    }
}

static void expect_cuts_after_whitespace(const trial *t)
{
    for (size_t i = 0; i + 1 < t->n; i++) {
        char last = t->d->text[span_end(&t->spans[i]) - 1];
        expect(t, last == ' ', "segment %zu ends in a word ('%c')", i, last);
    }
}

/* For a counter that grows with the text, the first sentence of a segment
 * would not have fit in the one before, so neither would the whole segment. */
static void expect_adjacent_segments_overflow(const trial *t)
{
    for (size_t i = 0; i + 1 < t->n; i++) {
        int tokens = count_span(t, t->spans[i].start, span_end(&t->spans[i + 1]));
        expect(t, tokens > t->limit, "segments %zu and %zu fit together (%d tokens)", i, i + 1,
               tokens);
    }
}

/* For a counter that grows with the text, a cut inside a word takes the
 * longest prefix that fits: one more character would not. */
static void expect_longest_prefixes(const trial *t)
{
    for (size_t i = 0; i + 1 < t->n; i++) {
        size_t end = span_end(&t->spans[i]);
        size_t one_more = wim_utf8_ceil(t->d->text, t->d->len, end + 1);
        int tokens = count_span(t, t->spans[i].start, one_more);
        expect(t, tokens > t->limit, "segment %zu could take one more character", i);
    }
}

static void check_document(const doc *d, kind k, int index, int limit, counter *c, coverage *cov)
{
    trial t = {.d = d, .kind = k, .index = index, .limit = limit, .c = c};
    segment_trial(&t);
    expect_tiling(&t);
    expect_segments_valid_and_within_limit(&t);
    if (d->n_ends > 0 && all_sentences_fit(&t)) {
        expect_greedy_sentence_segments(&t);
        cov->sentence_aligned++;
    }
    if (k == UNPUNCTUATED && t.n > 1) {
        expect_cuts_after_whitespace(&t);
        cov->cut_in_words++;
    }
    if (!c->vocab) {
        expect_adjacent_segments_overflow(&t);
        if (k == GIANT_WORD) {
            expect_longest_prefixes(&t);
            cov->cut_in_giant_words++;
        }
    }
    free(t.spans);
}

static void check_generated_documents(counter *c, coverage *cov)
{
    uint64_t rng = 0x5E6E;
    for (int i = 0; i < N_GENERATED; i++) {
        kind k = (kind)(i % N_KINDS);
        doc d = {0};
        generate(&rng, k, random_length(&rng, k), &d);
        check_document(&d, k, i, random_limit(&rng), c, cov);
        doc_free(&d);
    }
}

static void test_generated_documents_with_tokenizer(void **state)
{
    fixture *f = *state;
    coverage cov = {0};
    check_generated_documents(&f->tokenizer, &cov);
    assert_true(cov.sentence_aligned >= 10);
    assert_true(cov.cut_in_words >= 10);
}

static void test_generated_documents_with_byte_counter(void **state)
{
    fixture *f = *state;
    coverage cov = {0};
    check_generated_documents(&f->bytes, &cov);
    assert_true(cov.sentence_aligned >= 10);
    assert_true(cov.cut_in_words >= 10);
    assert_true(cov.cut_in_giant_words >= 10);
}

/* A 16k-token document of a thousand sentences: each sentence is counted about
 * once, and each segment a few times, rather than every prefix. */
static void test_long_document_is_counted_sparingly(void **state)
{
    fixture *f = *state;
    counter *c = &f->tokenizer;
    uint64_t rng = 16384;
    doc d = {0};
    for (int i = 0; i < 1000; i++) {
        put_prose_sentence(&rng, &d);
        put_str(&d, " ");
    }
    assert_true(count_of(c, d.text, d.len) > 12000);
    trial t = {.d = &d, .kind = PROSE, .limit = 512, .c = c};
    c->calls = c->bytes = 0;
    segment_trial(&t);
    expect(&t, c->calls <= 1000 + 6 * t.n, "%zu counts for %zu segments", c->calls, t.n);
    expect(&t, c->bytes <= 6 * d.len, "%zu bytes counted", c->bytes);
    expect_tiling(&t);
    free(t.spans);
    doc_free(&d);
}

/* What a model wrote is shown as valid UTF-8: every byte that is not part of a
 * whole, valid sequence (a stray continuation, a cut sequence, an overlong or a
 * surrogate form, NUL) becomes U+FFFD; valid ones pass as they are. */
static void test_model_text_is_made_valid_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        const char *out;
    } cases[] = {
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82", 14,
         "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82"},
        {"a\x80z", 3, "a\xef\xbf\xbdz"},
        {"a\xe2\x82", 3, "a\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"a\0b", 3,
         "a\xef\xbf\xbd"
         "b"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wim_strbuf b = {0};
        assert_true(wim_strbuf_append_utf8(&b, cases[i].in, cases[i].len));
        assert_string_equal(wim_strbuf_str(&b), cases[i].out);
        wim_strbuf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_validation_is_strict),
        cmocka_unit_test(test_utf8_decode_reports_code_points),
        cmocka_unit_test(test_utf8_floor_and_ceil_land_on_boundaries),
        cmocka_unit_test(test_utf8_floor_of_the_end_drops_a_truncated_character),
        cmocka_unit_test(test_three_sentences_with_room_for_two),
        cmocka_unit_test(test_whole_document_within_limit_is_one_segment),
        cmocka_unit_test(test_whitespace_stays_with_the_sentence_before),
        cmocka_unit_test(test_form_feeds_keep_segments_on_their_pages),
        cmocka_unit_test(test_span_pages_count_form_feeds_and_skip_the_edges),
        cmocka_unit_test(test_cjk_sentence_ends_are_boundaries),
        cmocka_unit_test(test_long_sentence_is_cut_after_whitespace),
        cmocka_unit_test(test_long_sentence_ignores_whitespace_in_first_half),
        cmocka_unit_test(test_long_sentence_is_cut_after_unicode_space_but_not_no_break_space),
        cmocka_unit_test(test_long_sentence_is_never_cut_inside_a_character),
        cmocka_unit_test(test_segment_over_the_limit_gives_back_sentences),
        cmocka_unit_test(test_errors_are_reported),
        cmocka_unit_test(test_errors_fit_a_small_buffer),
        cmocka_unit_test(test_generated_documents_with_tokenizer),
        cmocka_unit_test(test_generated_documents_with_byte_counter),
        cmocka_unit_test(test_long_document_is_counted_sparingly),
        cmocka_unit_test(test_model_text_is_made_valid_utf8),
    };
    return cmocka_run_group_tests(tests, load_vocab, free_vocab);
}
