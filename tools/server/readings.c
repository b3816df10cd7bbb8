/*
 * readings.c - the queue of readings and the workers that read them. One lock
 * guards it all; each reading has a condition its stream's readers and its
 * overrulers wait on. The engine runs without the lock: its callback takes it
 * briefly to append an event and to apply the person's pending words.
 */
#include "readings.h"

#include "strbuf.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { KEEP_FINISHED = 64, MAX_WORDS = 256, WORD_WAIT_S = 30 };

/* A stream silent this long gets a comment line, so that neither
 * libmicrohttpd's idle timeout nor a proxy's closes it while its reading
 * waits in the queue or works on a long step, and so that a client who left
 * is noticed (the write fails) and its reading stopped. */
static const char keep_alive[] = ": keep-alive\n\n";
enum { KEEP_ALIVE_MS = 5000 };

typedef enum state { QUEUED, READING, DONE } state;

/* One word of the person's on a margin. */
typedef struct word {
    int q, seg, keep;
    int status; /* once applied: 0, or the HTTP status of the refusal */
    char err[128];
} word;

struct reading {
    readings *rs;
    char id[48];
    char *document, *query; /* what is read and asked; NULL for a chat */
    wim_message *msgs;      /* a chat's conversation, copied; NULL for a reading */
    int n_msgs;
    wim_options o;
    int refs;
    state state;
    int position;           /* readings ahead of it in the queue; 0 once next or read */
    wim_strbuf stream;      /* every event so far, "data: {...}\n\n" each; freed once
                               finished and no connection streams it */
    bool streaming;         /* a connection is streaming it */
    bool stop;              /* asked to stop reading */
    bool stopped;           /* it ended early: stopped, left while queued, or shut down */
    wim_session *session;   /* while READING: the session, to interrupt */
    word words[MAX_WORDS];  /* every word given, in order */
    int n_words, n_applied; /* given, and applied (or refused) by the reading */
    char *answer;
    char *done_json; /* the done event, held until the state says DONE too */
    reading *next;   /* in the queue */
    pthread_cond_t changed;
};

struct readings {
    wim_pool *pool; /* the contexts every reading shares, a slot per worker */
    pthread_mutex_t lock;
    pthread_cond_t work;
    pthread_t *workers;
    int n_workers, n_reading, n_queued, max_queued;
    reading *head, *tail; /* the queue */
    reading **all;        /* every live reading, for finding by id */
    int n_all;
    char id_prefix[READINGS_MAX_REPLICA + 3]; /* "r", or "NAME-r" for a named replica */
    unsigned long next_id;
    bool stopping;
};

/* ============================================================================
 * Events into a reading's stream (lock held)
 * ========================================================================= */

static void append(reading *r, const char *json)
{
    size_t before = r->stream.len;
    if (!wim_strbuf_puts(&r->stream, "data: ") || !wim_strbuf_puts(&r->stream, json) ||
        !wim_strbuf_puts(&r->stream, "\n\n")) {
        r->stream.len = before; /* out of memory: the event is lost, the stream goes on */
        if (r->stream.s) r->stream.s[before] = '\0';
    }
    pthread_cond_broadcast(&r->changed);
}

/* The server's own event: the reading's id and place in the queue. */
static void tell_position(reading *r)
{
    char json[128];
    snprintf(json, sizeof json, "{\"event\":\"request\",\"id\":\"%s\",\"position\":%d}", r->id,
             r->position);
    append(r, json);
}

/* How many readings are ahead of the k-th waiting one (1-based): those waiting
 * before it, less the workers free to take them now. */
static int ahead_of(const readings *rs, int k)
{
    int ahead = k - (rs->n_workers - rs->n_reading);
    return ahead > 0 ? ahead : 0;
}

static void renumber_queue(readings *rs)
{
    int k = 1;
    for (reading *r = rs->head; r; r = r->next, k++)
        if (r->position != ahead_of(rs, k)) {
            r->position = ahead_of(rs, k);
            tell_position(r);
        }
}

/* ============================================================================
 * Reading (worker side)
 * ========================================================================= */

/* Applies the words given since the last call, in session s (lock held). */
static void apply_words(reading *r, wim_session *s)
{
    for (; r->n_applied < r->n_words; r->n_applied++) {
        word *w = &r->words[r->n_applied];
        int rc = wim_session_overrule(s, w->q, w->seg, w->keep, w->err, sizeof w->err);
        w->status = rc == 0 ? 0 : strstr(w->err, "already") ? 409 : 400;
    }
    pthread_cond_broadcast(&r->changed);
}

typedef struct run_ctx {
    reading *r;
    wim_session *s;
} run_ctx;

static int on_event(const wim_event *ev, void *user)
{
    run_ctx *c = user;
    reading *r = c->r;
    char *json = wim_event_to_json(ev);
    pthread_mutex_lock(&r->rs->lock);
    if (json && ev->type != WIM_EVENT_DONE) append(r, json);
    if (ev->type == WIM_EVENT_DONE) { /* a client told done may ask the state at once */
        r->done_json = json;
        json = NULL;
    }
    if (ev->type == WIM_EVENT_DONE && ev->answers) r->answer = strdup(ev->answers[0]);
    if (ev->type == WIM_EVENT_DONE) r->stopped = ev->stats->stopped_early;
    if (r->n_applied < r->n_words) apply_words(r, c->s);
    int how = r->rs->stopping ? WIM_ABORT : r->stop ? WIM_STOP : WIM_CONTINUE;
    pthread_mutex_unlock(&r->rs->lock);
    free(json);
    return how;
}

/* An error after the stream began is its last event. */
static void append_error(reading *r, const char *message)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "event", "error");
    cJSON_AddStringToObject(j, "message", message);
    char *json = cJSON_PrintUnformatted(j);
    if (json) append(r, json);
    free(json);
    cJSON_Delete(j);
}

static void free_msgs(reading *r)
{
    for (int i = 0; r->msgs && i < r->n_msgs; i++) {
        free((char *)r->msgs[i].role);
        free((char *)r->msgs[i].content);
    }
    free(r->msgs);
    r->msgs = NULL;
}

/* What a finished reading keeps: its state and answer; the document now, and
 * the stream once no connection reads it (lock held). */
static void shed(reading *r)
{
    free(r->document);
    r->document = NULL;
    free_msgs(r);
    if (!r->streaming) wim_strbuf_free(&r->stream);
}

static void read_one(readings *rs, reading *r)
{
    char err[512];
    wim_session *s = wim_session_new_in_pool(rs->pool, &r->o, err, sizeof err);
    pthread_mutex_lock(&rs->lock);
    r->session = s;
    if (s && (r->stop || rs->stopping))
        wim_session_interrupt(s, rs->stopping ? WIM_ABORT : WIM_STOP);
    pthread_mutex_unlock(&rs->lock);
    run_ctx c = {r, s};
    int rc = !s ? -1
             : r->msgs
                 ? wim_session_chat(s, r->msgs, r->n_msgs, on_event, &c)
                 : wim_session_run(s, r->document, strlen(r->document), r->query, on_event, &c);
    pthread_mutex_lock(&rs->lock);
    r->session = NULL;
    if (rc < 0) append_error(r, s ? wim_session_error(s) : err);
    if (rc == 1) {
        append_error(r, "the server is shutting down");
        r->stopped = true;
    }
    for (; r->n_applied < r->n_words; r->n_applied++) {
        word *w = &r->words[r->n_applied];
        snprintf(w->err, sizeof w->err, "the reading is finished");
        w->status = 409;
    }
    r->state = DONE;
    if (r->done_json) append(r, r->done_json);
    free(r->done_json);
    r->done_json = NULL;
    rs->n_reading--;
    shed(r);
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&rs->lock);
    wim_session_free(s);
}

static void *worker(void *arg)
{
    readings *rs = arg;
    pthread_mutex_lock(&rs->lock);
    for (;;) {
        while (!rs->stopping && !rs->head)
            pthread_cond_wait(&rs->work, &rs->lock);
        if (rs->stopping) break;
        reading *r = rs->head;
        rs->head = r->next;
        if (!rs->head) rs->tail = NULL;
        rs->n_queued--;
        rs->n_reading++;
        r->state = READING;
        if (r->position != 0) {
            r->position = 0;
            tell_position(r);
        }
        renumber_queue(rs);
        pthread_mutex_unlock(&rs->lock);
        read_one(rs, r);
        reading_release(r);
        /* a reading's buffers (document, tokens, events) are big and short-lived:
         * give their memory back now, not whenever the allocator decides, so
         * many requests do not leave the server ever larger */
        malloc_trim(0);
        pthread_mutex_lock(&rs->lock);
    }
    pthread_mutex_unlock(&rs->lock);
    return NULL;
}

/* ============================================================================
 * The queue
 * ========================================================================= */

readings *readings_start(wim_pool *pool, int n_workers, int max_queued, const char *replica)
{
    readings *rs = calloc(1, sizeof *rs);
    if (!rs) return NULL;
    rs->pool = pool;
    snprintf(rs->id_prefix, sizeof rs->id_prefix, "%s%sr", replica ? replica : "",
             replica ? "-" : "");
    rs->max_queued = max_queued;
    pthread_mutex_init(&rs->lock, NULL);
    pthread_cond_init(&rs->work, NULL);
    rs->workers = calloc((size_t)n_workers, sizeof *rs->workers);
    for (int i = 0; rs->workers && i < n_workers; i++)
        if (pthread_create(&rs->workers[i], NULL, worker, rs) == 0) rs->n_workers++;
    if (rs->n_workers == n_workers) return rs;
    readings_stop(rs);
    readings_free(rs);
    return NULL;
}

void readings_stop(readings *rs)
{
    pthread_mutex_lock(&rs->lock);
    rs->stopping = true;
    for (int i = 0; i < rs->n_all; i++) /* every reading at work ends within a step */
        if (rs->all[i]->session) wim_session_interrupt(rs->all[i]->session, WIM_ABORT);
    pthread_cond_broadcast(&rs->work);
    pthread_mutex_unlock(&rs->lock);
    for (int i = 0; i < rs->n_workers; i++)
        pthread_join(rs->workers[i], NULL);
    /* what never started is finished now, so its streams end */
    pthread_mutex_lock(&rs->lock);
    for (reading *r = rs->head; r; r = r->next) {
        append_error(r, "the server is shutting down");
        r->state = DONE;
        r->stopped = true;
        shed(r);
        pthread_cond_broadcast(&r->changed);
    }
    reading *r = rs->head;
    rs->head = rs->tail = NULL;
    rs->n_queued = 0;
    pthread_mutex_unlock(&rs->lock);
    while (r) {
        reading *next = r->next;
        reading_release(r); /* the queue's reference */
        r = next;
    }
}

void readings_free(readings *rs)
{
    if (!rs) return;
    for (int i = 0; i < rs->n_all; i++)
        reading_release(rs->all[i]);
    free(rs->all);
    free(rs->workers);
    pthread_cond_destroy(&rs->work);
    pthread_mutex_destroy(&rs->lock);
    free(rs);
}

static void free_reading(reading *r)
{
    pthread_cond_destroy(&r->changed);
    free(r->document);
    free(r->query);
    free_msgs(r);
    wim_strbuf_free(&r->stream);
    free(r->answer);
    free(r);
}

void reading_release(reading *r)
{
    if (!r) return;
    pthread_mutex_lock(&r->rs->lock);
    bool last = --r->refs == 0;
    pthread_mutex_unlock(&r->rs->lock);
    if (last) free_reading(r);
}

/* Keeps the registry to the live readings and the last finished ones (lock
 * held); the registry's references to the others are let go. */
static void forget_old(readings *rs)
{
    int finished = 0;
    for (int i = rs->n_all - 1; i >= 0; i--) {
        reading *r = rs->all[i];
        if (r->state != DONE || ++finished <= KEEP_FINISHED) continue;
        memmove(&rs->all[i], &rs->all[i + 1], (size_t)(rs->n_all - i - 1) * sizeof(reading *));
        rs->n_all--;
        if (--r->refs == 0) free_reading(r);
    }
}

static reading *new_reading(readings *rs, const wim_options *o)
{
    reading *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->rs = rs;
    r->o = *o;
    pthread_cond_init(&r->changed, NULL);
    return r;
}

/* Puts r at the end of the queue, or frees it when the queue is full. */
static reading *enqueue(readings *rs, reading *r)
{
    pthread_mutex_lock(&rs->lock);
    /* full when every worker is busy or spoken for and max_queued wait besides */
    bool room = rs->n_queued + rs->n_reading < rs->n_workers + rs->max_queued;
    reading **all = room && !rs->stopping
                        ? realloc(rs->all, (size_t)(rs->n_all + 1) * sizeof(reading *))
                        : NULL;
    if (!all) {
        pthread_mutex_unlock(&rs->lock);
        free_reading(r);
        return NULL;
    }
    rs->all = all;
    rs->all[rs->n_all++] = r;
    snprintf(r->id, sizeof r->id, "%s%lu", rs->id_prefix, ++rs->next_id);
    r->refs = 3;         /* the registry, the queue, the caller */
    r->streaming = true; /* from the start: a reading that fails at once keeps its events */
    if (rs->tail)
        rs->tail->next = r;
    else
        rs->head = r;
    rs->tail = r;
    rs->n_queued++;
    r->position = ahead_of(rs, rs->n_queued);
    tell_position(r);
    forget_old(rs);
    pthread_cond_signal(&rs->work);
    pthread_mutex_unlock(&rs->lock);
    return r;
}

reading *readings_add(readings *rs, const char *document, const char *query, const wim_options *o)
{
    reading *r = new_reading(rs, o);
    if (!r) return NULL;
    r->document = strdup(document);
    r->query = strdup(query);
    if (r->document && r->query) return enqueue(rs, r);
    free_reading(r);
    return NULL;
}

reading *readings_add_chat(readings *rs, const wim_message *msgs, int n, const wim_options *o)
{
    reading *r = new_reading(rs, o);
    if (!r) return NULL;
    r->o.mode = WIM_MODE_LLM;                     /* no margins to overrule */
    r->msgs = calloc((size_t)n, sizeof *r->msgs); /* zeroed: freed whole however far it got */
    r->n_msgs = r->msgs ? n : 0;
    bool ok = r->msgs != NULL;
    for (int i = 0; ok && i < n; i++) {
        r->msgs[i] = (wim_message){strdup(msgs[i].role), strdup(msgs[i].content)};
        ok = r->msgs[i].role && r->msgs[i].content;
    }
    if (ok) return enqueue(rs, r);
    free_reading(r);
    return NULL;
}

reading *readings_find(readings *rs, const char *id)
{
    reading *found = NULL;
    pthread_mutex_lock(&rs->lock);
    for (int i = 0; i < rs->n_all && !found; i++)
        if (strcmp(rs->all[i]->id, id) == 0) {
            found = rs->all[i];
            found->refs++;
        }
    pthread_mutex_unlock(&rs->lock);
    return found;
}

void readings_count(readings *rs, int *reading_now, int *queued)
{
    pthread_mutex_lock(&rs->lock);
    *reading_now = rs->n_reading;
    *queued = rs->n_queued;
    pthread_mutex_unlock(&rs->lock);
}

const char *reading_id(const reading *r)
{
    return r->id;
}

/* ============================================================================
 * What clients ask of a reading
 * ========================================================================= */

/* Takes a reading that has not begun out of the queue, finished (lock held). */
static void unqueue(readings *rs, reading *r)
{
    reading **at = &rs->head, *before = NULL;
    while (*at != r) {
        before = *at;
        at = &(*at)->next;
    }
    *at = r->next;
    if (rs->tail == r) rs->tail = before;
    rs->n_queued--;
    append_error(r, "stopped before its reading began");
    r->state = DONE;
    r->stopped = true;
    shed(r);
    renumber_queue(rs);
    pthread_cond_broadcast(&r->changed);
}

bool reading_stop(reading *r)
{
    readings *rs = r->rs;
    pthread_mutex_lock(&rs->lock);
    bool live = r->state != DONE;
    if (live) r->stop = true;
    if (r->state == QUEUED) {
        unqueue(rs, r);
        r->refs--; /* the queue's; the caller holds one of its own */
    }
    if (r->session) wim_session_interrupt(r->session, WIM_STOP);
    pthread_mutex_unlock(&rs->lock);
    return live;
}

int reading_overrule(reading *r, int q, int seg, int keep, char *err, size_t errlen)
{
    readings *rs = r->rs;
    pthread_mutex_lock(&rs->lock);
    int status = r->state == DONE            ? 404
                 : r->o.mode != WIM_MODE_WIM ? 400
                 : r->n_words == MAX_WORDS   ? 400
                                             : 0;
    if (status) {
        snprintf(err, errlen, "%s",
                 status == 404               ? "the reading is finished"
                 : r->o.mode != WIM_MODE_WIM ? "only a wim reading has margins"
                                             : "too many words on this reading");
        pthread_mutex_unlock(&rs->lock);
        return status;
    }
    int k = r->n_words++;
    r->words[k] = (word){.q = q, .seg = seg, .keep = keep};
    /* a queued reading applies it when it starts; a running one at its next event */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WORD_WAIT_S;
    while (r->state == READING && r->n_applied <= k)
        if (pthread_cond_timedwait(&r->changed, &rs->lock, &until) == ETIMEDOUT) break;
    if (r->n_applied > k) {
        status = r->words[k].status;
        snprintf(err, errlen, "%s", r->words[k].err);
    }
    pthread_mutex_unlock(&rs->lock);
    return status;
}

void reading_stream_end(reading *r)
{
    pthread_mutex_lock(&r->rs->lock);
    r->streaming = false;
    if (r->state == DONE) shed(r);
    pthread_mutex_unlock(&r->rs->lock);
}

size_t reading_stream(reading *r, size_t *at, char *buf, size_t cap)
{
    size_t n = 0;
    pthread_mutex_lock(&r->rs->lock);
    for (bool quiet = false; !n;) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += KEEP_ALIVE_MS / 1000;
        while (*at >= r->stream.len && r->state != DONE && !quiet)
            quiet = pthread_cond_timedwait(&r->changed, &r->rs->lock, &until) == ETIMEDOUT;
        n = *at < r->stream.len ? r->stream.len - *at : 0;
        if (n > cap) n = cap;
        if (n) memcpy(buf, r->stream.s + *at, n);
        *at += n;
        if (n || r->state == DONE) break;
        if (cap >= sizeof keep_alive - 1) { /* else no room for it now: wait on */
            n = sizeof keep_alive - 1;
            memcpy(buf, keep_alive, n);
        }
        quiet = false;
    }
    pthread_mutex_unlock(&r->rs->lock);
    return n;
}

char *reading_state_json(reading *r)
{
    static const char *const names[] = {"queued", "reading", "done"};
    cJSON *j = cJSON_CreateObject();
    pthread_mutex_lock(&r->rs->lock);
    cJSON_AddStringToObject(j, "id", r->id);
    cJSON_AddStringToObject(j, "state", names[r->state]);
    cJSON_AddNumberToObject(j, "position", r->position);
    cJSON_AddBoolToObject(j, "stopped", r->stopped);
    if (r->answer)
        cJSON_AddStringToObject(j, "answer", r->answer);
    else
        cJSON_AddNullToObject(j, "answer");
    pthread_mutex_unlock(&r->rs->lock);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return text;
}
