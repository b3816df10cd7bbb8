/*
 * chat.c - derive user and generation headers from a model's chat template.
 */
#include "chat.h"
#include "template.h"

#include <llama.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stands for the user's words; chosen so no template produces it by itself. */
static const char marker[] = "\x1fWIM-USER-CONTENT\x1f";

/* Fills {system} in an override header; the system text is inserted literally. */
static char *fill_system(const char *header, const char *system)
{
    const wim_value v = {"system", system, strlen(system)};
    int n;
    wim_piece *pieces = wim_template_pieces(header, &v, 1, &n);
    char *joined = pieces ? wim_pieces_join(pieces, n) : NULL;
    free(pieces);
    return joined;
}

static int split_at_marker(wim_chat *c, const char *formatted, char *err, size_t errlen)
{
    const char *at = strstr(formatted, marker);
    if (!at) {
        snprintf(err, errlen, "chat template dropped the user message");
        return -1;
    }
    c->user_header = strndup(formatted, (size_t)(at - formatted));
    c->generation_header = strdup(at + strlen(marker));
    if (!c->user_header || !c->generation_header) {
        wim_chat_free(c);
        snprintf(err, errlen, "out of memory formatting the chat template");
        return -1;
    }
    return 0;
}

int wim_chat_from_template(wim_chat *c, const struct llama_model *model, const char *tmpl,
                           bool think, const char *system, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    char *formatted = wim_chat_template_apply(model, tmpl, system, marker, think, err, errlen);
    if (!formatted) return -1;
    int rc = split_at_marker(c, formatted, err, errlen);
    free(formatted);
    return rc;
}

int wim_chat_init(wim_chat *c, const struct llama_model *model, bool think, const char *system,
                  const char *user_header, const char *generation_header, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (!user_header || !generation_header) {
        /* common would fall back to ChatML, which only fits ChatML models */
        if (!model || !llama_model_chat_template(model, NULL)) {
            snprintf(err, errlen,
                     "the model has no chat template; give --user-header and "
                     "--generation-header");
            return -1;
        }
        if (wim_chat_from_template(c, model, NULL, think, system, err, errlen) != 0) {
            size_t n = strlen(err);
            snprintf(err + n, errlen - n, "; give --user-header and --generation-header");
            return -1;
        }
    }
    if (user_header) {
        free(c->user_header);
        c->user_header = fill_system(user_header, system);
    }
    if (generation_header) {
        free(c->generation_header);
        c->generation_header = strdup(generation_header);
    }
    if (!c->user_header || !c->generation_header) {
        wim_chat_free(c);
        snprintf(err, errlen, "out of memory formatting the chat template");
        return -1;
    }
    return 0;
}

void wim_chat_free(wim_chat *c)
{
    free(c->user_header);
    free(c->generation_header);
    c->user_header = c->generation_header = NULL;
}
