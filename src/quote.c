/*
 * quote.c - a sampler that keeps a margin on the document it quotes, and an
 * answer on the notes it restates.
 *
 * With quoted_margins a margin is a quote of the text it was shown, and one
 * that is not is dropped (engine.c). A small extractive reader copies well
 * but not perfectly: a name it has seen little comes out one piece wrong
 * ("Brennana"), a place turns into another's ending ("the" + "ant"), and the
 * fact is lost with the margin. So once a margin's last QUOTE_BIND tokens are
 * found together in the text, its next token must go on as the text does
 * there, or end the margin where a word ends; every other token is masked
 * before the job's own sampler chooses. What it writes before that, and a
 * reply such as "I don't know.", it writes freely.
 *
 * With quoted_answers the same holds an answer to the notes it was given:
 * such a reader's answer restates a note ("The pantry." for "... went to the
 * pantry."), and copying the place again it slips the same way ("The price",
 * from the filler's "the price of"). An answer starts a sentence, so there
 * its run is found whatever the case of its letters ("The p" in "the p").
 *
 * It works on the text, not on the document's tokens: segments are cut into
 * tokens one by one, so a sentence that starts one is cut otherwise than a
 * margin writes it, and a model may spell a word in other pieces than the
 * tokenizer did; either is the same quote. As each token is accepted it
 * tracks the longest run of the margin's last tokens found in the text and
 * every place that run ends; a token that follows one of them extends it,
 * any other starts the search again. What may come next is the document's
 * own token where one starts there, else every token whose text goes on as
 * the text does (the vocabulary looked up by text: wim_pieces, built once a
 * session).
 */
#include "quote.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Tokens found together before the margin is held to the text: one token
 * alone (" the", ".") is everywhere and binds nothing. */
enum { QUOTE_BIND = 2 };

/* ============================================================================
 * The vocabulary by text
 * ========================================================================= */

/* A token's text, where the sorted table can compare it. */
typedef struct piece {
    const char *s;
    int n;
    llama_token t;
} piece;

struct wim_pieces {
    char *bytes;  /* every token's text, one after another */
    piece *by_id; /* [n_vocab] token t's text */
    piece *order; /* [n_vocab] the same, sorted by text */
    int n_vocab;
    int longest; /* bytes of the longest token text */
    bool *eog;   /* [n_vocab] an end of generation */
};

static int text_cmp(const piece *a, const char *s, int n)
{
    int c = memcmp(a->s, s, (size_t)(a->n < n ? a->n : n));
    return c ? c : a->n - n;
}

static int by_text(const void *a, const void *b)
{
    const piece *pb = b;
    return text_cmp(a, pb->s, pb->n);
}

/* Every token's text, in bytes (offsets for now: bytes may move as it grows). */
static int read_pieces(const wim_model *m, wim_pieces *p)
{
    size_t cap = 16 * (size_t)p->n_vocab, len = 0;
    p->bytes = malloc(cap);
    if (!p->bytes) return -1;
    for (llama_token t = 0; t < p->n_vocab; t++) {
        char buf[256];
        int n = wim_token_piece(m, t, buf, sizeof buf);
        if (n < 0) n = 0;
        if (len + (size_t)n > cap) {
            char *b = realloc(p->bytes, cap *= 2);
            if (!b) return -1;
            p->bytes = b;
        }
        memcpy(p->bytes + len, buf, (size_t)n);
        p->by_id[t] = (piece){.s = (const char *)(uintptr_t)len, .n = n, .t = t};
        len += (size_t)n;
        p->longest = n > p->longest ? n : p->longest;
        p->eog[t] = llama_vocab_is_eog(m->vocab, t);
    }
    return 0;
}

wim_pieces *wim_pieces_new(const wim_model *m)
{
    wim_pieces *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n_vocab = llama_vocab_n_tokens(m->vocab);
    p->by_id = malloc((size_t)p->n_vocab * sizeof *p->by_id);
    p->order = malloc((size_t)p->n_vocab * sizeof *p->order);
    p->eog = calloc((size_t)p->n_vocab, sizeof *p->eog);
    if (!p->by_id || !p->order || !p->eog || read_pieces(m, p) != 0) {
        wim_pieces_free(p);
        return NULL;
    }
    for (int t = 0; t < p->n_vocab; t++) {
        p->by_id[t].s = p->bytes + (uintptr_t)p->by_id[t].s;
        p->order[t] = p->by_id[t];
    }
    qsort(p->order, (size_t)p->n_vocab, sizeof *p->order, by_text);
    return p;
}

void wim_pieces_free(wim_pieces *p)
{
    if (!p) return;
    free(p->bytes);
    free(p->by_id);
    free(p->order);
    free(p->eog);
    free(p);
}

/* Marks in let every token whose text is exactly s[0..n). */
static void each_token_of(const wim_pieces *p, const char *s, int n, signed char *let)
{
    int lo = 0, hi = p->n_vocab;
    while (lo < hi) { /* the first token whose text is not below s */
        int mid = (lo + hi) / 2;
        if (text_cmp(&p->order[mid], s, n) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < p->n_vocab && text_cmp(&p->order[lo], s, n) == 0; lo++)
        let[p->order[lo].t] = 1;
}

/* ============================================================================
 * The sampler
 * ========================================================================= */

typedef struct quote {
    const wim_pieces *p;
    char *text; /* [n_text] " " and the document text the margin was shown (a
                   quote of its first words starts with a space too) */
    size_t n_text;
    llama_token *cut; /* [n_text + 1] the document's token that starts at each
                         byte, as the tokenizer cut the text; -1 inside one */
    char *gen;        /* the margin's text so far */
    size_t n_gen, cap_gen;
    size_t *at; /* [cap_tok] where each of its tokens starts in gen */
    int n_tok, cap_tok;
    int len;      /* the longest run of its last tokens found in text */
    size_t *ends; /* [n_text + 1] where in text each such run ends */
    size_t n_ends;
    signed char *let; /* [n_vocab] scratch: let through this step */
    bool any_case;    /* runs found whatever the case of their letters (answers) */
} quote;

static int ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Whether text a is b, n bytes, in q's sense of the same. */
static bool same(const quote *q, const char *a, const char *b, size_t n)
{
    if (!q->any_case) return memcmp(a, b, n) == 0;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i])) return false;
    return true;
}

/* Every place in text where the margin's last k tokens end, into q->ends. */
static size_t find_ends(quote *q, int k)
{
    const char *key = q->gen + q->at[q->n_tok - k];
    size_t n = q->n_gen - q->at[q->n_tok - k];
    q->n_ends = 0;
    for (size_t e = n; n > 0 && e <= q->n_text; e++)
        if (same(q, q->text + e - n, key, n)) q->ends[q->n_ends++] = e;
    return q->n_ends;
}

static int grow(quote *q, size_t more)
{
    if (q->n_gen + more > q->cap_gen) {
        size_t cap = 2 * (q->n_gen + more) + 64;
        char *g = realloc(q->gen, cap);
        if (!g) return -1;
        q->gen = g, q->cap_gen = cap;
    }
    if (q->n_tok == q->cap_tok) {
        int cap = 2 * q->cap_tok + 16;
        size_t *a = realloc(q->at, (size_t)cap * sizeof *a);
        if (!a) return -1;
        q->at = a, q->cap_tok = cap;
    }
    return 0;
}

static void quote_accept(struct llama_sampler *smpl, llama_token tok)
{
    quote *q = smpl->ctx;
    const wim_pieces *p = q->p;
    size_t n = tok >= 0 && tok < p->n_vocab ? (size_t)p->by_id[tok].n : 0;
    if (n == 0 || grow(q, n) != 0) { /* no text (a control token), or no memory: unheld */
        q->len = 0, q->n_ends = 0;
        return;
    }
    const char *text = p->by_id[tok].s;
    q->at[q->n_tok++] = q->n_gen;
    memcpy(q->gen + q->n_gen, text, n);
    q->n_gen += n;
    size_t kept = 0;
    for (size_t i = 0; i < q->n_ends; i++) {
        size_t e = q->ends[i];
        if (e + n <= q->n_text && same(q, q->text + e, text, n)) q->ends[kept++] = e + n;
    }
    if (kept > 0) {
        q->n_ends = kept;
        q->len++;
        return;
    }
    /* the run broke (or there was none): the longest run, no longer than the
     * one that broke, ending in tok; none longer can be, or it would have
     * gone on from one of the run's ends */
    for (q->len = q->len > 0 ? q->len : 1; q->len > 0; q->len--)
        if (find_ends(q, q->len) > 0) return;
    q->n_ends = 0;
}

/* Whether a quote may end at text[e]: at the text's end, or where no letter
 * or digit goes on ("the pantry" | ".", not "the p" | "antry"). */
static bool word_ends(const quote *q, size_t e)
{
    unsigned char c = e < q->n_text ? (unsigned char)q->text[e] : ' ';
    return !(isalnum(c) || c >= 0x80);
}

static void quote_apply(struct llama_sampler *smpl, llama_token_data_array *cur)
{
    quote *q = smpl->ctx;
    const wim_pieces *p = q->p;
    if (q->len < QUOTE_BIND) return;
    bool may_end = false;
    memset(q->let, 0, (size_t)p->n_vocab);
    for (size_t i = 0; i < q->n_ends; i++) {
        size_t e = q->ends[i], left = q->n_text - e;
        may_end |= word_ends(q, e);
        if (q->cut[e] >= 0) { /* spelled as the document was */
            q->let[q->cut[e]] = 1;
            continue;
        }
        for (int n = 1; n <= p->longest && (size_t)n <= left; n++)
            each_token_of(p, q->text + e, n, q->let);
    }
    for (size_t i = 0; i < cur->size; i++) {
        llama_token t = cur->data[i].id;
        if (!q->let[t] && !(may_end && p->eog[t])) cur->data[i].logit = -INFINITY;
    }
}

static void quote_reset(struct llama_sampler *smpl)
{
    quote *q = smpl->ctx;
    q->n_gen = q->n_ends = 0;
    q->n_tok = q->len = 0;
}

static void quote_free(struct llama_sampler *smpl)
{
    quote *q = smpl->ctx;
    free(q->text);
    free(q->cut);
    free(q->gen);
    free(q->at);
    free(q->ends);
    free(q->let);
    free(q);
}

static const char *quote_name(const struct llama_sampler *smpl)
{
    (void)smpl;
    return "wim-quote";
}

static struct llama_sampler_i quote_iface = {
    .name = quote_name,
    .accept = quote_accept,
    .apply = quote_apply,
    .reset = quote_reset,
    .free = quote_free,
};

/* Where each of the document's tokens starts in q->text, as far as their
 * text is the document's (a tokenizer that changes the text stops it). */
static void cut_text(quote *q, const wim_quote_source *src)
{
    size_t base = src->spans[src->first].start;
    for (int i = src->first; i <= src->last; i++) {
        size_t at = 1 + src->spans[i].start - base;
        for (int k = src->tok_off[i]; k < src->tok_off[i + 1]; k++) {
            const piece *pc = &q->p->by_id[src->tok[k]];
            if (at + (size_t)pc->n > q->n_text || memcmp(q->text + at, pc->s, (size_t)pc->n) != 0)
                break;
            if (pc->n > 0) q->cut[at] = src->tok[k];
            at += (size_t)pc->n;
        }
    }
}

/* A sampler's state on " " and text[0..len), no token known to start anywhere
 * in it yet. NULL when out of memory. */
static quote *quote_new(const wim_pieces *p, const char *text, size_t len)
{
    quote *q = calloc(1, sizeof *q);
    if (!q) return NULL;
    *q = (quote){.p = p, .n_text = len + 1};
    q->text = malloc(q->n_text);
    q->cut = malloc((q->n_text + 1) * sizeof *q->cut);
    q->ends = malloc((q->n_text + 1) * sizeof *q->ends);
    q->let = malloc((size_t)p->n_vocab);
    if (!q->text || !q->cut || !q->ends || !q->let) {
        quote_free(&(struct llama_sampler){.ctx = q});
        return NULL;
    }
    q->text[0] = ' ';
    memcpy(q->text + 1, text, len);
    for (size_t i = 0; i <= q->n_text; i++)
        q->cut[i] = -1;
    return q;
}

/* q first, then base; both taken over (freed if it fails). */
static struct llama_sampler *chain(quote *q, struct llama_sampler *base)
{
    struct llama_sampler *c =
        q ? llama_sampler_chain_init(llama_sampler_chain_default_params()) : NULL;
    if (!c) {
        if (q) quote_free(&(struct llama_sampler){.ctx = q});
        llama_sampler_free(base);
        return NULL;
    }
    llama_sampler_chain_add(c, llama_sampler_init(&quote_iface, q));
    llama_sampler_chain_add(c, base);
    return c;
}

struct llama_sampler *wim_quote_sampler(const wim_pieces *p, const wim_quote_source *src,
                                        struct llama_sampler *base)
{
    const wim_span *first = &src->spans[src->first], *last = &src->spans[src->last];
    quote *q = quote_new(p, src->text + first->start, last->start + last->len - first->start);
    if (q) cut_text(q, src);
    return chain(q, base);
}

struct llama_sampler *wim_notes_sampler(const wim_pieces *p, const char *notes, size_t len,
                                        struct llama_sampler *base)
{
    quote *q = quote_new(p, notes, len);
    if (q) q->any_case = true;
    return chain(q, base);
}
