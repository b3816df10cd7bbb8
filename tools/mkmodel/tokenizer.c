/*
 * tokenizer.c - gives a made model a real tokenizer and chat template.
 *
 * The tokenizer comes from one of llama.cpp's vocab files. Some families have no vocab file
 * of their own; the closest one stands in, with a few of its unused special tokens renamed
 * to the family's, so that its chat template's markers are single tokens as in the real
 * model. The chat template is the family's real one, read from llama.cpp's templates folder.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mkmodel.h"

#define TOKENS_KEY   "tokenizer.ggml.tokens"
#define TEMPLATE_KEY "tokenizer.chat_template"

/* ----------------------------------------------------------------------------
 * Vocabulary
 */

/* Drops every key of g but the tokenizer.* ones. */
static void keep_tokenizer_keys(struct gguf_context *g)
{
    for (int64_t i = gguf_get_n_kv(g) - 1; i >= 0; i--) {
        const char *key = gguf_get_key(g, i);
        if (strncmp(key, "tokenizer.", strlen("tokenizer.")) != 0) gguf_remove_key(g, key);
    }
}

/* Sets the tokens of g to those of vocab renamed as "OLD=NEW" pairs say; each OLD must be a
 * token. (Not in place: setting a key of g frees its old strings first.) */
static void rename_tokens(struct gguf_context *g, const struct gguf_context *vocab,
                          const char *const *renames)
{
    const int64_t key = gguf_find_key(vocab, TOKENS_KEY);
    const size_t n = gguf_get_arr_n(vocab, key);
    const char **tokens = xmalloc(n * sizeof(*tokens));
    for (size_t i = 0; i < n; i++)
        tokens[i] = gguf_get_arr_str(vocab, key, i);

    char **names = NULL; /* the new names, alive until gguf has copied them */
    size_t n_names = 0;
    for (; *renames; renames++, n_names++) {
        const char *eq = strchr(*renames, '=');
        size_t old_len = (size_t)(eq - *renames);
        size_t i = 0;
        while (i < n &&
               (strlen(tokens[i]) != old_len || strncmp(tokens[i], *renames, old_len) != 0))
            i++;
        if (i == n) die("the vocab file has no token '%.*s' to rename", (int)old_len, *renames);
        names = realloc(names, (n_names + 1) * sizeof(*names));
        if (!names) die("out of memory");
        names[n_names] = xstrdup(eq + 1);
        tokens[i] = names[n_names];
    }
    gguf_set_arr_str(g, TOKENS_KEY, tokens, n);
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    free(tokens);
}

/* The tokenizer.* keys of the vocab file at path, renames applied. */
static struct gguf_context *read_tokenizer(const char *path, const struct family *fam)
{
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open vocab file '%s': %s", path, strerror(errno));
    struct gguf_init_params params = {.no_alloc = true, .ctx = NULL};
    struct gguf_context *vocab = gguf_init_from_file_ptr(f, params);
    fclose(f);
    if (!vocab) die("'%s' is not a GGUF file", path);
    if (gguf_find_key(vocab, TOKENS_KEY) < 0) die("'%s' has no " TOKENS_KEY, path);

    /* gguf can only copy all keys, so copy into a scratch context and drop the rest */
    struct gguf_context *tok = gguf_init_empty();
    gguf_set_kv(tok, vocab);
    keep_tokenizer_keys(tok);
    if (fam->renames) rename_tokens(tok, vocab, fam->renames);
    gguf_free(vocab);
    return tok;
}

/* ----------------------------------------------------------------------------
 * Chat template
 */

/* The whole of the text file at path. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open chat template '%s': %s", path, strerror(errno));
    size_t cap = 1 << 14, len = 0;
    char *text = xmalloc(cap);
    size_t got;
    while ((got = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0) {
            cap *= 2;
            text = realloc(text, cap);
            if (!text) die("out of memory");
        }
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) die("cannot read chat template '%s'", path);
    text[len] = '\0';
    return text;
}

int add_tokenizer(struct gguf_context *g, const struct family *fam, const char *vocab_path,
                  const char *template_path)
{
    struct gguf_context *tok = read_tokenizer(vocab_path, fam);
    const int n_vocab = (int)gguf_get_arr_n(tok, gguf_find_key(tok, TOKENS_KEY));
    const bool has_template = gguf_find_key(tok, TEMPLATE_KEY) >= 0;
    gguf_set_kv(g, tok);
    gguf_free(tok);

    if (template_path) {
        char *text = read_text(template_path);
        gguf_set_val_str(g, TEMPLATE_KEY, text);
        free(text);
    } else if (!has_template) {
        gguf_set_val_str(g, TEMPLATE_KEY, fam->chat_template);
    }
    return n_vocab;
}
