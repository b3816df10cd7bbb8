/*
 * guard.c - a deadline for a request's headers.
 *
 * libmicrohttpd's connection timeout counts idle time only, so a client that
 * sends one header byte every few seconds holds its connection forever, and a
 * few hundred such clients fill the connection limit. The guard notes when each
 * connection began waiting for headers (its start, or the end of its last
 * request) and, once a second, shuts down the sockets of those still waiting
 * past the deadline; libmicrohttpd then sees the connection end and closes it.
 */
#include "guard.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* One connection: its socket, and since when it waits for headers. */
typedef struct watched {
    int fd;
    double since_s;  /* monotonic seconds */
    bool in_request; /* its headers are in: no deadline until the request ends */
    struct watched *next;
} watched;

struct guard {
    double deadline_s;
    pthread_mutex_t mu;
    pthread_cond_t quit_cv;
    bool quit;
    watched *all;
    pthread_t thread;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Shuts down the sockets past the deadline (lock held). */
static void enforce(guard *g)
{
    double now = now_s();
    for (watched *w = g->all; w; w = w->next)
        if (!w->in_request && now - w->since_s > g->deadline_s) {
            shutdown(w->fd, SHUT_RDWR);
            w->in_request = true; /* once is enough: it is closing */
        }
}

static void *watch(void *arg)
{
    guard *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->quit) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&g->quit_cv, &g->mu, &until);
        enforce(g);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

guard *guard_start(double deadline_s)
{
    guard *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->deadline_s = deadline_s;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->quit_cv, NULL);
    if (pthread_create(&g->thread, NULL, watch, g) == 0) return g;
    free(g);
    return NULL;
}

void guard_stop(guard *g)
{
    if (!g) return;
    pthread_mutex_lock(&g->mu);
    g->quit = true;
    pthread_cond_signal(&g->quit_cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    while (g->all) {
        watched *next = g->all->next;
        free(g->all);
        g->all = next;
    }
    pthread_cond_destroy(&g->quit_cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

void *guard_open(guard *g, int fd)
{
    watched *w = malloc(sizeof *w);
    if (!w) return NULL;
    pthread_mutex_lock(&g->mu);
    *w = (watched){.fd = fd, .since_s = now_s(), .next = g->all};
    g->all = w;
    pthread_mutex_unlock(&g->mu);
    return w;
}

void guard_mark(guard *g, void *conn, bool in_request)
{
    watched *w = conn;
    if (!w) return;
    pthread_mutex_lock(&g->mu);
    w->in_request = in_request;
    w->since_s = now_s();
    pthread_mutex_unlock(&g->mu);
}

void guard_close(guard *g, void *conn)
{
    if (!conn) return;
    pthread_mutex_lock(&g->mu);
    for (watched **at = &g->all; *at; at = &(*at)->next)
        if (*at == conn) {
            *at = ((watched *)conn)->next;
            break;
        }
    pthread_mutex_unlock(&g->mu);
    free(conn);
}
