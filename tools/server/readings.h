/*
 * readings.h - the server's work: each POST /v1/wim is a reading, queued, then
 * read by one of a few worker threads, its events kept in order for the client
 * that streams them. A reading outlives its connection: a client that leaves
 * only stops it early, and its answer can still be fetched.
 */
#ifndef WIM_SERVER_READINGS_H
#define WIM_SERVER_READINGS_H

#include "wim.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct reading reading;
typedef struct readings readings;

/* The longest replica name, in bytes. */
enum { READINGS_MAX_REPLICA = 16 };

/* Starts n_workers threads reading, each in a slot of pool. max_queued
 * readings may wait beyond those being read. Ids are r1, r2, ...; with a
 * replica name (NULL for none) NAME-r1, NAME-r2, ..., so that a proxy in front
 * of several servers can send a reading's requests to the one that has it. */
readings *readings_start(wim_pool *pool, int n_workers, int max_queued, const char *replica);
/* Stops the workers (a reading in progress is stopped and finished first) and
 * ends every stream, so that connections waiting on them can close. */
void readings_stop(readings *rs);
/* Frees it all, once no connection holds a reading any more. */
void readings_free(readings *rs);

/* Queues a reading of document for query with options o (mode included); the
 * strings are copied. NULL when the queue is full. The caller holds one
 * reference, to let go with reading_release. */
reading *readings_add(readings *rs, const char *document, const char *query, const wim_options *o);

/* The same for a chat: the model answers the conversation msgs[0..n) as it
 * is, without margins (wim_session_chat); the strings are copied. */
reading *readings_add_chat(readings *rs, const wim_message *msgs, int n, const wim_options *o);

/* The reading with this id, with a reference taken, or NULL. */
reading *readings_find(readings *rs, const char *id);

/* How many are being read and waiting. */
void readings_count(readings *rs, int *reading_now, int *queued);

const char *reading_id(const reading *r);
void reading_release(reading *r);

/* Asks it to stop reading (and answer from the margins so far), within one
 * step; one still queued leaves the queue at once. False when it is finished
 * already. */
bool reading_stop(reading *r);

/* The person's word on margin seg of question q: keep 1, drop 0, or -1 to
 * leave it to the verdict. Waits until the reading applied it (or queues it for
 * a reading that has not started). 0, or an HTTP status (400, 404, 409) with a
 * one-line reason in err. */
int reading_overrule(reading *r, int q, int seg, int keep, char *err, size_t errlen);

/* The caller of readings_add is done streaming it (readings_add counts it as
 * streaming from the start); a finished reading's stream is let go then. */
void reading_stream_end(reading *r);

/* Copies up to cap bytes of its event stream from offset *at into buf, as
 * Server-Sent Events, moving *at on, waiting until there is something new;
 * after a few seconds of silence, a keep-alive comment instead. Returns the
 * bytes in buf, or 0 once the stream is over. */
size_t reading_stream(reading *r, size_t *at, char *buf, size_t cap);

/* Its state as a JSON object {"id", "state", "position", "stopped", "answer"};
 * malloc'd. */
char *reading_state_json(reading *r);

#endif
