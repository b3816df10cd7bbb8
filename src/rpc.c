/*
 * rpc.c - llama.cpp's RPC servers (its rpc-server, run on other machines) as
 * devices of this process, so that -ngl spreads a model's layers over them
 * too: for a model too large for one machine (docs/deploy.md). It needs a
 * llama.cpp built with GGML_RPC=ON. llama.cpp's RPC client aborts the whole
 * process when a server cannot be reached, so each is tried here first, to be
 * refused in one line instead.
 */
#include "model.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ggml_backend_rpc_add_server, found by name: it is there only in an RPC build. */
typedef ggml_backend_reg_t (*add_server_fn)(const char *endpoint);

/* True when endpoint is HOST:PORT, as llama.cpp reads it (split at the first
 * ':', IPv4), and takes a TCP connection now. */
static bool reachable(const char *endpoint)
{
    const char *colon = strchr(endpoint, ':');
    char host[256], *end;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || colon == endpoint || *end || port < 1 || port > 65535 ||
        (size_t)(colon - endpoint) >= sizeof host)
        return false;
    snprintf(host, sizeof host, "%.*s", (int)(colon - endpoint), endpoint);
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0) return false;
    bool ok = false;
    for (struct addrinfo *a = res; a && !ok; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        ok = fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) == 0;
        if (fd >= 0) close(fd);
    }
    freeaddrinfo(res);
    return ok;
}

/* A server named twice, or by a second model's load, keeps its one entry. */
static void register_once(ggml_backend_reg_t reg)
{
    for (size_t i = 0; i < ggml_backend_reg_count(); i++)
        if (ggml_backend_reg_get(i) == reg) return;
    ggml_backend_register(reg);
}

int wim_rpc_add_servers(const char *servers, char *err, size_t errlen)
{
    ggml_backend_reg_t rpc = ggml_backend_reg_by_name("RPC");
    add_server_fn add =
        rpc ? (add_server_fn)ggml_backend_reg_get_proc_address(rpc, "ggml_backend_rpc_add_server")
            : NULL;
    if (!add) {
        snprintf(err, errlen,
                 "--rpc: this llama.cpp has no RPC backend (build it with "
                 "WIM_LLAMA_CMAKE_ARGS=-DGGML_RPC=ON, see docs/deploy.md)");
        return -1;
    }
    char *list = strdup(servers), *save = NULL;
    int rc = list && *servers ? 0 : -1;
    if (rc) snprintf(err, errlen, "--rpc needs HOST:PORT[,HOST:PORT...]");
    for (char *e = list ? strtok_r(list, ",", &save) : NULL; e && !rc;
         e = strtok_r(NULL, ",", &save)) {
        ggml_backend_reg_t reg = reachable(e) ? add(e) : NULL;
        if (!reg) {
            snprintf(err, errlen, "--rpc: cannot reach an RPC server with devices at '%s'", e);
            rc = -1;
        } else {
            register_once(reg);
        }
    }
    free(list);
    return rc;
}
