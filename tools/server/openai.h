/*
 * openai.h - a reading's events (docs/events.md) told in OpenAI's chat
 * completion shape: chunks of Server-Sent Events when streaming, one object
 * when not; and the server's errors in the shape OpenAI's clients read.
 */
#ifndef WIM_SERVER_OPENAI_H
#define WIM_SERVER_OPENAI_H

#include <stdbool.h>
#include <stddef.h>

typedef struct openai_reply openai_reply;

/* A reply for reading id (its chunks are "chatcmpl-ID") of model; the
 * content ends before any of stops[0..n_stops) (copied). */
openai_reply *openai_reply_new(const char *id, const char *model, bool stream, bool include_usage,
                               const char *const *stops, int n_stops);
void openai_reply_free(openai_reply *o);

/* Takes n bytes of the reading's event stream, as reading_stream gives them
 * (events and keep-alive comments, cut anywhere). */
void openai_feed(openai_reply *o, const char *bytes, size_t n);

/* Streaming: moves up to cap bytes of chunks ready to send into buf. */
size_t openai_take(openai_reply *o, char *buf, size_t cap);

/* The reply is complete: streaming, once its last chunk is taken. */
bool openai_over(const openai_reply *o);

/* The content met a stop string: the reading may end now. */
bool openai_wants_stop(const openai_reply *o);

/* Not streaming, once over: the chat.completion object, or an error, with its
 * HTTP status. malloc'd. */
char *openai_result(openai_reply *o, unsigned *status);

/* {"error": {"code", "message", "type"}}: the shape of llama-server's errors,
 * which OpenAI's clients read, for every error of the server. malloc'd. */
char *openai_error_json(unsigned status, const char *message);

#endif
