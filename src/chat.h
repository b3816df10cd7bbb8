/*
 * chat.h - the model's chat formatting, cut into the two pieces WiM needs.
 *
 * WiM keeps one long user turn open in the KV cache while the document is
 * read, and closes it differently for each prompt. So instead of formatting
 * whole conversations we ask the model's template once for
 *     user_header:       everything before the user's words (system turn included)
 *     generation_header: everything after them, up to where the model answers.
 */
#ifndef WIM_CHAT_H
#define WIM_CHAT_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct llama_model;

typedef struct wim_chat {
    char *user_header;       /* owned */
    char *generation_header; /* owned */
} wim_chat;

/* Formats [system, user] with the model's own Jinja chat template and splits
 * it at the user's words; think selects the template's thinking or
 * no-thinking reply. user_header and generation_header, when not NULL,
 * override the template (model may then be NULL); "{system}" in a user_header
 * override is replaced by the system text. */
int wim_chat_init(wim_chat *c, const struct llama_model *model, bool think, const char *system,
                  const char *user_header, const char *generation_header, char *err, size_t errlen);

/* The headers from the Jinja template text tmpl instead of the model's own
 * (the model still supplies BOS and EOS): what wim_chat_init does without
 * overrides, open to other templates. */
int wim_chat_from_template(wim_chat *c, const struct llama_model *model, const char *tmpl,
                           bool think, const char *system, char *err, size_t errlen);

void wim_chat_free(wim_chat *c);

/* chat_template.cpp: [system, user] rendered through llama.cpp's Jinja engine
 * with tmpl, or the model's template when tmpl is NULL, up to the reply; a
 * malloc'd string, or NULL with err set. */
char *wim_chat_template_apply(const struct llama_model *model, const char *tmpl, const char *system,
                              const char *user, bool think, char *err, size_t errlen);

/* A whole conversation (roles[i], contents[i]; n turns) rendered with tmpl,
 * or the model's own template when tmpl is NULL, up to the reply; system
 * turns are folded into the next user turn where the template refuses them.
 * malloc'd, or NULL with err set. */
char *wim_chat_template_conversation(const struct llama_model *model, const char *tmpl,
                                     const char *const *roles, const char *const *contents, int n,
                                     bool think, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
