/*
 * test_quote.c - the sampler that keeps a margin on the document it quotes
 * (src/quote.c): free until the margin's last two tokens are found together in
 * the document's text, then only what goes on as the text does there, at
 * every place they occur (the document's own token, or any that spells the
 * text inside one), or an end where a word ends; free again once a token
 * leaves the text. An answer is held the same way to the notes it is given,
 * its runs found there whatever the case of their letters.
 * Tokens are the reader's (tools/reader/reader.gguf), so that a case reads as
 * text: its vocabulary splits "Gideon" into " G" "id" "eon" and "pantry" into
 * " p" "ant" "ry", the names and places it copies worst.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "quote.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static wim_model *model;

/* The tokens of text, as the document's are (no special tokens). */
static wim_tokens tokens(const char *text)
{
    wim_tokens t = {0};
    assert_int_equal(wim_tokens_add_text(model, &t, text, strlen(text), false, false), 0);
    return t;
}

/* The one token of piece (a piece the vocabulary has whole). */
static llama_token token(const char *piece)
{
    wim_tokens t = tokens(piece);
    assert_int_equal(t.n, 1);
    llama_token tok = t.v[0];
    wim_tokens_free(&t);
    return tok;
}

static wim_pieces *pieces;

/* s, having accepted the tokens of text. */
static struct llama_sampler *accepted(struct llama_sampler *s, const char *text)
{
    assert_non_null(s);
    wim_tokens w = tokens(text);
    for (int i = 0; i < w.n; i++)
        llama_sampler_accept(s, w.v[i]);
    wim_tokens_free(&w);
    return s;
}

/* A sampler on doc, read as one segment, that has accepted the tokens of
 * written. */
static struct llama_sampler *written(const char *doc, const char *text)
{
    wim_tokens t = tokens(doc);
    wim_span span = {0, strlen(doc)};
    int tok_off[] = {0, t.n};
    wim_quote_source src = {doc, &span, t.v, tok_off, 0, 0};
    struct llama_sampler *s = wim_quote_sampler(pieces, &src, llama_sampler_init_greedy());
    wim_tokens_free(&t);
    return accepted(s, text);
}

/* The tokens s lets through, flat logits over the whole vocabulary masked,
 * into let[]; how many. */
static int let_through(struct llama_sampler *s, bool *let)
{
    int n_vocab = llama_vocab_n_tokens(model->vocab), n = 0;
    llama_token_data *d = calloc((size_t)n_vocab, sizeof *d);
    for (int t = 0; t < n_vocab; t++)
        d[t] = (llama_token_data){t, 0.0f, 0.0f};
    llama_token_data_array a = {d, (size_t)n_vocab, -1, false};
    llama_sampler_apply(s, &a);
    for (size_t i = 0; i < a.size; i++) {
        let[a.data[i].id] = isfinite(a.data[i].logit);
        n += let[a.data[i].id];
    }
    free(d);
    return n;
}

static int eogs(void)
{
    int n = 0;
    for (llama_token t = 0; t < llama_vocab_n_tokens(model->vocab); t++)
        n += llama_vocab_is_eog(model->vocab, t);
    return n;
}

static bool *lets(void)
{
    return calloc((size_t)llama_vocab_n_tokens(model->vocab), sizeof(bool));
}

/* Every token let through but the ends is the start of one of goes_on[]
 * (what the text says next at the places the margin's run ends); ends are
 * let through exactly when may_end. */
static void expect_going_on(const bool *let, const char *const *goes_on, int n, bool may_end)
{
    int n_vocab = llama_vocab_n_tokens(model->vocab);
    for (llama_token t = 0; t < n_vocab; t++) {
        if (llama_vocab_is_eog(model->vocab, t)) {
            assert_int_equal(let[t], may_end);
            continue;
        }
        if (!let[t]) continue;
        char piece[256];
        int len = wim_token_piece(model, t, piece, sizeof piece);
        bool starts_one = false;
        for (int i = 0; i < n; i++)
            starts_one |= len > 0 && strncmp(goes_on[i], piece, (size_t)len) == 0;
        if (!starts_one) fail_msg("let through '%.*s'", len, piece);
    }
}

/* A margin's quote of the first words starts with a space too. */
static const char doc[] = "Gideon went to the pantry. Mara went to the orchard.";

static void test_free_until_two_tokens_are_found_together(void **state)
{
    (void)state;
    bool *let = lets();
    int n_vocab = llama_vocab_n_tokens(model->vocab);
    struct llama_sampler *s = written(doc, " G"); /* one token: everywhere in a document */
    assert_int_equal(let_through(s, let), n_vocab);
    llama_sampler_free(s);
    s = written(doc, " Gidhe"); /* left the document: free again */
    assert_int_equal(let_through(s, let), n_vocab);
    llama_sampler_free(s);
    free(let);
}

static void test_held_to_the_text_inside_a_word(void **state)
{
    (void)state;
    bool *let = lets();
    struct llama_sampler *s = written(doc, " Gid");
    /* the document's "eon": neither the loop's "he" nor an end inside the name */
    assert_int_equal(let_through(s, let), 1);
    assert_true(let[token("eon")]);
    llama_sampler_free(s);
    s = written(doc, " Gideon went to the p");
    assert_int_equal(let_through(s, let), 1);
    assert_true(let[token("ant")]);
    llama_sampler_free(s);
    free(let);
}

/* A word spelled in other pieces than the tokenizer cut the text into is the
 * same quote: " pa" "ntry" for " p" "ant" "ry"; inside a token of the
 * document's, whatever goes on as the text does. */
static void test_held_to_the_text_not_its_tokens(void **state)
{
    (void)state;
    bool *let = lets();
    struct llama_sampler *s = written(doc, " to the pa");
    let_through(s, let);
    assert_false(let[token("ant")]);
    expect_going_on(let, (const char *const[]){"ntry."}, 1, false);
    llama_sampler_free(s);
    free(let);
}

/* Segments are cut into tokens one by one: one that starts "Ingrid" is cut
 * otherwise than the margin writes " Ingrid", and it is the same quote. */
static void test_a_sentence_that_starts_a_segment(void **state)
{
    (void)state;
    static const char text[] = "Dogs barked. Ingrid went to the courtyard.";
    size_t cut = strlen("Dogs barked. ");
    wim_tokens t = tokens("Dogs barked. ");
    int tok_off[] = {0, t.n, 0};
    wim_tokens_add_text(model, &t, text + cut, strlen(text + cut), false, false);
    tok_off[2] = t.n;
    wim_span spans[] = {{0, cut}, {cut, strlen(text) - cut}};
    wim_quote_source src = {text, spans, t.v, tok_off, 0, 1};
    struct llama_sampler *s = wim_quote_sampler(pieces, &src, llama_sampler_init_greedy());
    wim_tokens_free(&t);
    accepted(s, " Ingrid went to the");
    bool *let = lets();
    assert_int_equal(let_through(s, let), 1 + eogs());
    assert_true(let[token(" cour")]);
    llama_sampler_free(s);
    free(let);
}

static void test_every_place_it_quotes_and_an_end_between_words(void **state)
{
    (void)state;
    bool *let = lets();
    struct llama_sampler *s = written(doc, " went to the");
    assert_int_equal(let_through(s, let), 2 + eogs());
    assert_true(let[token(" p")]);
    assert_true(let[token(" or")]);
    expect_going_on(let, (const char *const[]){" pantry.", " orchard."}, 2, true);
    llama_sampler_free(s);
    free(let);
}

static void test_at_the_text_end_only_an_end(void **state)
{
    (void)state;
    bool *let = lets();
    struct llama_sampler *s = written(doc, " to the orchard.");
    let_through(s, let);
    expect_going_on(let, NULL, 0, true);
    llama_sampler_free(s);
    free(let);
}

/* In the job's chain: the model's choice ("he", as the reader's loop writes)
 * is masked, and the greedy sampler after it takes the text's. */
static void test_the_chain_chooses_the_texts_token(void **state)
{
    (void)state;
    struct llama_sampler *s = written(doc, " Gid");
    int n_vocab = llama_vocab_n_tokens(model->vocab);
    llama_token_data *d = calloc((size_t)n_vocab, sizeof *d);
    for (int t = 0; t < n_vocab; t++)
        d[t] = (llama_token_data){t, 0.0f, 0.0f};
    d[token("he")].logit = 9.0f;
    d[token("eon")].logit = 1.0f;
    llama_token_data_array a = {d, (size_t)n_vocab, -1, false};
    llama_sampler_apply(s, &a);
    assert_int_equal(a.data[a.selected].id, token("eon"));
    free(d);
    llama_sampler_free(s);
}

/* An answer held to its notes, having accepted the tokens of written. */
static struct llama_sampler *answered(const char *notes, const char *text)
{
    return accepted(wim_notes_sampler(pieces, notes, strlen(notes), llama_sampler_init_greedy()),
                    text);
}

static const char notes[] = "- Fenna went to the pantry.\n- Mara went to the orchard.";

/* The reader's slip: "The p" then the filler's "rice" (it said "The price
 * G."); "The p" is the notes' "the p", whatever the case, so only what spells
 * the pantry on goes on (the notes have no tokens of their own). */
static void test_an_answer_goes_on_as_its_notes_do(void **state)
{
    (void)state;
    bool *let = lets();
    struct llama_sampler *s = answered(notes, "The p");
    let_through(s, let);
    assert_true(let[token("ant")]);
    assert_false(let[token("rice")]);
    expect_going_on(let, (const char *const[]){"antry."}, 1, false);
    llama_sampler_free(s);
    s = answered(notes, "The pantry");
    let_through(s, let);
    expect_going_on(let, (const char *const[]){"."}, 1, true);
    llama_sampler_free(s);
    free(let);
}

/* What the notes do not say the answer writes freely; and a margin's quote
 * of the document stays its exact text ("The p" is not the document's). */
static void test_an_answer_free_off_its_notes_a_margin_exact(void **state)
{
    (void)state;
    bool *let = lets();
    int n_vocab = llama_vocab_n_tokens(model->vocab);
    struct llama_sampler *s = answered(notes, "She is");
    assert_int_equal(let_through(s, let), n_vocab);
    llama_sampler_free(s);
    s = written(doc, "The p");
    assert_int_equal(let_through(s, let), n_vocab);
    llama_sampler_free(s);
    free(let);
}

static int setup(void **state)
{
    (void)state;
    char err[512];
    model = wim_model_load(WIM_SOURCE_DIR "/tools/reader/reader.gguf", NULL, err, sizeof err);
    if (!model) fprintf(stderr, "%s\n", err);
    pieces = model ? wim_pieces_new(model) : NULL;
    return pieces ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    wim_pieces_free(pieces);
    wim_model_free(model);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_until_two_tokens_are_found_together),
        cmocka_unit_test(test_held_to_the_text_inside_a_word),
        cmocka_unit_test(test_held_to_the_text_not_its_tokens),
        cmocka_unit_test(test_a_sentence_that_starts_a_segment),
        cmocka_unit_test(test_every_place_it_quotes_and_an_end_between_words),
        cmocka_unit_test(test_at_the_text_end_only_an_end),
        cmocka_unit_test(test_the_chain_chooses_the_texts_token),
        cmocka_unit_test(test_an_answer_goes_on_as_its_notes_do),
        cmocka_unit_test(test_an_answer_free_off_its_notes_a_margin_exact),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
