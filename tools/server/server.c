/*
 * server.c - wim-server: Writing in the Margins over HTTP, with live events as
 * Server-Sent Events and a page to watch a document being read
 * (docs/server.md).
 *
 *   wim-server -m MODEL.gguf [--host 127.0.0.1] [--port 8080] [--parallel 2]
 *              [--queue 16] [--api-key KEY] [--max-doc-tokens N] [--replica NAME]
 *              [engine flags]
 */
#include "args.h"
#include "datadir.h"
#include "readings.h"
#include "routes.h"
#include "wim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Connections: in all, from one address, and seconds a request's headers may take. */
enum { MAX_CONNECTIONS = 256, MAX_PER_ADDRESS = 64, HEADER_DEADLINE_S = 15, IDLE_TIMEOUT_S = 30 };

typedef struct settings {
    const char *model_path, *host, *api_key, *api_key_file, *web_dir;
    const char *replica; /* --replica NAME, or NULL */
    int port, parallel, queue;
    long max_doc_tokens, max_body, min_doc_tokens;
    wim_options o;
    wim_model_params mp;
} settings;

static const char usage_head[] =
    "usage: wim-server -m MODEL.gguf [options]\n"
    "\n"
    "Serves Writing in the Margins over HTTP: POST /v1/wim streams a reading's events,\n"
    "and the page at / shows a document being read (see docs/server.md).\n"
    "\n"
    "server:\n"
    "  -m, --model FILE           GGUF model\n"
    "      --host ADDR            address to listen on (127.0.0.1: this machine only)\n"
    "      --port N               (8080; 0 = any free port, printed at start)\n"
    "      --parallel N           readings at once, sharing one context (2)\n"
    "      --queue N              readings that may wait beyond those (16); more get 503\n"
    "      --api-key KEY          require \"Authorization: Bearer KEY\" on /v1/ (without a\n"
    "                             key only this machine may use it, from no other site's\n"
    "                             page); the key is seen by ps: prefer the two below\n"
    "      --api-key-file FILE    the key from the first line of FILE\n"
    "      --max-doc-tokens N     refuse longer documents with 413 (the context decides);\n"
    "                             past a slot's context, documents are read in a window\n"
    "      --max-body BYTES       refuse larger bodies with 413 (67108864)\n"
    "      --min-document-tokens N\n"
    "                             /v1/chat/completions reads a document this long or\n"
    "                             longer with WiM; shorter chats go to the model as\n"
    "                             they are (the segment size)\n"
    "      --web DIR              the page's files (share/wim/web where installed)\n"
    "      --replica NAME         this server's name among several behind a proxy: ids\n"
    "                             become NAME-r1, NAME-r2, ... (docs/deploy.md)\n"
    "  -h, --help                 this text\n"
    "      --version              the version\n"
    "Environment: WIM_API_KEY, the key when no flag gives one.\n"
    "defaults for the requests' settings (-c: the shared context's cells, split among\n"
    "the --parallel readings; 0 = the model's trained context):\n";

/* A replica's name goes into ids, and so into URLs and a proxy's routing
 * rules: short, and nothing that needs escaping. */
static void check_replica(const char *name)
{
    static const char allowed[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789-_";
    if (!name) return;
    size_t n = strlen(name);
    if (n < 1 || n > READINGS_MAX_REPLICA || strspn(name, allowed) != n)
        args_die("--replica '%s' must be 1 to %d letters, digits, '-' or '_'", name,
                 READINGS_MAX_REPLICA);
}

static void parse_args(settings *s, int argc, char **argv)
{
    wim_options_default(&s->o);
    wim_model_params_default(&s->mp);
    *s = (settings){.host = "127.0.0.1",
                    .port = 8080,
                    .parallel = 2,
                    .queue = 16,
                    .max_body = 64L << 20,
                    .min_doc_tokens = -1,
                    .o = s->o,
                    .mp = s->mp};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **text = args_is(a, "-m", "--model")          ? &s->model_path
                            : args_is(a, NULL, "--host")         ? &s->host
                            : args_is(a, NULL, "--api-key")      ? &s->api_key
                            : args_is(a, NULL, "--api-key-file") ? &s->api_key_file
                            : args_is(a, NULL, "--web")          ? &s->web_dir
                            : args_is(a, NULL, "--replica")      ? &s->replica
                                                                 : NULL;
        long *number = args_is(a, NULL, "--max-doc-tokens")        ? &s->max_doc_tokens
                       : args_is(a, NULL, "--max-body")            ? &s->max_body
                       : args_is(a, NULL, "--min-document-tokens") ? &s->min_doc_tokens
                                                                   : NULL;
        int *small = args_is(a, NULL, "--port")       ? &s->port
                     : args_is(a, NULL, "--parallel") ? &s->parallel
                     : args_is(a, NULL, "--queue")    ? &s->queue
                                                      : NULL;
        if (args_is(a, "-h", "--help")) {
            printf("%s%s", usage_head, args_engine_usage);
            exit(0);
        } else if (args_is(a, NULL, "--version")) {
            args_version();
        } else if (text || number || small) {
            if (!v) args_die("%s needs a value", a);
            if (text) *text = v;
            if (number) *number = args_whole(a, v, number == &s->min_doc_tokens ? 0 : 1, LONG_MAX);
            if (small) *small = (int)args_whole(a, v, small == &s->parallel ? 1 : 0, 65535);
            i++;
        } else if (!args_engine(argc, argv, &i, &s->o, &s->mp)) {
            args_die("unknown option '%s' (see wim-server --help)", a);
        }
    }
    if (!s->model_path) args_die("no model given: use -m MODEL.gguf");
    check_replica(s->replica);
}

/* The key's first line from path, kept for the server's life. */
static const char *read_key_file(const char *path)
{
    static char key[1024];
    FILE *f = fopen(path, "r");
    if (!f) args_die("cannot open --api-key-file '%s': %s", path, strerror(errno));
    bool got = fgets(key, sizeof key, f) != NULL;
    fclose(f);
    key[strcspn(key, "\r\n")] = '\0';
    if (!got || !key[0]) args_die("--api-key-file '%s' has no key on its first line", path);
    return key;
}

/* --api-key-file, then --api-key, then WIM_API_KEY; NULL for none. */
static const char *api_key(const settings *s)
{
    const char *key = s->api_key_file ? read_key_file(s->api_key_file)
                      : s->api_key    ? s->api_key
                                      : getenv("WIM_API_KEY");
    if (key && !key[0]) args_die("the API key is empty");
    return key;
}

/* URLs unescaped as libmicrohttpd does, except that one with an escaped NUL
 * (%00) is left as it came: unescaped, the path would end there, and
 * "/v1/wim/r1%00" would name r1. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls, (void)c;
    char *copy = strdup(s);
    if (!copy) return strlen(s);
    size_t n = MHD_http_unescape(copy);
    if (strlen(copy) == n)
        memcpy(s, copy, n + 1);
    else
        n = strlen(s);
    free(copy);
    return n;
}

static struct MHD_Daemon *listen_on(const settings *s, server *sv)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    if (inet_pton(AF_INET, s->host, &addr.sin_addr) != 1)
        args_die("--host '%s' is not an IPv4 address", s->host);
    return MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
        (uint16_t)s->port, NULL, NULL, routes_handle, sv, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, routes_completed, sv,
        MHD_OPTION_NOTIFY_CONNECTION, routes_connection, sv, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)MAX_PER_ADDRESS, MHD_OPTION_UNESCAPE_CALLBACK,
        unescape, NULL, MHD_OPTION_END);
}

/* The most bytes a document one reading takes can have: its slot's cells, or
 * --max-doc-tokens (past the slot, a document is read in a window), times the
 * vocabulary's longest piece. A longer text is refused on its length, before
 * a minute goes into tokenizing megabytes that cannot be read. */
static size_t slot_bytes(const wim_model *m, const settings *s)
{
    wim_model_info info;
    wim_model_describe(m, &info);
    wim_options slot = s->o;
    slot.n_ctx = (s->o.n_ctx ? s->o.n_ctx : info.n_ctx_train) / s->parallel;
    if (s->max_doc_tokens > 0) slot.n_ctx = (int)s->max_doc_tokens;
    slot.window = WIM_WINDOW_OFF; /* the bound is the slot's, or --max-doc-tokens */
    return wim_model_max_doc_bytes(m, &slot);
}

/* Every stream has its last chunk (the shutdown's error event) once the
 * readings stop, but its connection's thread may not have sent it yet: wait
 * for the connections to close, at most 5 s (a client's idle keep-alive
 * connection would hold it that long), before the daemon closes them all. */
static void drain(struct MHD_Daemon *d)
{
    for (int i = 0; i < 50; i++) {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (!info || info->num_connections == 0) return;
        nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    }
}

int main(int argc, char **argv)
{
    args_program = "wim-server";
    settings s;
    parse_args(&s, argc, argv);
    char *web = s.web_dir ? NULL : data_dir("web", WIM_WEB_DIR);
    if (web) s.web_dir = web;
    const char *key = api_key(&s);
    /* SIGINT and SIGTERM are taken by sigwait below, so no other thread (the
     * readers, libmicrohttpd's) is ever interrupted by them: blocked before
     * any thread starts, which inherits the mask */
    sigset_t quit;
    sigemptyset(&quit);
    sigaddset(&quit, SIGINT);
    sigaddset(&quit, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &quit, NULL);
    char err[512];
    if (wim_options_check(&s.o, err, sizeof err) != 0) args_die("%s", err);
    wim_model *m = wim_model_load(s.model_path, &s.mp, err, sizeof err);
    if (!m) args_die("%s", err);
    const char *slash = strrchr(s.model_path, '/');
    server sv = {.model = m,
                 .model_name = slash ? slash + 1 : s.model_path,
                 .defaults = s.o,
                 .api_key = key,
                 .web_dir = s.web_dir,
                 .max_doc_tokens = s.max_doc_tokens,
                 .max_body = (size_t)s.max_body,
                 .min_doc_tokens = s.min_doc_tokens >= 0 ? s.min_doc_tokens : s.o.segment_tokens,
                 .replica = s.replica,
                 .parallel = s.parallel,
                 .started = (long)time(NULL)};
    sv.max_doc_bytes = slot_bytes(m, &s);
    sv.pool = wim_pool_new(m, &s.o, s.parallel, s.o.n_ctx, err, sizeof err);
    if (!sv.pool) args_die("%s", err);
    sv.rs = readings_start(sv.pool, s.parallel, s.queue, s.replica);
    if (!sv.rs) args_die("cannot start %d reading threads", s.parallel);
    sv.guard = guard_start(HEADER_DEADLINE_S);
    if (!sv.guard) args_die("cannot start the connection guard");
    struct MHD_Daemon *d = listen_on(&s, &sv);
    if (!d) {
        guard_stop(sv.guard);
        readings_stop(sv.rs);
        readings_free(sv.rs);
        wim_pool_free(sv.pool);
        wim_model_free(m);
        args_die("cannot listen on %s:%d (in use, or not allowed)", s.host, s.port);
    }
    const union MHD_DaemonInfo *bound = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    fprintf(stderr, "wim-server: listening on http://%s:%d/ (%s, %d at once%s%s)\n", s.host,
            bound ? bound->port : s.port, sv.model_name, s.parallel, s.replica ? ", replica " : "",
            s.replica ? s.replica : "");
    int sig;
    sigwait(&quit, &sig);
    fprintf(stderr, "wim-server: stopping\n");
    readings_stop(sv.rs); /* ends every stream, so their connections close */
    drain(d);
    MHD_stop_daemon(d);
    guard_stop(sv.guard);
    readings_free(sv.rs);
    wim_pool_free(sv.pool);
    wim_model_free(m);
    free(web);
    return 0;
}
