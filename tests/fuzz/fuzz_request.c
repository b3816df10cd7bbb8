/*
 * fuzz_request.c - libFuzzer target: the body of POST /v1/wim as any client
 * may send it (the server's request.c), the same bytes as a body of POST
 * /v1/chat/completions (chat_request.c), and every option set by name from text
 * (wim_options_set, wim_options_check). Beyond memory errors it checks what the
 * server relies on: an accepted request's text is whole and readable, its
 * options pass the library's check, and what only the server sets stays the
 * server's.
 */
#include "chat_request.h"
#include "fuzz.h"
#include "request.h"
#include "wim.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The server's defaults: what wim-server's flags give (tests/test_server.c's). */
static wim_options defaults;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    wim_options_default(&defaults);
    defaults.n_threads = 2;
    defaults.n_ctx = 8192;
    defaults.templates_dir = "/nowhere";
    return 0;
}

/* Options a request may not touch are the server's still. */
static void check_options(const wim_options *o)
{
    char err[256];
    check(wim_options_check(o, err, sizeof err) == 0);
    check(o->n_threads == defaults.n_threads && o->n_ctx == defaults.n_ctx &&
          o->n_batch == defaults.n_batch && o->n_ubatch == defaults.n_ubatch &&
          o->cache_type_k == defaults.cache_type_k && o->cache_type_v == defaults.cache_type_v &&
          o->flash_attn == defaults.flash_attn && o->rope_scaling == defaults.rope_scaling &&
          o->rope_scale == defaults.rope_scale && o->templates_dir == defaults.templates_dir &&
          o->user_header == defaults.user_header &&
          o->generation_header == defaults.generation_header);
}

static void check_accepted(const char *body, size_t len, const request *r)
{
    char err[256];
    /* a NUL would cut the text short without a word, so a body with one is refused */
    check(!memchr(body, '\0', len));
    check(wim_check_text("document", r->document, strlen(r->document), err, sizeof err) == 0);
    check(wim_check_text("query", r->query, strlen(r->query), err, sizeof err) == 0);
    check_options(&r->options);
}

/* An accepted chat: every turn has a role and readable text, and a document
 * found in it comes with a question, both something to read. */
static void check_chat(const char *body, size_t len, const chat_request *r)
{
    char err[256];
    check(!memchr(body, '\0', len) && r->n_msgs >= 1);
    for (int i = 0; i < r->n_msgs; i++)
        check(r->msgs[i].role && r->msgs[i].role[0] && r->msgs[i].content &&
              (!r->msgs[i].content[strspn(r->msgs[i].content, " \t\r\n\f\v")] ||
               wim_check_text("message", r->msgs[i].content, strlen(r->msgs[i].content), err,
                              sizeof err) == 0));
    if (r->document)
        check(wim_check_text("document", r->document, strlen(r->document), err, sizeof err) == 0 &&
              wim_check_text("query", r->query, strlen(r->query), err, sizeof err) == 0);
    check(r->n_stops >= 0 && r->n_stops <= CHAT_MAX_STOPS);
    check_options(&r->options);
}

/* Every member of the body's "options", server's or not, set by name as text. */
static void set_each(const char *body, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *v;
    wim_options o = defaults;
    char err[256];
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(j, "options"))
    {
        const char *text = cJSON_IsString(v) ? v->valuestring : cJSON_IsNull(v) ? NULL : "";
        if (v->string && wim_options_set(&o, v->string, text, err, sizeof err) != 0) check(err[0]);
    }
    wim_options_check(&o, err, sizeof err);
    cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the server's body: not NUL-terminated */
    char *body = malloc(size ? size : 1);
    if (!body) return 0;
    memcpy(body, data, size);
    request r;
    char err[640] = "";
    unsigned status = request_read(body, size, &defaults, 0, &r, err, sizeof err);
    if (status == 0)
        check_accepted(body, size, &r);
    else
        check(status == 400 && err[0] && !r.json);
    request_free(&r);
    chat_request c;
    status = chat_request_read(body, size, &defaults, 0, &c, err, sizeof err);
    if (status == 0)
        check_chat(body, size, &c);
    else
        check(status == 400 && err[0]);
    chat_request_free(&c);
    set_each(body, size);
    free(body);
    return 0;
}
