/*
 * test_generate.c - the synthetic tasks of generate.h: every example's answer
 * is worked out again from its own text (the cwe list counted, the needle facts
 * parsed and replayed), its length is checked in a real tokenizer's counts
 * (Qwen2's, and Llama 3's once), and seeds, ids and errors are checked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llama.h>

#include "generate.h"
#include "tokens.h"

#define N_COMMON 10

typedef struct fixture {
    struct llama_model *qwen, *llama;
} fixture;

static struct llama_model *load(const char *path)
{
    char err[256];
    struct llama_model *m = eval_vocab_load(path, err, sizeof err);
    if (!m) fprintf(stderr, "%s\n", err);
    return m;
}

static int load_vocabs(void **state)
{
    llama_backend_init();
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    f->qwen = load(WIM_VOCAB_DIR "/ggml-vocab-qwen2.gguf");
    f->llama = load(WIM_VOCAB_DIR "/ggml-vocab-llama-bpe.gguf");
    *state = f;
    return f->qwen && f->llama ? 0 : -1;
}

static int free_vocabs(void **state)
{
    fixture *f = *state;
    llama_model_free(f->qwen);
    llama_model_free(f->llama);
    free(f);
    llama_backend_free();
    return 0;
}

static const struct llama_vocab *qwen(void **state)
{
    return llama_model_get_vocab(((fixture *)*state)->qwen);
}

static void generate(const struct llama_vocab *v, const char *kind, long tokens, uint64_t seed,
                     int index, eval_example *e)
{
    char err[256] = "";
    int rc = eval_generate(kind, v, tokens, seed, index, e, err, sizeof err);
    if (rc != 0) fprintf(stderr, "%s-%ld-%d: %s\n", kind, tokens, index, err);
    assert_int_equal(rc, 0);
    char id[64];
    snprintf(id, sizeof id, "%s-%ld-%d", kind, tokens, index);
    assert_string_equal(e->id, id);
}

static void assert_length(const struct llama_vocab *v, const eval_example *e, long tokens)
{
    long n = eval_count_tokens(v, e->context, strlen(e->context));
    if (labs(n - tokens) * 50 > tokens) fprintf(stderr, "%s: %ld tokens\n", e->id, n);
    assert_true(labs(n - tokens) * 50 <= tokens);
}

/* Whole-word occurrences of word in text. */
static int word_count(const char *text, const char *word)
{
    int n = 0;
    size_t len = strlen(word);
    for (const char *p = strstr(text, word); p; p = strstr(p + 1, word)) {
        bool before = p > text && isalpha((unsigned char)p[-1]);
        bool after = isalpha((unsigned char)p[len]);
        n += !before && !after;
    }
    return n;
}

static int substring_count(const char *text, const char *s)
{
    int n = 0;
    for (const char *p = strstr(text, s); p; p = strstr(p + 1, s))
        n++;
    return n;
}

/* ---- cwe: count the list ---- */

typedef struct tally {
    char word[48];
    int n;
} tally;

static int by_word(const void *a, const void *b)
{
    return strcmp(((const tally *)a)->word, ((const tally *)b)->word);
}

static int by_count_down(const void *a, const void *b)
{
    return ((const tally *)b)->n - ((const tally *)a)->n;
}

/* The list's lines, checked as "i. word" in order; *lines set. */
static tally *read_list(const char *text, int *lines, int *adjacent_same)
{
    int cap = 1024, n = 0;
    tally *t = malloc((size_t)cap * sizeof *t);
    assert_non_null(t);
    *adjacent_same = 0;
    for (const char *p = text; *p;) {
        int number = 0, used = 0;
        assert_int_equal(sscanf(p, "%d. %n", &number, &used), 1);
        assert_int_equal(number, n + 1);
        const char *w = p + used, *end = w;
        while (*end >= 'a' && *end <= 'z')
            end++;
        assert_true(end > w && end - w < 48);
        assert_int_equal(*end, '\n');
        if (n == cap) assert_non_null(t = realloc(t, (size_t)(cap *= 2) * sizeof *t));
        memcpy(t[n].word, w, (size_t)(end - w));
        t[n].word[end - w] = '\0';
        t[n].n = 1;
        *adjacent_same += n > 0 && !strcmp(t[n].word, t[n - 1].word);
        n++;
        p = end + 1;
    }
    *lines = n;
    return t;
}

/* Distinct words with their counts, most frequent first; *n set. */
static tally *count_words(tally *t, int *n)
{
    qsort(t, (size_t)*n, sizeof *t, by_word);
    int k = 0;
    for (int i = 0; i < *n; i++) {
        if (k && !strcmp(t[k - 1].word, t[i].word))
            t[k - 1].n++;
        else
            t[k++] = t[i];
    }
    qsort(t, (size_t)k, sizeof *t, by_count_down);
    *n = k;
    return t;
}

/* Checks the target is the set of the N_COMMON most frequent words, all
 * equally frequent and at least twice as frequent as any other, which appear
 * 3 times each. Returns the common words' frequency. */
static int check_cwe(const eval_example *e)
{
    assert_true(e->is_list);
    assert_int_equal(e->n_targets, N_COMMON);
    assert_non_null(strstr(e->query, "10"));
    int lines, adjacent, n;
    tally *t = read_list(e->context, &lines, &adjacent);
    n = lines;
    count_words(t, &n);
    assert_true(n > N_COMMON);
    int freq = t[0].n;
    for (int i = 0; i < N_COMMON; i++)
        assert_int_equal(t[i].n, freq);
    for (int i = N_COMMON; i < n; i++)
        assert_int_equal(t[i].n, 3);
    assert_true(freq >= 6);
    for (int i = 0; i < N_COMMON; i++) { /* the target is exactly the top set */
        bool found = false;
        for (int j = 0; j < N_COMMON; j++)
            found |= !strcmp(e->targets[i], t[j].word);
        assert_true(found);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(e->targets[i], e->targets[j]);
    }
    assert_true(adjacent * 4 < lines); /* shuffled, not grouped */
    free(t);
    return freq;
}

/* ---- needle: parse the facts and replay them ---- */

typedef struct fact {
    char who[32], what[32]; /* what: a place (move) or an object (pickup) */
    bool move;
    size_t offset;
} fact;

typedef struct facts {
    fact f[64];
    int n, sentences, distinct_filler;
} facts;

/* Fills x from one sentence when it is a fact. */
static bool parse_fact(const char *s, size_t len, fact *x)
{
    char buf[256];
    int used = -1;
    if (len >= sizeof buf) return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    x->move = true;
    if (sscanf(buf, "%31[A-Za-z] went to the %31[a-z].%n", x->who, x->what, &used) == 2 &&
        used == (int)len)
        return true;
    x->move = false;
    used = -1;
    return sscanf(buf, "%31[A-Za-z] picked up the %31[a-z].%n", x->who, x->what, &used) == 2 &&
           used == (int)len;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every sentence of the context; the facts kept in order, the filler counted. */
static void parse_context(const char *text, facts *out)
{
    enum { MAX_SENT = 20000 };
    char **filler = malloc(MAX_SENT * sizeof *filler);
    int n_filler = 0;
    assert_non_null(filler);
    memset(out, 0, sizeof *out);
    for (const char *p = text; *p;) {
        while (*p == ' ' || *p == '\n')
            p++;
        const char *end = strchr(p, '.');
        assert_non_null(end);
        size_t len = (size_t)(end - p) + 1;
        fact x;
        if (parse_fact(p, len, &x)) {
            assert_true(out->n < 64);
            x.offset = (size_t)(p - text);
            out->f[out->n++] = x;
        } else if (n_filler < MAX_SENT) {
            filler[n_filler++] = strndup(p, len);
        }
        out->sentences++;
        p = end + 1;
    }
    qsort(filler, (size_t)n_filler, sizeof *filler, by_string);
    for (int i = 0; i < n_filler; i++)
        out->distinct_filler += i == 0 || strcmp(filler[i], filler[i - 1]) != 0;
    for (int i = 0; i < n_filler; i++)
        free(filler[i]);
    free(filler);
}

/* The last place who went to up to fact number upto (exclusive); NULL if none. */
static const char *place_of(const facts *fs, const char *who, int upto)
{
    const char *at = NULL;
    for (int i = 0; i < upto; i++)
        if (fs->f[i].move && !strcmp(fs->f[i].who, who)) at = fs->f[i].what;
    return at;
}

/* Facts whose words equal s, as the person or as the place or object. */
static int mentions_of(const facts *fs, const char *s)
{
    int n = 0;
    for (int i = 0; i < fs->n; i++)
        n += !strcmp(fs->f[i].who, s) + !strcmp(fs->f[i].what, s);
    return n;
}

/* No person, place or object of the facts appears in the filler. */
static void assert_facts_only(const char *text, const facts *fs)
{
    for (int i = 0; i < fs->n; i++) {
        assert_int_equal(word_count(text, fs->f[i].who), mentions_of(fs, fs->f[i].who));
        assert_int_equal(word_count(text, fs->f[i].what), mentions_of(fs, fs->f[i].what));
    }
}

/* "Where is the OBJECT?": picked up once, then its holder moved at least once;
 * the answer is where the holder went last. */
static const char *object_answer(const facts *fs, const char *object)
{
    int pick = -1, picks = 0;
    for (int i = 0; i < fs->n; i++)
        if (!fs->f[i].move && !strcmp(fs->f[i].what, object)) pick = i, picks++;
    assert_int_equal(picks, 1);
    const char *holder = fs->f[pick].who;
    bool moved_after = false;
    for (int i = pick + 1; i < fs->n; i++)
        moved_after |= fs->f[i].move && !strcmp(fs->f[i].who, holder);
    assert_true(moved_after);
    return place_of(fs, holder, fs->n);
}

/* "Where is NAME?": NAME moved several times; the last move counts. */
static const char *person_answer(const facts *fs, const char *name)
{
    int moves = 0;
    for (int i = 0; i < fs->n; i++)
        moves += fs->f[i].move && !strcmp(fs->f[i].who, name);
    assert_true(moves >= 2);
    return place_of(fs, name, fs->n);
}

/* Replays the facts for the question and checks the target; returns the
 * question type (0 person, 1 object). */
static int check_needle(const eval_example *e, facts *fs)
{
    assert_false(e->is_list);
    assert_int_equal(e->n_targets, 1);
    parse_context(e->context, fs);
    int moves = 0, pickups = 0;
    for (int i = 0; i < fs->n; i++)
        fs->f[i].move ? moves++ : pickups++;
    /* no fact sentence that the patterns missed */
    assert_int_equal(substring_count(e->context, "went to"), moves);
    assert_int_equal(substring_count(e->context, "picked up"), pickups);
    assert_facts_only(e->context, fs);
    char word[32];
    int type = sscanf(e->query, "Where is the %31[a-z]?", word) == 1;
    if (!type) assert_int_equal(sscanf(e->query, "Where is %31[A-Za-z]?", word), 1);
    const char *answer = type ? object_answer(fs, word) : person_answer(fs, word);
    assert_non_null(answer);
    assert_string_equal(e->targets[0], answer);
    return type;
}

/* ---- tests ---- */

static const long sizes[] = {500, 2000, 8000, 32000};

static void test_cwe_target_is_the_most_frequent_words(void **state)
{
    const struct llama_vocab *v = qwen(state);
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int n_index = sizes[s] >= 8000 ? 1 : 4;
        for (int i = 0; i < n_index; i++) {
            eval_example e;
            generate(v, "cwe", sizes[s], 7, i, &e);
            assert_length(v, &e, sizes[s]);
            int freq = check_cwe(&e);
            if (sizes[s] >= 8000) assert_int_equal(freq, 30);
            if (sizes[s] == 500) assert_true(freq < 30); /* 300 lines cannot fit */
            eval_example_free(&e);
        }
    }
}

static void test_needle_target_follows_from_the_facts(void **state)
{
    const struct llama_vocab *v = qwen(state);
    int types[2] = {0};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int n_index = sizes[s] >= 8000 ? 2 : 6;
        for (int i = 0; i < n_index; i++) {
            eval_example e;
            facts fs;
            generate(v, "needle", sizes[s], 11, i, &e);
            assert_length(v, &e, sizes[s]);
            types[check_needle(&e, &fs)]++;
            /* spread through the text, not bunched at one end */
            size_t len = strlen(e.context);
            assert_true(fs.f[fs.n - 1].offset - fs.f[0].offset > len / 3);
            /* varied filler, not one sentence over and over */
            int filler = fs.sentences - fs.n;
            if (sizes[s] >= 2000) assert_true(fs.distinct_filler * 2 > filler);
            eval_example_free(&e);
        }
    }
    assert_true(types[0] > 0 && types[1] > 0);
}

/* n examples of kind, each of its length and right by its facts; which
 * question types they asked (bit 0 person, bit 1 object). */
static int check_needles(const struct llama_vocab *v, const char *kind, long tokens, int seed,
                         int n)
{
    int types = 0;
    for (int i = 0; i < n; i++) {
        eval_example e;
        facts fs;
        generate(v, kind, tokens, seed, i, &e);
        assert_length(v, &e, tokens);
        types |= 1 << check_needle(&e, &fs);
        eval_example_free(&e);
    }
    return types;
}

static void test_needle_fits_a_short_context(void **state)
{
    check_needles(qwen(state), "needle", 300, 3, 4);
}

/* qa1: needle's person questions only, each still right by its facts. */
static void test_qa1_asks_only_where_a_person_is(void **state)
{
    assert_int_equal(check_needles(qwen(state), "qa1", 600, 5, 8), 1);
}

static void test_other_tokenizer(void **state)
{
    const struct llama_vocab *v = llama_model_get_vocab(((fixture *)*state)->llama);
    eval_example e;
    facts fs;
    generate(v, "cwe", 4000, 5, 0, &e);
    assert_length(v, &e, 4000);
    assert_int_equal(check_cwe(&e), 30);
    eval_example_free(&e);
    generate(v, "needle", 4000, 5, 0, &e);
    assert_length(v, &e, 4000);
    check_needle(&e, &fs);
    eval_example_free(&e);
}

static void assert_same(const eval_example *a, const eval_example *b)
{
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->context, b->context);
    assert_string_equal(a->query, b->query);
    assert_int_equal(a->n_targets, b->n_targets);
    assert_int_equal(a->is_list, b->is_list);
    for (int i = 0; i < a->n_targets; i++)
        assert_string_equal(a->targets[i], b->targets[i]);
}

static void test_same_arguments_same_example(void **state)
{
    const struct llama_vocab *v = qwen(state);
    const char *kinds[] = {"cwe", "needle"};
    for (int k = 0; k < 2; k++) {
        eval_example a, b, c, d;
        generate(v, kinds[k], 2000, 99, 3, &a);
        generate(v, kinds[k], 2000, 99, 3, &b);
        generate(v, kinds[k], 2000, 99, 4, &c);
        generate(v, kinds[k], 2000, 100, 3, &d);
        assert_same(&a, &b);
        assert_string_not_equal(a.context, c.context);
        assert_string_not_equal(a.context, d.context);
        eval_example_free(&a);
        eval_example_free(&b);
        eval_example_free(&c);
        eval_example_free(&d);
    }
}

/* -1 and a one-line reason that contains want. */
static void assert_fails(const struct llama_vocab *v, const char *kind, long tokens,
                         const char *want, char *err, size_t errlen)
{
    eval_example e = {0};
    err[0] = '\0';
    assert_int_equal(eval_generate(kind, v, tokens, 1, 0, &e, err, errlen), -1);
    assert_non_null(strstr(err, want));
    assert_null(strchr(err, '\n'));
}

static void test_errors(void **state)
{
    const struct llama_vocab *v = qwen(state);
    char err[256];
    assert_fails(v, "haystack", 4000, "unknown generator 'haystack' (cwe, needle or qa1)", err,
                 sizeof err);
    assert_fails(v, "needle", 100, "--tokens 100 is too few for needle (at least", err, sizeof err);
    assert_fails(v, "needle", 0, "too few", err, sizeof err);
    assert_fails(v, "cwe", -5, "too few", err, sizeof err);
    assert_fails(v, "cwe", 300, "--tokens 300 is too few for cwe (at least ", err, sizeof err);
    /* the minimum it names is enough */
    long least = atol(strstr(err, "at least ") + strlen("at least "));
    assert_true(least > 300 && least < 2000);
    eval_example e;
    generate(v, "cwe", least, 1, 0, &e);
    assert_length(v, &e, least);
    check_cwe(&e);
    eval_example_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cwe_target_is_the_most_frequent_words),
        cmocka_unit_test(test_needle_target_follows_from_the_facts),
        cmocka_unit_test(test_needle_fits_a_short_context),
        cmocka_unit_test(test_qa1_asks_only_where_a_person_is),
        cmocka_unit_test(test_other_tokenizer),
        cmocka_unit_test(test_same_arguments_same_example),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, load_vocabs, free_vocabs);
}
