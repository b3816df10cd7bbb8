/*
 * test_reader.c - wim read by a model that reads: the reader trained for wim's
 * prompts (tools/reader/, docs/reader.md), whose logits are decisive, so that
 * what it writes can be checked as text.
 *
 * A short story of filler with facts about two people in its later segments,
 * none of whose names or sentences the reader was trained on, nor its places
 * but "lighthouse" (a word of the filler, so a place of the training's tail).
 * For each question the segments before its person's first fact get margins
 * that are dropped; from that segment on the margins quote the latest fact so
 * far and are kept; the answer is the place of the last. So in every schedule
 * and verdict pass, for two questions at once, from a stored document, and
 * through the server's /v1/wim and /v1/chat/completions; and read in a window
 * smaller than the story, restarted or shifted, the answers are still right,
 * and a person back at a place in a later window is found there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http.h"
#include "strbuf.h"
#include "wim.h"

#define READER WIM_SOURCE_DIR "/tools/reader/reader.gguf"

static wim_model *model;

/* What the story says, and where. */
static const char story[] =
    "The bridge over the river was built of grey stone. Its three arches had stood for two "
    "hundred years. Carts crossed it every morning on the way to the market. The toll keeper "
    "counted them in a worn book. In winter the river rose and the arches filled with water. "
    "The children of the town liked to throw sticks from the middle arch. Nobody could say who "
    "had laid the first stone. Mara went to the lighthouse. A painter came each spring to draw "
    "the bridge from the bank. His pictures hung in the inn beside the fire. The inn keeper "
    "said they were worth more than the inn. Tobin walked to the boathouse. Fishermen mended "
    "their nets under the arches when it rained. The smell of tar hung over the water all "
    "summer. Mara travelled to the orchard. The bells of the chapel rang at noon and at dusk. "
    "By evening the carts had gone home and the bridge was quiet again.";
static const char *const questions[] = {"Where is Mara?", "Where is Tobin?"};
static const char *const facts[2][2] = {
    {"Mara went to the lighthouse.", "Mara travelled to the orchard."},
    {"Tobin walked to the boathouse.", NULL}};
static const char *const places[] = {"orchard", "boathouse"};

enum { MAX_Q = 2, MAX_SEG = 32 };

typedef struct reading {
    wim_strbuf margin[MAX_Q][MAX_SEG];
    bool relevant[MAX_Q][MAX_SEG];
    wim_strbuf answer[MAX_Q];
    int n_segments;
    int n_segments_let_go;
} reading;

static int collect(const wim_event *ev, void *user)
{
    reading *r = user;
    r->n_segments = ev->n_segments;
    if (ev->type == WIM_EVENT_MARGIN)
        wim_strbuf_puts(&r->margin[ev->question][ev->segment], ev->text);
    if (ev->type == WIM_EVENT_VERDICT) r->relevant[ev->question][ev->segment] = ev->relevant;
    if (ev->type == WIM_EVENT_ANSWER) wim_strbuf_puts(&r->answer[ev->question], ev->text);
    if (ev->type == WIM_EVENT_DONE) r->n_segments_let_go = ev->stats->n_segments_let_go;
    return WIM_CONTINUE;
}

static void reading_free(reading *r)
{
    for (int q = 0; q < MAX_Q; q++) {
        for (int i = 0; i < MAX_SEG; i++)
            wim_strbuf_free(&r->margin[q][i]);
        wim_strbuf_free(&r->answer[q]);
    }
    memset(r, 0, sizeof *r);
}

static void options(wim_options *o)
{
    wim_options_default(o);
    o->n_threads = 1;
    o->segment_tokens = 64;
    o->max_margin_tokens = 24;
    o->max_answer_tokens = 8;
}

static void read_text(const char *text, const char *const *qs, const wim_options *o, int n_q,
                      reading *r, const char *save_to)
{
    char err[512];
    wim_session *s = wim_session_new(model, o, err, sizeof err);
    if (!s) fail_msg("%s", err);
    memset(r, 0, sizeof *r);
    if (wim_session_run_many(s, text, strlen(text), qs, n_q, collect, r) != 0)
        fail_msg("%s", wim_session_error(s));
    if (save_to && wim_session_save_doc(s, save_to) != 0)
        fail_msg("save: %s", wim_session_error(s));
    wim_session_free(s);
}

static void read_story(const wim_options *o, int n_q, reading *r, const char *save_to)
{
    read_text(story, questions, o, n_q, r, save_to);
}

/* Question q's margins: dropped, quoting no fact, until its person's first
 * fact; then each the latest fact so far, quoted, and kept; the last one the
 * last fact. */
static void expect_margins(const reading *r, int q)
{
    int first = -1;
    for (int i = 0; i < r->n_segments; i++) {
        const char *m = wim_strbuf_str(&r->margin[q][i]);
        bool quotes = strstr(m, facts[q][0]) || (facts[q][1] && strstr(m, facts[q][1]));
        if (first < 0 && r->relevant[q][i]) first = i;
        if (first < 0 && quotes) fail_msg("q%d segment %d, before any fact, wrote '%s'", q, i, m);
        if (first >= 0 && (!quotes || !r->relevant[q][i]))
            fail_msg("q%d segment %d: '%s' (%s)", q, i, m, r->relevant[q][i] ? "kept" : "dropped");
    }
    assert_true(first > 0);
    const char *last = facts[q][1] ? facts[q][1] : facts[q][0];
    assert_non_null(strstr(wim_strbuf_str(&r->margin[q][r->n_segments - 1]), last));
}

static void expect_answers(const reading *r, int n_q)
{
    for (int q = 0; q < n_q; q++)
        if (!strstr(wim_strbuf_str(&r->answer[q]), places[q]))
            fail_msg("q%d answered '%s', not %s", q, wim_strbuf_str(&r->answer[q]), places[q]);
}

static void expect_read_right(wim_classify classify, wim_schedule schedule, int n_q)
{
    wim_options o;
    options(&o);
    o.classify = classify;
    o.schedule = schedule;
    reading r;
    read_story(&o, n_q, &r, NULL);
    assert_true(r.n_segments >= 4);
    for (int q = 0; q < n_q; q++)
        expect_margins(&r, q);
    expect_answers(&r, n_q);
    reading_free(&r);
}

static void test_two_pass_sequential(void **state)
{
    (void)state;
    expect_read_right(WIM_CLASSIFY_TWO_PASS, WIM_SCHEDULE_SEQUENTIAL, 1);
}

static void test_one_pass_overlapped(void **state)
{
    (void)state;
    expect_read_right(WIM_CLASSIFY_ONE_PASS, WIM_SCHEDULE_OVERLAP, 1);
}

static void test_two_questions_at_once(void **state)
{
    (void)state;
    expect_read_right(WIM_CLASSIFY_TWO_PASS, WIM_SCHEDULE_OVERLAP, 2);
}

/* Past the window the margins see the notes carried rather than the segments
 * let go, so they are not checked one by one; the answers must still be the
 * last facts', whether the window restarts from the notes or shifts on. */
static void expect_read_right_in_a_window(bool shift)
{
    wim_options o;
    options(&o);
    o.window = 256;
    o.window_shift = shift;
    reading r;
    read_story(&o, 2, &r, NULL);
    assert_true(r.n_segments_let_go > 0);
    expect_answers(&r, 2);
    reading_free(&r);
}

static void test_past_the_window_restarted(void **state)
{
    (void)state;
    expect_read_right_in_a_window(false);
}

static void test_past_the_window_shifted(void **state)
{
    (void)state;
    expect_read_right_in_a_window(true);
}

/* A person back at a place past the window: after the story, in a later
 * window than her orchard, Mara goes to the lighthouse again, and a window
 * of filler follows, so that the answer has the move from the notes alone.
 * They carry that text once, listed where a margin last quoted it from the
 * document, so the answer is the lighthouse (listed at its first copy, before
 * the orchard, it would be the orchard); with quoted margins too. */
static void test_back_at_a_place_past_the_window(void **state)
{
    (void)state;
    static const char after[] =
        " The next day a storm came in from the sea. The boats stayed in the harbour and the "
        "market was closed. The keeper's lamp burned until morning. When the storm passed the "
        "town came out to see the damage. Two of the arches had lost stones, and the toll keeper "
        "wrote it all down in his book. The mason from the next valley was sent for, and he came "
        "with his sons and a cart of lime. Mara went to the lighthouse. They worked for a week "
        "while the carts went round by the ford. The children watched from the bank and were "
        "told to keep away. When the work was done the council paid the mason in silver and gave "
        "a supper at the inn. The painter drew the new stones, paler than the old ones, and said "
        "they would darken in a few winters. By the next market day the carts crossed the bridge "
        "again as if nothing had happened. The toll keeper bought a new book, for the old one "
        "was full. In the spring the river ran high but the arches held. The inn keeper hung a "
        "new picture by the fire. The bells of the chapel rang for a wedding that summer.";
    char text[sizeof story + sizeof after];
    snprintf(text, sizeof text, "%s%s", story, after);
    for (int quoted = 0; quoted < 2; quoted++) {
        wim_options o;
        options(&o);
        o.window = 384;
        o.quoted_margins = quoted;
        reading r;
        read_text(text, questions, &o, 1, &r, NULL);
        assert_true(r.n_segments_let_go > 0);
        if (!strstr(wim_strbuf_str(&r.answer[0]), "lighthouse"))
            fail_msg("answered '%s' (quoted margins %d)", wim_strbuf_str(&r.answer[0]), quoted);
        reading_free(&r);
    }
}

/* A name the reader copies badly: asked about Gideon, its margins loop on
 * " Gidhehe..." wherever he is not, and in his own segment write " Gidhe went
 * to the cellar.", which is dropped as no quote. With quoted margins held to
 * the text they quote, that margin and the later ones are his sentence, kept;
 * the answer is right either way (it reads the segments too). */
static void test_quoted_margins_copy_a_name_whole(void **state)
{
    (void)state;
    static const char fact[] = "Gideon went to the cellar.";
    char text[sizeof story + sizeof fact];
    const char *at = strstr(story, facts[1][0]);
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - story), story, fact,
             at + strlen(facts[1][0]));
    static const char *const gideon[] = {"Where is Gideon?"};
    wim_options o;
    options(&o);
    o.quoted_margins = true;
    reading r;
    read_text(text, gideon, &o, 1, &r, NULL);
    int kept = 0;
    for (int i = 0; i < r.n_segments; i++) {
        const char *m = wim_strbuf_str(&r.margin[0][i]);
        bool quotes = strstr(m, fact) != NULL;
        if (quotes != r.relevant[0][i] || (kept > 0 && !quotes))
            fail_msg("segment %d: '%s' (%s)", i, m, r.relevant[0][i] ? "kept" : "dropped");
        kept += quotes;
    }
    assert_true(kept > 0);
    if (!strstr(wim_strbuf_str(&r.answer[0]), "cellar"))
        fail_msg("answered '%s'", wim_strbuf_str(&r.answer[0]));
    reading_free(&r);
}

/* Within the context the answer's notes are in document order, each where the
 * document says it: margins after Mara's orchard that quote her lighthouse
 * again (as the reader now and then does, taking an earlier move for the
 * latest) sit with the lighthouse, before the orchard, and the answer is the
 * orchard; listed by their segments, they came last and it was the
 * lighthouse. The margins are injected (one-pass) where a plain reading
 * found each fact. */
static void test_a_fact_quoted_again_stays_where_it_was_said(void **state)
{
    (void)state;
    static const char more[] = " The next day a storm came in from the sea. The boats stayed "
                               "in the harbour and the market was closed. The keeper's lamp "
                               "burned until morning. When the storm passed the town came out "
                               "to see the damage.";
    char text[sizeof story + sizeof more];
    snprintf(text, sizeof text, "%s%s", story, more);
    wim_options o;
    options(&o);
    o.classify = WIM_CLASSIFY_ONE_PASS;
    reading r;
    read_text(text, questions, &o, 1, &r, NULL);
    int at[2] = {-1, -1}; /* the segments of Mara's two facts: where margins first quote them */
    for (int i = 0; i < r.n_segments; i++)
        for (int k = 0; k < 2; k++)
            if (at[k] < 0 && strstr(wim_strbuf_str(&r.margin[0][i]), facts[0][k])) at[k] = i;
    int n = r.n_segments;
    reading_free(&r);
    assert_true(at[0] >= 0 && at[0] < at[1] && at[1] + 1 < n);
    wim_strbuf v = {0};
    for (int i = 0; i < n; i++) {
        wim_strbuf_puts(&v, i ? "|" : "");
        if (i < at[0])
            wim_strbuf_puts(&v, "NO#none");
        else
            wim_strbuf_puts(&v, "YES# "), wim_strbuf_puts(&v, facts[0][i == at[1]]);
    }
    assert_int_equal(setenv("WIM_TEST_VERDICTS", wim_strbuf_str(&v), 1), 0);
    read_text(text, questions, &o, 1, &r, NULL);
    unsetenv("WIM_TEST_VERDICTS");
    for (int i = at[0]; i < n; i++)
        assert_string_equal(wim_strbuf_str(&r.margin[0][i]) + strlen("YES# "),
                            facts[0][i == at[1]]);
    if (!strstr(wim_strbuf_str(&r.answer[0]), "orchard"))
        fail_msg("answered '%s' from margins %s", wim_strbuf_str(&r.answer[0]), wim_strbuf_str(&v));
    wim_strbuf_free(&v);
    reading_free(&r);
}

/* Quoted answers: a story of wim-eval's qa1 (seed 2026, 400 tokens, example
 * 106, cut down to the sentences its slip needs), read as one segment. The
 * margin quotes Fenna's fact and is kept, but the answer, copying the pantry
 * again, took the filler's "the price" ("The price Gidday bell bell"; one-pass
 * "The price G."); held to its notes it goes on as the note does, in either
 * verdict pass. */
static void test_quoted_answers_copy_the_note(void **state)
{
    (void)state;
    static const char text[] =
        "After the midday bell, the innkeeper raked the coals. Gideon went to the laundry. The "
        "dawn was damp, and heavy clouds gathered across the fields. Casimir went to the "
        "laundry. Each morning, the smith fed the geese.\n\nThe price of honey fell by 16 "
        "percent that week. Fenna went to the pantry. ";
    static const char *const fenna[] = {"Where is Fenna?"};
    for (int pass = 0; pass < 2; pass++) {
        wim_options o;
        options(&o);
        o.segment_tokens = 400;
        o.classify = pass ? WIM_CLASSIFY_ONE_PASS : WIM_CLASSIFY_TWO_PASS;
        o.quoted_margins = o.quoted_answers = true;
        reading r;
        read_text(text, fenna, &o, 1, &r, NULL);
        assert_int_equal(r.n_segments, 1);
        assert_true(r.relevant[0][0]);
        assert_non_null(strstr(wim_strbuf_str(&r.margin[0][0]), "Fenna went to the pantry."));
        assert_string_equal(wim_strbuf_str(&r.answer[0]), "The pantry.");
        reading_free(&r);
    }
}

/* The reader's logits are decisive, so a stored document must write exactly
 * what a fresh reading writes (test_models compares random models' logits). */
static void test_a_stored_document_writes_the_same(void **state)
{
    (void)state;
    char path[] = "/tmp/wim-reader-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    wim_options o;
    options(&o);
    reading fresh, loaded = {0};
    read_story(&o, 2, &fresh, path);
    char err[512];
    wim_session *s = wim_session_new(model, &o, err, sizeof err);
    if (!s || wim_session_load_doc(s, path) != 0 ||
        wim_session_ask(s, questions, 2, collect, &loaded) != 0)
        fail_msg("%s", s ? wim_session_error(s) : err);
    wim_session_free(s);
    unlink(path);
    assert_int_equal(loaded.n_segments, fresh.n_segments);
    for (int q = 0; q < 2; q++) {
        for (int i = 0; i < fresh.n_segments; i++) {
            assert_string_equal(wim_strbuf_str(&loaded.margin[q][i]),
                                wim_strbuf_str(&fresh.margin[q][i]));
            assert_int_equal(loaded.relevant[q][i], fresh.relevant[q][i]);
        }
        assert_string_equal(wim_strbuf_str(&loaded.answer[q]), wim_strbuf_str(&fresh.answer[q]));
    }
    expect_answers(&loaded, 2);
    reading_free(&fresh);
    reading_free(&loaded);
}

/* ============================================================================
 * Through the server
 * ========================================================================= */

static int port;

/* The story and question q as a JSON string field's text. */
static char *request_body(const char *fmt, int q)
{
    cJSON *doc = cJSON_CreateString(story), *query = cJSON_CreateString(questions[q]);
    char *d = cJSON_PrintUnformatted(doc), *qq = cJSON_PrintUnformatted(query);
    size_t n = strlen(fmt) + strlen(d) + strlen(qq) + 1;
    char *body = malloc(n);
    snprintf(body, n, fmt, d, qq);
    free(d), free(qq);
    cJSON_Delete(doc), cJSON_Delete(query);
    return body;
}

static void test_the_server_answers(void **state)
{
    (void)state;
    static const char *const extra[] = {"--min-document-tokens", "100", NULL};
    pid_t pid = start_server(WIM_BIN_DIR "/wim-server", READER, &port, extra);
    assert_true(pid > 0);

    char *body = request_body("{\"document\": %s, \"query\": %s, \"options\": "
                              "{\"segment_tokens\": 64, \"max_margin_tokens\": 24}}",
                              0);
    sse s = {.fd = http_send(port, "POST", "/v1/wim", NULL, body)};
    free(body);
    cJSON *done = sse_until(&s, "done");
    assert_non_null(done);
    const char *answer = cJSON_GetStringValue(cJSON_GetObjectItem(done, "answer"));
    if (!answer || !strstr(answer, places[0])) fail_msg("/v1/wim answered '%s'", answer);
    cJSON_Delete(done);
    close(s.fd);

    body =
        request_body("{\"model\": \"reader\", \"messages\": [{\"role\": \"system\", \"content\": "
                     "%s}, {\"role\": \"user\", \"content\": %s}], \"wim\": {\"options\": "
                     "{\"segment_tokens\": 64, \"max_margin_tokens\": 24}}}",
                     1);
    http_answer a = http(port, "POST", "/v1/chat/completions", NULL, body);
    free(body);
    assert_int_equal(a.status, 200);
    cJSON *j = cJSON_Parse(a.body);
    const cJSON *msg =
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "message");
    const char *content = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "content"));
    const char *margins = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "reasoning_content"));
    if (!content || !strstr(content, places[1])) fail_msg("chat answered: %s", a.body);
    assert_non_null(margins);
    assert_non_null(strstr(margins, facts[1][0]));
    cJSON_Delete(j);
    free(a.body);
    assert_int_equal(stop_server(pid), 0);
}

static int setup(void **state)
{
    (void)state;
    char err[512];
    model = wim_model_load(READER, NULL, err, sizeof err);
    if (!model) fprintf(stderr, "%s\n", err);
    return model ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    wim_model_free(model);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_pass_sequential),
        cmocka_unit_test(test_one_pass_overlapped),
        cmocka_unit_test(test_two_questions_at_once),
        cmocka_unit_test(test_past_the_window_restarted),
        cmocka_unit_test(test_past_the_window_shifted),
        cmocka_unit_test(test_back_at_a_place_past_the_window),
        cmocka_unit_test(test_quoted_margins_copy_a_name_whole),
        cmocka_unit_test(test_a_fact_quoted_again_stays_where_it_was_said),
        cmocka_unit_test(test_quoted_answers_copy_the_note),
        cmocka_unit_test(test_a_stored_document_writes_the_same),
        cmocka_unit_test(test_the_server_answers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
