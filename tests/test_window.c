/*
 * test_window.c - reading past the context (src/window.c): a document many
 * times the context read in a bounded window, the kept margins carried on as
 * notes in document order, the weakest let go past their budget.
 *
 * White-box: the callback looks at sequence 0's cells as the reading goes, so
 * that the window is asserted on the cache itself, not on what the events say.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine.h"
#include "session.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static wim_model *qwen, *phi;

enum { CTX = 1024, MAX_SEGS = 512 };

/* A sentence a reading says again and again, quoted by its margins. */
#define SAID "The keeper sold the grey timber to the old market."

/* About n_words words of plain sentences, the same every run, with
 * sentence (if not NULL) after every third of them. */
static char *made_document_with(int n_words, const char *sentence)
{
    static const char *const words[] = {"the",   "harbour", "keeper", "lamp",   "ship",
                                        "stone", "river",   "old",    "grey",   "market",
                                        "sold",  "herring", "wrote",  "timber", "council"};
    wim_strbuf b = {0};
    uint32_t x = 12345;
    for (int i = 0; i < n_words; i++) {
        x = x * 1103515245u + 12345u;
        wim_strbuf_puts(&b, words[(x >> 16) % 15]);
        wim_strbuf_puts(&b, i % 9 == 8 ? ". " : " ");
        if (sentence && i % 27 == 26) {
            wim_strbuf_puts(&b, sentence);
            wim_strbuf_puts(&b, " ");
        }
    }
    wim_strbuf_puts(&b, "The end.");
    return b.s;
}

static char *made_document(int n_words)
{
    return made_document_with(n_words, NULL);
}

static void options(wim_options *o)
{
    wim_options_default(o);
    o->n_threads = 1;
    o->n_ctx = CTX;
    o->segment_tokens = 128;
    o->max_margin_tokens = 8;
    o->max_verdict_tokens = 4;
    o->max_answer_tokens = 4;
}

/* What a reading did, seen from its callback. */
typedef struct seen {
    wim_session *s;
    int n_segments, n_windows, window_from[MAX_SEGS];
    int n_margins, most_cells, done_let_go, done_window, margins_let_go;
    bool kept[2][MAX_SEGS], let_go[2][MAX_SEGS];
    float p_yes[2][MAX_SEGS];
    int used[2][MAX_SEGS], n_used[2];
    int carried_tokens_most;
    int seg_tokens[MAX_SEGS];
    int pending[2 * MAX_SEGS][2], n_pending; /* let go before the window event: q, segment */
    int n_copies_let_go;                     /* let go with a carried copy of their text */
    int listed[MAX_SEGS], n_listed;          /* question 0's notes at its answer, listed once */
} seen;

static bool same_note(const seen *r, int q, int i, int p, int j)
{
    const wim_strbuf *a = &r->s->notes[q * r->s->doc.n + i].text;
    const wim_strbuf *b = &r->s->notes[p * r->s->doc.n + j].text;
    return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

/* The first segment of the window segment i was read in. */
static int window_of(const seen *r, int i)
{
    int first = 0;
    for (int k = 0; k < r->n_windows && r->window_from[k] <= i; k++)
        first = r->window_from[k];
    return first;
}

/* Note q,i's text, less the spaces around it, is in the text its margin was
 * shown: its window's segments through its own. */
static bool quotes_the_document(const seen *r, int q, int i)
{
    const wim_strbuf *t = &r->s->notes[q * r->s->doc.n + i].text;
    const wim_doc *d = &r->s->doc;
    size_t a = 0, b = t->len, from = d->spans[window_of(r, i)].start;
    while (a < b && isspace((unsigned char)t->s[a]))
        a++;
    while (b > a && isspace((unsigned char)t->s[b - 1]))
        b--;
    char *text = strndup(t->s + a, b - a),
         *shown = strndup(d->text + from, d->spans[i].start + d->spans[i].len - from);
    assert_true(text && shown);
    bool in = a < b && strstr(shown, text) != NULL;
    free(text);
    free(shown);
    return in;
}

/* Note q,i is carried before segment upto: kept, not let go, and the copy of
 * its text there (segments in order, a segment's questions in order) that is
 * listed: the last that quotes the document, or the first when none does. */
static bool carried(const seen *r, int q, int i, int upto)
{
    if (!r->kept[q][i] || r->let_go[q][i]) return false;
    int first = -1, last_said = -1; /* segment * 2 + question */
    for (int j = 0; j < upto; j++)
        for (int p = 0; p < r->s->n_queries; p++)
            if (r->kept[p][j] && !r->let_go[p][j] && same_note(r, p, j, q, i)) {
                if (first < 0) first = 2 * j + p;
                if (quotes_the_document(r, p, j)) last_said = 2 * j + p;
            }
    return (last_said >= 0 ? last_said : first) == 2 * i + q;
}

/* A let-go note must be the weakest carried note of a segment before the
 * window that starts next (the earliest of equals), or a kept copy of the
 * text let go just before it; and no kept copy of a text let go may stay
 * there. Checked, in order, when that window's event says where it starts. */
static void check_weakest(seen *r, int window_first)
{
    int hq = -1, hi = -1; /* the carried note whose text is going */
    for (int k = 0; k < r->n_pending; k++) {
        int gq = r->pending[k][0], gi = r->pending[k][1];
        assert_true(gi < window_first);
        if (hq >= 0 && same_note(r, gq, gi, hq, hi)) {
            r->n_copies_let_go++;
        } else {
            assert_true(carried(r, gq, gi, window_first));
            for (int q = 0; q < r->s->n_queries; q++)
                for (int i = 0; i < window_first; i++) {
                    bool before = i < gi || (i == gi && q < gq);
                    if (carried(r, q, i, window_first) &&
                        (r->p_yes[q][i] < r->p_yes[gq][gi] ||
                         (before && r->p_yes[q][i] == r->p_yes[gq][gi])))
                        fail_msg("let go q%d s%d (p %.4f) while q%d s%d (p %.4f) was weaker", gq,
                                 gi, r->p_yes[gq][gi], q, i, r->p_yes[q][i]);
                }
            hq = gq;
            hi = gi;
        }
        r->let_go[gq][gi] = true;
    }
    for (int k = 0; k < r->n_pending; k++)
        for (int q = 0; q < r->s->n_queries; q++)
            for (int i = 0; i < window_first; i++)
                if (r->kept[q][i] && same_note(r, q, i, r->pending[k][0], r->pending[k][1]))
                    assert_true(r->let_go[q][i]);
    r->n_pending = 0;
}

static int on_event(const wim_event *ev, void *user)
{
    seen *r = user;
    r->n_segments = ev->n_segments;
    assert_true(ev->n_segments <= MAX_SEGS);
    if (ev->type == WIM_EVENT_SEGMENT) {
        r->seg_tokens[ev->segment] = ev->n_tokens;
        /* the cache itself: sequence 0 never holds more than the window */
        llama_pos most = llama_memory_seq_pos_max(llama_get_memory(r->s->ctx), WIM_SEQ_DOC) + 1;
        if (most > r->most_cells) r->most_cells = most;
    }
    if (ev->type == WIM_EVENT_MARGIN) r->n_margins++;
    if (ev->type == WIM_EVENT_VERDICT) {
        r->kept[ev->question][ev->segment] = ev->relevant;
        r->p_yes[ev->question][ev->segment] = ev->p_yes;
    }
    if (ev->type == WIM_EVENT_LET_GO) {
        assert_true(r->kept[ev->question][ev->segment]);
        assert_false(r->let_go[ev->question][ev->segment]);
        r->pending[r->n_pending][0] = ev->question;
        r->pending[r->n_pending++][1] = ev->segment;
    }
    if (ev->type == WIM_EVENT_WINDOW) {
        check_weakest(r, ev->segment);
        r->window_from[r->n_windows++] = ev->segment;
        if (ev->n_tokens > r->carried_tokens_most) r->carried_tokens_most = ev->n_tokens;
    }
    if (ev->type == WIM_EVENT_ANSWER) {
        if (ev->question == 0) { /* the notes as its prompt had them, before the run frees them */
            int *at, n;
            assert_int_equal(wim_listed_notes(r->s, 0, 1, r->s->doc.n, true, &at, &n), 0);
            memcpy(r->listed, at, (size_t)n * sizeof *at);
            r->n_listed = n;
            free(at);
        }
        r->n_used[ev->question] = ev->n_used;
        memcpy(r->used[ev->question], ev->used, (size_t)ev->n_used * sizeof *ev->used);
    }
    if (ev->type == WIM_EVENT_DONE) {
        r->done_let_go = ev->stats->n_segments_let_go;
        r->done_window = ev->stats->n_window;
        r->margins_let_go = ev->stats->n_margins_let_go;
    }
    return WIM_CONTINUE;
}

static void read_doc(wim_model *m, const wim_options *o, const char *doc, int n_q, seen *r)
{
    static const char *const questions[] = {"Who kept the lamp?", "What was sold?"};
    char err[512];
    memset(r, 0, sizeof *r);
    r->s = wim_session_new(m, o, err, sizeof err);
    if (!r->s) fail_msg("%s", err);
    if (wim_session_run_many(r->s, doc, strlen(doc), questions, n_q, on_event, r) != 0)
        fail_msg("%s", wim_session_error(r->s));
}

/* ============================================================================
 * The window
 * ========================================================================= */

/* A document 20 times the context: read to the end, every segment's margin
 * written, sequence 0 never past the window, every window starting after the
 * last one. Every margin is kept, and this model's are alike: each text goes
 * into the answer once, or the notes of 300 segments would pass the room
 * sized for them. Restarted, each window starts where the last one's segments
 * ended; shifted, nothing is carried in the cache. */
static void read_twenty_times_the_context(bool shift, seen *r)
{
    char *doc = made_document(20 * CTX);
    wim_options o;
    options(&o);
    o.assume_relevant = true;
    o.segment_tokens = 64;
    o.window_shift = shift;
    read_doc(qwen, &o, doc, 1, r);
    int tokens = r->s->doc.tok.n;
    assert_true(tokens >= 20 * CTX);
    assert_int_equal(r->n_margins, r->n_segments);
    assert_true(r->done_window > 0 && r->done_window < CTX);
    assert_int_equal(r->done_window, r->s->window);
    assert_true(r->most_cells <= r->done_window);
    assert_true(r->n_windows >= tokens / CTX);
    for (int k = 1; k < r->n_windows; k++)
        assert_true(r->window_from[k] > r->window_from[k - 1]);
    assert_int_equal(r->done_let_go, r->window_from[r->n_windows - 1]);
    assert_true(r->s->st.n_ctx <= CTX);
    assert_true(shift ? r->carried_tokens_most == 0 : r->carried_tokens_most > 0);
    free(doc);
}

static void test_a_document_twenty_times_the_context(void **state)
{
    (void)state;
    seen r;
    read_twenty_times_the_context(false, &r);
    wim_session_free(r.s);
}

/* Shifted and restarted, the same segments are read, each whole and once,
 * with a margin each; shifted, more of the latest stay in view, so its
 * windows move on by fewer segments at a time. */
static void test_shift_and_restart_read_the_same(void **state)
{
    (void)state;
    static seen restarted, shifted;
    read_twenty_times_the_context(false, &restarted);
    read_twenty_times_the_context(true, &shifted);
    assert_int_equal(shifted.n_segments, restarted.n_segments);
    for (int i = 0; i < restarted.n_segments; i++)
        assert_int_equal(shifted.seg_tokens[i], restarted.seg_tokens[i]);
    assert_int_equal(shifted.n_margins, restarted.n_margins);
    assert_true(shifted.n_windows > restarted.n_windows);
    wim_session_free(restarted.s);
    wim_session_free(shifted.s);
}

/* A document that fits is read whole, unless a window is asked for. */
static void test_a_window_only_past_the_context_unless_asked(void **state)
{
    (void)state;
    char *doc = made_document(300);
    wim_options o;
    options(&o);
    seen r;
    read_doc(qwen, &o, doc, 1, &r);
    assert_int_equal(r.n_windows, 0);
    assert_int_equal(r.done_window, 0);
    wim_session_free(r.s);

    o.window = 300;
    o.segment_tokens = 48;
    read_doc(qwen, &o, doc, 1, &r);
    assert_true(r.n_windows > 0);
    assert_int_equal(r.done_window, 300);
    assert_true(r.most_cells <= 300);
    wim_session_free(r.s);
    free(doc);
}

/* Off, or in another mode, a document past the context is refused as before. */
static void test_past_the_context_refused_when_off(void **state)
{
    (void)state;
    char *doc = made_document(4 * CTX);
    wim_options o;
    options(&o);
    o.window = WIM_WINDOW_OFF;
    char err[512];
    wim_session *s = wim_session_new(qwen, &o, err, sizeof err);
    assert_non_null(s);
    const char *q = "Who?";
    assert_int_equal(wim_session_run_many(s, doc, strlen(doc), &q, 1, on_event, &(seen){.s = s}),
                     -1);
    assert_non_null(strstr(wim_session_error(s), "more than the context limit"));
    wim_session_free(s);
    free(doc);
}

/* Only the last window is in memory: nothing whole to store or to ask. */
static void test_a_document_read_past_the_context_is_not_stored(void **state)
{
    (void)state;
    char *doc = made_document(3 * CTX);
    wim_options o;
    options(&o);
    seen r;
    read_doc(qwen, &o, doc, 1, &r);
    assert_true(r.n_windows > 0);
    assert_int_equal(wim_session_save_doc(r.s, "/tmp/wim-window-never"), -1);
    assert_non_null(strstr(wim_session_error(r.s), "past the context"));
    const char *q = "Who?";
    assert_int_equal(wim_session_ask(r.s, &q, 1, on_event, &r), -1);
    wim_session_free(r.s);
    free(doc);
}

/* ============================================================================
 * The notes carried on
 * ========================================================================= */

/* Two questions, verdicts injected (YES, YES, NO, ...), notes over a small
 * budget: each let go is the weakest carried (checked as it happens), the
 * notes never pass the budget, and each answer is fed by exactly the kept
 * margins not let go, in document order. */
static void weakest_let_go(bool shift)
{
    char *doc = made_document(4 * CTX);
    wim_options o;
    options(&o);
    o.window_shift = shift;
    o.carry_tokens = 64;
    o.schedule = WIM_SCHEDULE_OVERLAP;
    o.fixed_length = true; /* every margin has text, so every YES is carried */
    assert_int_equal(setenv("WIM_TEST_VERDICTS", "YES#a|YES#b|NO#c", 1), 0);
    seen r;
    read_doc(phi, &o, doc, 2, &r);
    unsetenv("WIM_TEST_VERDICTS");
    assert_true(r.n_windows >= 2);
    assert_true(r.margins_let_go > 0);
    assert_true(shift ? r.carried_tokens_most == 0
                      : r.carried_tokens_most > 0 && r.carried_tokens_most <= 64);
    for (int q = 0; q < 2; q++) {
        int n = 0;
        for (int i = 0; i < r.n_segments; i++)
            if (r.kept[q][i] && !r.let_go[q][i]) {
                assert_true(n < r.n_used[q]);
                assert_int_equal(r.used[q][n++], i);
            }
        assert_int_equal(n, r.n_used[q]);
    }
    wim_session_free(r.s);
    free(doc);
}

static void test_the_weakest_notes_are_let_go(void **state)
{
    (void)state;
    weakest_let_go(false);
}

static void test_the_weakest_notes_are_let_go_when_shifted(void **state)
{
    (void)state;
    weakest_let_go(true);
}

/* One-pass, each margin one of twelve notes (injected; a thirteenth says NO),
 * so that each text is written by several segments: what is let go is the
 * weakest carried text, with every kept copy of it (checked as it happens),
 * and no copy of it takes its place. */
static void test_a_text_let_go_goes_with_its_copies(void **state)
{
    (void)state;
    char *doc = made_document(4 * CTX), verdicts[1024] = "NO#none";
    for (int k = 0; k < 12; k++) {
        size_t at = strlen(verdicts);
        snprintf(verdicts + at, sizeof verdicts - at,
                 "|YES#%c keeper sold the grey timber to the old market", 'a' + k);
    }
    wim_options o;
    options(&o);
    o.classify = WIM_CLASSIFY_ONE_PASS;
    o.carry_tokens = 64;
    o.fixed_length = true;
    assert_int_equal(setenv("WIM_TEST_VERDICTS", verdicts, 1), 0);
    seen r;
    read_doc(phi, &o, doc, 2, &r);
    unsetenv("WIM_TEST_VERDICTS");
    assert_true(r.n_windows >= 2);
    assert_true(r.n_copies_let_go > 0);
    assert_true(r.carried_tokens_most > 0 && r.carried_tokens_most <= 64);
    wim_session_free(r.s);
    free(doc);
}

/* A lamp's sentence, quoted by every third margin. */
#define LAMP "A lamp burned all night by the harbour wall."

/* One-pass, the margins injected: NO, SAID, LAMP, and so on; the document
 * says SAID (and LAMP with lamp_said) every few sentences; the notes within
 * carry_tokens. */
static void read_a_text_again(int carry_tokens, bool lamp_said, seen *r)
{
    char *doc = made_document_with(3 * CTX, lamp_said ? SAID " " LAMP : SAID);
    wim_options o;
    options(&o);
    o.classify = WIM_CLASSIFY_ONE_PASS;
    o.carry_tokens = carry_tokens;
    assert_int_equal(setenv("WIM_TEST_VERDICTS", "NO#none|YES# " SAID "|YES# " LAMP, 1), 0);
    read_doc(phi, &o, doc, 1, r);
    unsetenv("WIM_TEST_VERDICTS");
    assert_true(r->n_windows >= 1);
    free(doc);
}

/* Past the context each kept text is listed once: the one said nowhere (as
 * a window's margin repeating a note carried) at its first copy, the one
 * read again (a person back at a place) at its last, so that it stays the
 * latest of the notes. */
static void test_a_text_read_again_is_listed_where_it_came_last(void **state)
{
    (void)state;
    seen r;
    read_a_text_again(0, false, &r);
    int last_said = -1; /* the last margin quoting it with it in view */
    for (int i = 1; i < r.n_segments; i += 3) {
        const wim_doc *d = &r.s->doc;
        size_t from = d->spans[window_of(&r, i)].start;
        char *shown = strndup(d->text + from, d->spans[i].start + d->spans[i].len - from);
        assert_non_null(shown);
        if (strstr(shown, SAID)) last_said = i;
        free(shown);
    }
    assert_true(r.margins_let_go == 0 && last_said > 2);
    assert_int_equal(r.n_listed, 2);
    assert_int_equal(r.listed[0], 2);
    assert_int_equal(r.listed[1], last_said);
    wim_session_free(r.s);
}

/* Both said again, both listed at their last copies; over a budget that
 * holds one of them, the weaker goes with every kept copy, the ones before
 * its listed copy too (checked as it happens). */
static void test_a_text_read_again_goes_with_its_earlier_copies(void **state)
{
    (void)state;
    seen r;
    read_a_text_again(32, true, &r);
    assert_true(r.n_copies_let_go > 0 && r.carried_tokens_most > 0);
    wim_session_free(r.s);
}

static int setup(void **state)
{
    (void)state;
    char err[512];
    qwen = wim_model_load(WIM_TEST_MODELS "/tiny-qwen2.gguf", NULL, err, sizeof err);
    phi = wim_model_load(WIM_TEST_MODELS "/tiny-phi3.gguf", NULL, err, sizeof err);
    if (!qwen || !phi) fprintf(stderr, "%s\n", err);
    return qwen && phi ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    wim_model_free(qwen);
    wim_model_free(phi);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_document_twenty_times_the_context),
        cmocka_unit_test(test_shift_and_restart_read_the_same),
        cmocka_unit_test(test_a_window_only_past_the_context_unless_asked),
        cmocka_unit_test(test_past_the_context_refused_when_off),
        cmocka_unit_test(test_a_document_read_past_the_context_is_not_stored),
        cmocka_unit_test(test_the_weakest_notes_are_let_go),
        cmocka_unit_test(test_the_weakest_notes_are_let_go_when_shifted),
        cmocka_unit_test(test_a_text_let_go_goes_with_its_copies),
        cmocka_unit_test(test_a_text_read_again_is_listed_where_it_came_last),
        cmocka_unit_test(test_a_text_read_again_goes_with_its_earlier_copies),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
