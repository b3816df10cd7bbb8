/*
 * routes.h - the server's HTTP side: every endpoint of docs/server.md, as one
 * libmicrohttpd access handler.
 */
#ifndef WIM_SERVER_ROUTES_H
#define WIM_SERVER_ROUTES_H

#include "guard.h"
#include "readings.h"
#include "wim.h"

#include <microhttpd.h>
#include <stddef.h>

typedef struct server {
    wim_model *model;
    const char *model_name; /* the file's base name */
    wim_options defaults;   /* the engine flags given at start */
    readings *rs;
    wim_pool *pool;       /* the contexts the readings share */
    const char *api_key;  /* NULL = none: this machine only, and no other site's page */
    guard *guard;         /* the deadline for headers */
    const char *web_dir;  /* the page's files */
    long max_doc_tokens;  /* 0 = the context decides */
    size_t max_doc_bytes; /* no document longer fits a reading's slot (or max_doc_tokens) */
    size_t max_body;      /* bytes */
    long min_doc_tokens;  /* chat: a document this long is read with WiM */
    const char *replica;  /* its name among several behind a proxy, or NULL */
    int parallel;
    long started; /* when the server started, seconds since 1970 (the model's "created") */
} server;

enum MHD_Result routes_handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **call);

/* A connection opens or closes (MHD_OPTION_NOTIFY_CONNECTION): the guard
 * watches its headers' deadline. */
void routes_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                       enum MHD_ConnectionNotificationCode toe);

/* Frees what routes_handle kept for a request (MHD_OPTION_NOTIFY_COMPLETED). */
void routes_completed(void *cls, struct MHD_Connection *c, void **call,
                      enum MHD_RequestTerminationCode why);

#endif
