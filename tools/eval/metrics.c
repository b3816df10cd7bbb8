/*
 * metrics.c - string metrics for scoring answers: SQuAD's answer normalization
 * made Unicode-aware with ICU, exact match, containment on word boundaries,
 * and precision, recall and F1 over the words of a listed answer.
 */
#include "metrics.h"
#include "strbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

/* The code point at text[*pos], negative for an invalid sequence; *pos moves
 * past what was read either way, so invalid bytes are skipped. U8_NEXT counts
 * in int32_t, so it only ever sees a window of one character's length. */
static UChar32 next_code_point(const char *text, size_t len, size_t *pos)
{
    const uint8_t *window = (const uint8_t *)text + *pos;
    int32_t window_len = len - *pos < U8_MAX_LENGTH ? (int32_t)(len - *pos) : U8_MAX_LENGTH;
    int32_t read = 0;
    UChar32 c;
    U8_NEXT(window, read, window_len, c);
    *pos += (size_t)read;
    return c;
}

/* Normalization writes words as they come and takes an article back out once
 * its end shows it is one. */
typedef struct normalizer {
    wim_strbuf out;
    bool failed;       /* out of memory: the result is NULL */
    size_t word_begin; /* where the current word starts, with the space before it */
    size_t word_start; /* its first byte */
    bool in_word;
} normalizer;

/* Appends c in UTF-8, unless out of memory already. */
static void append_code_point(normalizer *n, UChar32 c)
{
    uint8_t bytes[U8_MAX_LENGTH];
    size_t len = 0;
    U8_APPEND_UNSAFE(bytes, len, c);
    n->failed = n->failed || !wim_strbuf_append(&n->out, (const char *)bytes, len);
}

typedef enum char_role { CHAR_DROPPED, CHAR_SPACE, CHAR_KEPT } char_role;

/* What normalization does with c. Controls separate words like whitespace;
 * default-ignorable characters (zero-width joiners, variation selectors, soft
 * hyphens) are invisible, so two texts that read the same must not differ by
 * them. */
static char_role role_in_normalized_text(UChar32 c)
{
    if (c < 0) return CHAR_DROPPED;
    if (u_isUWhiteSpace(c) || u_charType(c) == U_CONTROL_CHAR) return CHAR_SPACE;
    if (U_GET_GC_MASK(c) & (U_GC_P_MASK | U_GC_S_MASK)) return CHAR_DROPPED;
    if (u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) return CHAR_DROPPED;
    return CHAR_KEPT;
}

/* Full case folding, so "Straße" matches "STRASSE" and "ﬁ" matches "fi";
 * u_foldCase maps one code point to one and would miss those. ASCII takes a
 * shortcut: its full folding is plain lowercasing. */
static void append_folded(normalizer *n, UChar32 c)
{
    if (c < 0x80) {
        append_code_point(n, c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        return;
    }
    UChar in[U16_MAX_LENGTH], folded[8]; /* a full folding is at most 3 BMP code points */
    int32_t in_len = 0;
    U16_APPEND_UNSAFE(in, in_len, c);
    UErrorCode err = U_ZERO_ERROR;
    int32_t folded_len = u_strFoldCase(folded, 8, in, in_len, U_FOLD_CASE_DEFAULT, &err);
    if (U_FAILURE(err)) {
        append_code_point(n, c);
        return;
    }
    for (int32_t i = 0; i < folded_len;) {
        UChar32 f;
        U16_NEXT(folded, i, folded_len, f);
        append_code_point(n, f);
    }
}

static bool is_article(const char *word, size_t len)
{
    return (len == 1 && memcmp(word, "a", 1) == 0) || (len == 2 && memcmp(word, "an", 2) == 0) ||
           (len == 3 && memcmp(word, "the", 3) == 0);
}

static void start_word_if_needed(normalizer *n)
{
    if (n->in_word) return;
    n->word_begin = n->out.len;
    if (n->out.len > 0) append_code_point(n, ' ');
    n->word_start = n->out.len;
    n->in_word = true;
}

static void end_word(normalizer *n)
{
    if (!n->in_word) return;
    n->in_word = false;
    if (n->failed) return;
    if (is_article(n->out.s + n->word_start, n->out.len - n->word_start))
        n->out.len = n->word_begin; /* finish ends the string here */
}

/* The NUL-terminated string, or NULL (and nothing left to free) if any
 * allocation failed. The empty append ends the string where an article was
 * taken out, and makes a string even of nothing. */
static char *finish(normalizer *n)
{
    if (n->failed || !wim_strbuf_append(&n->out, "", 0)) {
        wim_strbuf_free(&n->out);
        return NULL;
    }
    return n->out.s;
}

/* Punctuation is dropped, not turned into a space, as SQuAD does: "don't"
 * becomes "dont" and "U.S." becomes "us". */
static char *normalize_span(const char *text, size_t len)
{
    normalizer n = {{NULL, 0, 0}, false, 0, 0, false};
    for (size_t pos = 0; pos < len;) {
        UChar32 c = next_code_point(text, len, &pos);
        switch (role_in_normalized_text(c)) {
        case CHAR_DROPPED:
            break;
        case CHAR_SPACE:
            end_word(&n);
            break;
        case CHAR_KEPT:
            start_word_if_needed(&n);
            append_folded(&n, c);
            break;
        }
    }
    end_word(&n);
    return finish(&n);
}

char *eval_normalize(const char *text)
{
    if (!text) text = "";
    return normalize_span(text, strlen(text));
}

bool eval_exact_match(const char *answer, const char *target)
{
    char *a = eval_normalize(answer), *t = eval_normalize(target);
    bool same = a && t && strcmp(a, t) == 0;
    free(a);
    free(t);
    return same;
}

/* Chinese characters and Japanese kana are written without spaces between
 * words, so each of them counts as a word of its own for containment: "北京"
 * is found in "答案是北京". Other scripts without spaces (Thai, Lao, Khmer)
 * would need a dictionary to find word ends and are not split. */
static bool is_written_without_spaces(UChar32 c)
{
    if (u_hasBinaryProperty(c, UCHAR_IDEOGRAPHIC)) return true;
    UErrorCode err = U_ZERO_ERROR;
    UScriptCode script = uscript_getScript(c, &err);
    return U_SUCCESS(err) && (script == USCRIPT_HIRAGANA || script == USCRIPT_KATAKANA);
}

/* Whether a word may start or end at text[pos]; text is normalized, so valid
 * UTF-8 with single spaces between words. */
static bool is_word_boundary(const char *text, size_t len, size_t pos)
{
    if (pos == 0 || pos == len) return true;
    size_t before = pos - 1;
    while (before > 0 && U8_IS_TRAIL((uint8_t)text[before]))
        before--;
    size_t after = pos;
    UChar32 left = next_code_point(text, len, &before);
    UChar32 right = next_code_point(text, len, &after);
    return left == ' ' || right == ' ' || is_written_without_spaces(left) ||
           is_written_without_spaces(right);
}

/* strstr's hits in UTF-8 always start on a character, since no character's
 * bytes begin in the middle of another's. */
static bool occurs_on_word_boundaries(const char *text, const char *phrase)
{
    size_t text_len = strlen(text), phrase_len = strlen(phrase);
    for (const char *hit = strstr(text, phrase); hit; hit = strstr(hit + 1, phrase)) {
        size_t start = (size_t)(hit - text);
        if (is_word_boundary(text, text_len, start) &&
            is_word_boundary(text, text_len, start + phrase_len))
            return true;
    }
    return false;
}

bool eval_contains(const char *answer, const char *target)
{
    char *a = eval_normalize(answer), *t = eval_normalize(target);
    bool found = a && t && t[0] != '\0' && occurs_on_word_boundaries(a, t);
    free(a);
    free(t);
    return found;
}

/* A set of normalized words: collected in any order, then sorted and made
 * distinct, then searched. */
typedef struct word_set {
    char **words;
    size_t count, cap;
    bool failed;
} word_set;

/* Takes word (malloc'd, NULL when normalization ran out of memory); empty
 * words, which were articles or nothing but punctuation, are not added. */
static void add_word(word_set *set, char *word)
{
    if (!word) {
        set->failed = true;
        return;
    }
    if (word[0] == '\0' || set->failed) {
        free(word);
        return;
    }
    if (set->count == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        char **words =
            cap <= SIZE_MAX / sizeof *words ? realloc(set->words, cap * sizeof *words) : NULL;
        if (!words) {
            set->failed = true;
            free(word);
            return;
        }
        set->words = words;
        set->cap = cap;
    }
    set->words[set->count++] = word;
}

static void free_words(word_set *set)
{
    for (size_t i = 0; i < set->count; i++)
        free(set->words[i]);
    free(set->words);
}

static int compare_words(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void make_distinct(word_set *set)
{
    if (set->count == 0) return;
    qsort(set->words, set->count, sizeof *set->words, compare_words);
    size_t kept = 1;
    for (size_t i = 1; i < set->count; i++) {
        if (strcmp(set->words[i], set->words[kept - 1]) == 0)
            free(set->words[i]);
        else
            set->words[kept++] = set->words[i];
    }
    set->count = kept;
}

/* Only after make_distinct. */
static bool has_word(const word_set *set, const char *word)
{
    return set->count > 0 &&
           bsearch(&word, set->words, set->count, sizeof *set->words, compare_words) != NULL;
}

static bool is_only_digits(const char *word)
{
    size_t len = strlen(word);
    for (size_t pos = 0; pos < len;)
        if (!u_isdigit(next_code_point(word, len, &pos))) return false;
    return true;
}

static bool any_only_digits(const word_set *set)
{
    for (size_t i = 0; i < set->count; i++)
        if (is_only_digits(set->words[i])) return true;
    return false;
}

/* Words of a numbered list's numbering ("1. apple 2. banana") are not answers
 * unless numbers are what was asked for; counting them would only lower
 * precision for a model that numbered its list. */
static void drop_numbers(word_set *set)
{
    size_t kept = 0;
    for (size_t i = 0; i < set->count; i++) {
        if (is_only_digits(set->words[i]))
            free(set->words[i]);
        else
            set->words[kept++] = set->words[i];
    }
    set->count = kept;
}

/* Marks belong to the letter they sit on: a decomposed "é" or a Devanagari
 * vowel sign must not split a word. */
static bool is_word_character(UChar32 c)
{
    return u_isalnum(c) || (U_GET_GC_MASK(c) & U_GC_M_MASK);
}

/* Invalid bytes neither end a word nor stay in it: normalizing the word drops
 * them, as it does for the whole text. */
static void collect_answer_words(word_set *set, const char *answer)
{
    size_t len = strlen(answer), word_start = 0;
    bool in_word = false;
    for (size_t pos = 0; pos < len;) {
        size_t at = pos;
        UChar32 c = next_code_point(answer, len, &pos);
        if (c < 0) continue;
        bool inside = is_word_character(c);
        if (inside && !in_word) word_start = at;
        if (!inside && in_word) add_word(set, normalize_span(answer + word_start, at - word_start));
        in_word = inside;
    }
    if (in_word) add_word(set, normalize_span(answer + word_start, len - word_start));
}

static eval_prf score_sets(const word_set *predicted, const word_set *targets)
{
    eval_prf score = {0.0, 0.0, 0.0};
    if (predicted->count == 0) return score;
    size_t hits = 0;
    for (size_t i = 0; i < predicted->count; i++)
        if (has_word(targets, predicted->words[i])) hits++;
    score.precision = (double)hits / (double)predicted->count;
    score.recall = targets->count > 0 ? (double)hits / (double)targets->count : 1.0;
    double sum = score.precision + score.recall;
    score.f1 = sum > 0.0 ? 2.0 * score.precision * score.recall / sum : 0.0;
    return score;
}

/* Targets are normalized like the answer's words and counted once each; one
 * that normalizes to nothing (an article, punctuation) is no target, and with
 * no targets left any predicted word is wrong: precision 0, recall 1, F1 0.
 * An answer with no words scores 0, 0, 0 whatever the targets, and so does
 * running out of memory. */
eval_prf eval_word_list_score(const char *answer, const char *const *targets, int n_targets)
{
    eval_prf score = {0.0, 0.0, 0.0};
    word_set predicted = {NULL, 0, 0, false}, wanted = {NULL, 0, 0, false};
    for (int i = 0; targets && i < n_targets; i++)
        if (targets[i]) add_word(&wanted, eval_normalize(targets[i]));
    collect_answer_words(&predicted, answer ? answer : "");
    if (!predicted.failed && !wanted.failed) {
        if (!any_only_digits(&wanted)) drop_numbers(&predicted);
        make_distinct(&predicted);
        make_distinct(&wanted);
        score = score_sets(&predicted, &wanted);
    }
    free_words(&predicted);
    free_words(&wanted);
    return score;
}
