/*
 * test_decisions.c - what the engine does with verdicts, on answers injected
 * through the test seam (WIM_TEST_VERDICTS, src/seam.h), since the made
 * models never write one that parses: kept margins and only they feed the
 * answer and its prompt, rag reads only the segments it keeps, a one-pass
 * margin stops at once on NO# and goes on after YES#, a malformed verdict
 * counts as not relevant, assume_relevant keeps every margin, and
 * quoted_margins drops, unjudged, every margin the document does not say.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tiny.h"

#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_SEG = 16 };

static const char doc[] = "The pier was closed in May. The keeper moved north to Orrin. "
                          "Barges still came with salt and rye. The mill at Tessaly burned. "
                          "A new keeper arrived in June and opened the pier again. "
                          "Gulls nested on the roof of the old customs house. "
                          "The ferry to Amsel ran twice a week that summer. ";

/* ----------------------------------------------------------------------------
 * What a run decided
 * ------------------------------------------------------------------------- */

typedef struct seen {
    wim_session *s;
    int n_segments;
    wim_strbuf margin[MAX_SEG], verdict[MAX_SEG], reason[MAX_SEG];
    int margin_tokens[MAX_SEG];
    bool relevant[MAX_SEG], parsed[MAX_SEG];
    bool read[MAX_SEG]; /* a SEGMENT event came: the segment is in the cache */
    int read_tokens;    /* their tokens */
    int used[MAX_SEG], n_used;
    wim_strbuf prompt;   /* the answer prompt as text, when the answer began */
    wim_strbuf notes;    /* "- note" lines of the expected margins' notes, then */
    llama_pos doc_cells; /* cells of sequence 0 then: preamble and what was read */
    llama_pos pre_cells; /* the preamble's */
    const bool *keep;    /* which margins are expected to feed the answer */
    wim_stats done;
} seen;

/* The answer job's prompt tokens as text, and the notes of the margins in
 * s->keep as join_notes writes them, while its first piece is streamed. */
static void take_prompt(seen *r)
{
    const wim_session *s = r->s;
    for (int i = 0; i < s->n_jobs; i++) {
        const wim_job *j = &s->jobs[i];
        if (j->kind != WIM_JOB_ANSWER) continue;
        char text[1 << 15];
        int n =
            llama_detokenize(model->vocab, j->feed.v, j->n_prompt, text, sizeof text, false, true);
        assert_true(n > 0);
        wim_strbuf_append(&r->prompt, text, (size_t)n);
    }
    for (int i = 0; r->keep && i < s->doc.n; i++) {
        if (!r->keep[i]) continue;
        if (r->notes.len) wim_strbuf_puts(&r->notes, "\n");
        wim_strbuf_puts(&r->notes, "- ");
        wim_strbuf_puts(&r->notes, wim_strbuf_str(&s->notes[i].text));
    }
    r->doc_cells = s->doc.n_past;
    r->pre_cells = s->doc.pre.n;
}

static int on_event(const wim_event *ev, void *user)
{
    seen *r = user;
    int i = ev->segment;
    assert_true(ev->n_segments <= MAX_SEG);
    r->n_segments = ev->n_segments;
    if (ev->type == WIM_EVENT_MARGIN) {
        wim_strbuf_puts(&r->margin[i], ev->text);
        r->margin_tokens[i] = ev->n_tokens;
    }
    if (ev->type == WIM_EVENT_VERDICT) {
        wim_strbuf_puts(&r->verdict[i], ev->text);
        wim_strbuf_puts(&r->reason[i], ev->reason ? ev->reason : "");
        r->relevant[i] = ev->relevant;
        r->parsed[i] = ev->parsed;
    }
    if (ev->type == WIM_EVENT_SEGMENT) {
        r->read[i] = true;
        r->read_tokens += ev->n_tokens;
    }
    if (ev->type == WIM_EVENT_ANSWER_TOKEN && r->prompt.len == 0) take_prompt(r);
    if (ev->type == WIM_EVENT_ANSWER) {
        r->n_used = ev->n_used;
        memcpy(r->used, ev->used, (size_t)ev->n_used * sizeof *ev->used);
    }
    if (ev->type == WIM_EVENT_DONE) r->done = *ev->stats;
    return WIM_CONTINUE;
}

static void seen_free(seen *r)
{
    for (int i = 0; i < MAX_SEG; i++) {
        wim_strbuf_free(&r->margin[i]);
        wim_strbuf_free(&r->verdict[i]);
        wim_strbuf_free(&r->reason[i]);
    }
    wim_strbuf_free(&r->prompt);
    wim_strbuf_free(&r->notes);
}

static void options(wim_options *o, wim_mode mode, wim_classify classify)
{
    wim_options_default(o);
    o->mode = mode;
    o->classify = classify;
    o->n_threads = 2;
    o->segment_tokens = 16;
    o->max_margin_tokens = 10;
    o->max_answer_tokens = 4;
    o->fixed_length = true; /* every margin and answer has text */
}

/* Runs doc with verdicts injected; keep (or NULL) is what should feed the answer. */
static void run(seen *r, const wim_options *o, const char *verdicts, const bool *keep)
{
    char err[256];
    memset(r, 0, sizeof *r);
    r->keep = keep;
    r->s = wim_session_new(model, o, err, sizeof err);
    assert_non_null(r->s);
    assert_int_equal(setenv("WIM_TEST_VERDICTS", verdicts, 1), 0);
    int rc = wim_session_run(r->s, doc, sizeof doc - 1, "Who opened the pier?", on_event, r);
    unsetenv("WIM_TEST_VERDICTS");
    if (rc != 0) fail_msg("run: %s", wim_session_error(r->s));
    wim_session_free(r->s);
    assert_true(r->n_segments >= 6); /* two rounds of three answers */
    assert_true(r->prompt.len > 0);
}

/* The answer's used list is exactly the segments in keep. */
static void assert_used(const seen *r, const bool *keep)
{
    int k = 0;
    for (int i = 0; i < r->n_segments; i++)
        if (keep[i]) {
            assert_true(k < r->n_used);
            assert_int_equal(r->used[k++], i);
        }
    assert_int_equal(r->n_used, k);
}

/* The prompt of a run where nothing was kept, with "(none)" for the notes. */
static void prompt_without_notes(const wim_options *o, wim_strbuf *out)
{
    seen none;
    run(&none, o, "NO#", NULL);
    assert_int_equal(none.n_used, 0);
    assert_non_null(strstr(wim_strbuf_str(&none.prompt), "(none)"));
    wim_strbuf_puts(out, wim_strbuf_str(&none.prompt));
    seen_free(&none);
}

/* r's answer prompt is the empty one with its "(none)" replaced by r's notes. */
static void assert_prompt_holds_notes(const seen *r, const char *empty)
{
    const char *at = strstr(empty, "(none)");
    wim_strbuf want = {0};
    wim_strbuf_append(&want, empty, (size_t)(at - empty));
    wim_strbuf_puts(&want, wim_strbuf_str(&r->notes));
    wim_strbuf_puts(&want, at + strlen("(none)"));
    assert_string_equal(wim_strbuf_str(&r->prompt), wim_strbuf_str(&want));
    wim_strbuf_free(&want);
}

/* ----------------------------------------------------------------------------
 * Two-pass
 * ------------------------------------------------------------------------- */

static void test_two_pass_keeps_yes_and_drops_no_and_malformed(void **state)
{
    (void)state;
    wim_options o;
    options(&o, WIM_MODE_WIM, WIM_CLASSIFY_TWO_PASS);
    wim_strbuf empty = {0};
    prompt_without_notes(&o, &empty);
    static const char *const answers[3] = {"YES#kept", "NO#dropped", "perhaps"};
    bool keep[MAX_SEG] = {false};
    for (int i = 0; i < MAX_SEG; i++)
        keep[i] = i % 3 == 0;
    seen r;
    run(&r, &o, "YES#kept|NO#dropped|perhaps", keep);
    for (int i = 0; i < r.n_segments; i++) {
        assert_string_equal(wim_strbuf_str(&r.verdict[i]), answers[i % 3]);
        assert_int_equal(r.relevant[i], i % 3 == 0);
        assert_int_equal(r.parsed[i], i % 3 != 2); /* "perhaps" is neither: not relevant */
        assert_true(r.margin[i].len > 0);
    }
    assert_string_equal(wim_strbuf_str(&r.reason[0]), "kept");
    assert_int_equal(r.done.n_relevant, (r.n_segments + 2) / 3);
    assert_used(&r, keep);
    assert_prompt_holds_notes(&r, wim_strbuf_str(&empty));
    seen_free(&r);
    wim_strbuf_free(&empty);
}

static void test_assume_relevant_keeps_every_margin(void **state)
{
    (void)state;
    bool all[MAX_SEG];
    for (int i = 0; i < MAX_SEG; i++)
        all[i] = true;
    for (int c = 0; c < 2; c++) {
        wim_options o;
        options(&o, WIM_MODE_WIM, c ? WIM_CLASSIFY_ONE_PASS : WIM_CLASSIFY_TWO_PASS);
        o.assume_relevant = true;
        seen r;
        run(&r, &o, "NO#dropped|perhaps", all);
        for (int i = 0; i < r.n_segments; i++)
            assert_false(r.relevant[i]); /* the verdicts say no; the option overrides them */
        assert_int_equal(r.done.n_relevant, r.n_segments);
        assert_used(&r, all);
        assert_null(strstr(wim_strbuf_str(&r.prompt), "(none)"));
        assert_non_null(strstr(wim_strbuf_str(&r.prompt), wim_strbuf_str(&r.notes)));
        seen_free(&r);
    }
}

/* With quoted_margins a margin whose note the text it was shown does not say
 * word for word is dropped before any verdict. One-pass, every margin quotes
 * the last sentence, so only the last segment's is kept (all are without
 * it); two-pass, the made model's margins quote nothing, so no verdict is
 * asked for (the injected YES is never read) and none is kept. */
static void test_quoted_margins_keep_only_what_the_document_says(void **state)
{
    (void)state;
    bool last[MAX_SEG] = {false}, all[MAX_SEG];
    for (int i = 0; i < MAX_SEG; i++)
        all[i] = true;
    for (int c = 0; c < 3; c++) {
        wim_options o;
        options(&o, WIM_MODE_WIM, c < 2 ? WIM_CLASSIFY_ONE_PASS : WIM_CLASSIFY_TWO_PASS);
        o.max_margin_tokens = 6; /* all of it injected: "YES# The ferry to..." */
        o.quoted_margins = c > 0;
        seen r;
        run(&r, &o, c < 2 ? "YES# The ferry to Amsel ran twice a week." : "YES#kept",
            c == 0   ? all
            : c == 1 ? last
                     : NULL);
        last[r.n_segments - 1] = true;
        for (int i = 0; i < r.n_segments; i++) {
            bool kept = c == 0 || (c == 1 && last[i]);
            assert_int_equal(r.relevant[i], kept);
            if (kept) continue;
            assert_string_equal(wim_strbuf_str(&r.reason[i]), "not quoted from the document");
            assert_string_equal(wim_strbuf_str(&r.verdict[i]), "");
            assert_false(r.parsed[i]);
        }
        if (c < 2)
            assert_used(&r, c == 0 ? all : last);
        else
            assert_non_null(strstr(wim_strbuf_str(&r.prompt), "(none)"));
        seen_free(&r);
    }
}

/* ----------------------------------------------------------------------------
 * One-pass
 * ------------------------------------------------------------------------- */

static int tokens_of(const char *text)
{
    return wim_model_count_tokens(model, text, strlen(text));
}

static void check_one_pass(wim_schedule schedule)
{
    wim_options o;
    options(&o, WIM_MODE_WIM, WIM_CLASSIFY_ONE_PASS);
    o.schedule = schedule;
    bool keep[MAX_SEG] = {false};
    for (int i = 0; i < MAX_SEG; i++)
        keep[i] = i % 3 == 1;
    seen r;
    run(&r, &o, "NO#|YES#kept|maybe", keep);
    for (int i = 0; i < r.n_segments; i++) {
        const char *m = wim_strbuf_str(&r.margin[i]);
        assert_string_equal(wim_strbuf_str(&r.verdict[i]), m); /* the margin is the verdict */
        assert_int_equal(r.relevant[i], i % 3 == 1);
        assert_int_equal(r.parsed[i], i % 3 != 2);
        if (i % 3 == 0) { /* NO#: the injected tokens and not one more */
            assert_string_equal(m, "NO#");
            assert_int_equal(r.margin_tokens[i], tokens_of("NO#"));
        } else { /* YES# (or undecided): the model writes on to the limit */
            const char *start = i % 3 == 1 ? "YES#kept" : "maybe";
            assert_memory_equal(m, start, strlen(start));
            assert_int_equal(r.margin_tokens[i], o.max_margin_tokens);
            assert_true(tokens_of(start) < o.max_margin_tokens);
        }
    }
    assert_used(&r, keep);
    /* a kept one-pass margin's note is what follows YES# */
    const char *p = wim_strbuf_str(&r.prompt);
    int notes = 0;
    for (const char *at = strstr(p, "- kept"); at; at = strstr(at + 1, "- kept"))
        notes++;
    assert_int_equal(notes, (r.n_segments + 1) / 3);
    assert_non_null(strstr(p, wim_strbuf_str(&r.notes)));
    seen_free(&r);
}

static void test_one_pass_stops_at_once_on_no(void **state)
{
    (void)state;
    check_one_pass(WIM_SCHEDULE_SEQUENTIAL);
    check_one_pass(WIM_SCHEDULE_OVERLAP);
}

/* ----------------------------------------------------------------------------
 * Rag
 * ------------------------------------------------------------------------- */

static void test_rag_reads_only_the_segments_it_keeps(void **state)
{
    (void)state;
    wim_options o;
    options(&o, WIM_MODE_RAG, WIM_CLASSIFY_TWO_PASS);
    seen r;
    run(&r, &o, "NO#|YES#|?", NULL);
    int kept = 0;
    for (int i = 0; i < r.n_segments; i++) {
        assert_int_equal(r.relevant[i], i % 3 == 1);
        assert_int_equal(r.read[i], i % 3 == 1);
        kept += i % 3 == 1;
    }
    assert_int_equal(r.done.n_relevant, kept);
    /* the answer began after the preamble and exactly the kept segments */
    assert_int_equal(r.doc_cells, r.pre_cells + r.read_tokens);
    assert_true(r.read_tokens > 0);
    seen_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_pass_keeps_yes_and_drops_no_and_malformed),
        cmocka_unit_test(test_assume_relevant_keeps_every_margin),
        cmocka_unit_test(test_quoted_margins_keep_only_what_the_document_says),
        cmocka_unit_test(test_one_pass_stops_at_once_on_no),
        cmocka_unit_test(test_rag_reads_only_the_segments_it_keeps),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
