/*
 * guard.h - a deadline for a request's headers, which libmicrohttpd's idle
 * timeout does not give: a connection still waiting for its headers after the
 * deadline is shut down.
 */
#ifndef WIM_SERVER_GUARD_H
#define WIM_SERVER_GUARD_H

#include <stdbool.h>

typedef struct guard guard;

/* Starts the thread that enforces deadline_s; NULL when it cannot. */
guard *guard_start(double deadline_s);
void guard_stop(guard *g);

/* A new connection on socket fd begins waiting for headers; the handle to pass
 * below (NULL when out of memory: that connection goes unwatched). */
void *guard_open(guard *g, int fd);
/* Its headers are in (in_request), or its request ended and it waits again. */
void guard_mark(guard *g, void *conn, bool in_request);
void guard_close(guard *g, void *conn);

#endif
