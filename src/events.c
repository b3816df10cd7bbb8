/*
 * events.c - names of events, and each event as one JSON object
 * (the schema of docs/events.md, shared by `wim --json` and the server).
 */
#include "wim.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>

const char *wim_event_name(wim_event_type t)
{
    static const char *const names[] = {"start", "progress", "segment", "margin", "verdict",
                                        "token", "answer",   "done",    "window", "let_go"};
    return t <= WIM_EVENT_LET_GO ? names[t] : "unknown";
}

/* Milliseconds to a tenth, so JSON shows 1234.5 rather than 17 digits. */
static void add_ms(cJSON *j, const char *name, double ms)
{
    cJSON_AddNumberToObject(j, name, round(ms * 10) / 10);
}

static void add_settings(cJSON *j, const wim_options *o)
{
    cJSON_AddStringToObject(j, "mode", wim_mode_name(o->mode));
    cJSON_AddStringToObject(j, "classify", wim_classify_name(o->classify));
    cJSON_AddStringToObject(j, "schedule", wim_schedule_name(o->schedule));
    cJSON_AddNumberToObject(j, "segment_tokens", o->segment_tokens);
    cJSON_AddNumberToObject(j, "max_margin_tokens", o->max_margin_tokens);
    cJSON_AddNumberToObject(j, "max_verdict_tokens", o->max_verdict_tokens);
    cJSON_AddNumberToObject(j, "max_answer_tokens", o->max_answer_tokens);
    cJSON_AddNumberToObject(j, "temp", o->temp);
    cJSON_AddNumberToObject(j, "top_p", o->top_p);
    cJSON_AddNumberToObject(j, "seed", o->seed);
    cJSON_AddNumberToObject(j, "threads", o->n_threads);
    cJSON_AddNumberToObject(j, "batch_size", o->n_batch);
    cJSON_AddNumberToObject(j, "ubatch_size", o->n_ubatch ? o->n_ubatch : o->n_batch);
    cJSON_AddStringToObject(j, "cache_type_k", wim_cache_type_name(o->cache_type_k));
    cJSON_AddStringToObject(j, "cache_type_v", wim_cache_type_name(o->cache_type_v));
    cJSON_AddStringToObject(j, "flash_attn", wim_flash_attn_name(o->flash_attn));
    cJSON_AddNumberToObject(j, "draft_max", o->draft_max);
    cJSON_AddBoolToObject(j, "think", o->think);
    cJSON_AddBoolToObject(j, "fixed_length", o->fixed_length);
    cJSON_AddBoolToObject(j, "assume_relevant", o->assume_relevant);
    if (o->window == WIM_WINDOW_AUTO || o->window == WIM_WINDOW_OFF)
        cJSON_AddStringToObject(j, "window", o->window == WIM_WINDOW_AUTO ? "auto" : "off");
    else
        cJSON_AddNumberToObject(j, "window", o->window);
    cJSON_AddNumberToObject(j, "carry_tokens", o->carry_tokens);
    cJSON_AddBoolToObject(j, "window_shift", o->window_shift);
    cJSON_AddBoolToObject(j, "quoted_margins", o->quoted_margins);
    cJSON_AddBoolToObject(j, "quoted_answers", o->quoted_answers);
}

/* "name": the first string, and "names": all of them. */
static void add_strings(cJSON *j, const char *name, const char *names, const char *const *v, int n)
{
    cJSON_AddStringToObject(j, name, v && n > 0 && v[0] ? v[0] : "");
    cJSON *a = cJSON_AddArrayToObject(j, names);
    for (int i = 0; v && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i] ? v[i] : ""));
}

static void add_done(cJSON *j, const wim_event *ev)
{
    const wim_stats *st = ev->stats;
    add_strings(j, "answer", "answers", ev->answers, ev->n_queries);
    cJSON_AddBoolToObject(j, "stopped_early", st->stopped_early);
    cJSON_AddNumberToObject(j, "segments_read", st->n_segments_read);
    cJSON_AddNumberToObject(j, "margins", st->n_margins);
    cJSON_AddNumberToObject(j, "relevant", st->n_relevant);
    cJSON_AddNumberToObject(j, "prefill_tokens", st->n_prefill_tokens);
    cJSON_AddNumberToObject(j, "decode_tokens", st->n_decode_tokens);
    cJSON_AddNumberToObject(j, "decode_steps", st->n_decode_steps);
    cJSON_AddNumberToObject(j, "draft_tokens", st->n_draft_tokens);
    cJSON_AddNumberToObject(j, "draft_accepted", st->n_draft_accepted);
    add_ms(j, "prefill_ms", st->prefill_ms);
    add_ms(j, "decode_ms", st->decode_ms);
    add_ms(j, "total_ms", st->total_ms);
    cJSON_AddNumberToObject(j, "window", st->n_window);
    cJSON_AddNumberToObject(j, "segments_let_go", st->n_segments_let_go);
    cJSON_AddNumberToObject(j, "margins_let_go", st->n_margins_let_go);
}

/* "pages": [first, last], when the document has pages. */
static void add_pages(cJSON *j, const wim_event *ev)
{
    if (ev->first_page <= 0) return;
    const int pages[2] = {ev->first_page, ev->last_page};
    cJSON_AddItemToObject(j, "pages", cJSON_CreateIntArray(pages, 2));
}

static void add_fields(cJSON *j, const wim_event *ev)
{
    const wim_stats *st = ev->stats;
    switch (ev->type) {
    case WIM_EVENT_START:
        add_strings(j, "query", "queries", ev->queries, ev->n_queries);
        cJSON_AddNumberToObject(j, "doc_tokens", st->n_doc_tokens);
        cJSON_AddNumberToObject(j, "n_ctx", st->n_ctx);
        if (ev->options) add_settings(j, ev->options);
        break;
    case WIM_EVENT_PROGRESS:
    case WIM_EVENT_SEGMENT:
        cJSON_AddNumberToObject(j, "segment", ev->segment);
        if (ev->type == WIM_EVENT_SEGMENT) cJSON_AddNumberToObject(j, "tokens", ev->n_tokens);
        cJSON_AddNumberToObject(j, "read_tokens", st->n_read_tokens);
        cJSON_AddNumberToObject(j, "doc_tokens", st->n_doc_tokens);
        if (ev->type == WIM_EVENT_SEGMENT) add_pages(j, ev);
        break;
    case WIM_EVENT_MARGIN:
        cJSON_AddNumberToObject(j, "segment", ev->segment);
        cJSON_AddNumberToObject(j, "question", ev->question);
        cJSON_AddStringToObject(j, "text", ev->text ? ev->text : "");
        cJSON_AddNumberToObject(j, "tokens", ev->n_tokens);
        add_pages(j, ev);
        break;
    case WIM_EVENT_VERDICT:
        cJSON_AddNumberToObject(j, "segment", ev->segment);
        cJSON_AddNumberToObject(j, "question", ev->question);
        cJSON_AddBoolToObject(j, "relevant", ev->relevant);
        cJSON_AddBoolToObject(j, "parsed", ev->parsed);
        cJSON_AddStringToObject(j, "reason", ev->reason ? ev->reason : "");
        cJSON_AddStringToObject(j, "raw", ev->text ? ev->text : "");
        cJSON_AddNumberToObject(j, "p_yes", round(ev->p_yes * 1e4) / 1e4);
        break;
    case WIM_EVENT_WINDOW:
        cJSON_AddNumberToObject(j, "segment", ev->segment);
        cJSON_AddNumberToObject(j, "carried_tokens", ev->n_tokens);
        cJSON_AddNumberToObject(j, "window", st->n_window);
        break;
    case WIM_EVENT_LET_GO:
        cJSON_AddNumberToObject(j, "segment", ev->segment);
        cJSON_AddNumberToObject(j, "question", ev->question);
        cJSON_AddStringToObject(j, "text", ev->text ? ev->text : "");
        break;
    case WIM_EVENT_ANSWER_TOKEN:
        cJSON_AddNumberToObject(j, "question", ev->question);
        cJSON_AddStringToObject(j, "text", ev->text ? ev->text : "");
        break;
    case WIM_EVENT_ANSWER:
        cJSON_AddNumberToObject(j, "question", ev->question);
        cJSON_AddStringToObject(j, "text", ev->text ? ev->text : "");
        cJSON_AddNumberToObject(j, "tokens", ev->n_tokens);
        cJSON_AddItemToObject(j, "used", cJSON_CreateIntArray(ev->used, ev->n_used));
        break;
    case WIM_EVENT_DONE:
        add_done(j, ev);
        break;
    }
}

char *wim_event_to_json(const wim_event *ev)
{
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddStringToObject(j, "event", wim_event_name(ev->type));
    add_ms(j, "elapsed_ms", ev->elapsed_ms);
    cJSON_AddNumberToObject(j, "segments", ev->n_segments);
    if (ev->stats) add_fields(j, ev);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}
