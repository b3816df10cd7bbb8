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

#include <stddef.h>

typedef struct wim_chat {
    char *user_header;       /* owned */
    char *generation_header; /* owned */
} wim_chat;

/* Formats [system, user] with the Jinja-named template tmpl through
 * llama_chat_apply_template and splits it at the user's words. user_header and
 * generation_header, when not NULL, override the template; "{system}" in a
 * user_header override is replaced by the system text. */
int wim_chat_init(wim_chat *c, const char *tmpl, const char *system, const char *user_header,
                  const char *generation_header, char *err, size_t errlen);
void wim_chat_free(wim_chat *c);

#endif
