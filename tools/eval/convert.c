/*
 * convert.c - HotpotQA (distractor setting) and MultiHop-RAG made into
 * long-context examples: each question's own passages, padded with other
 * passages of the same file to a length in model tokens, the own passages at
 * seeded places among the padding.
 *
 * Every passage is "Title\nbody", passages are parted by a blank line. The
 * padding is drawn from a pool of the file's passages, one per title, so that
 * no passage can appear twice and none shares a title with an own passage. The
 * last padding passage may be cut at a sentence or word end (never inside a
 * UTF-8 character, as cuts fall on ASCII spaces) to land within 2%.
 *
 * Each question draws from its own random streams, made from the seed and its
 * place in the file, so an example does not depend on --count or on the
 * questions skipped before it.
 */
#include "convert.h"
#include "example.h"
#include "strbuf.h"
#include "tokens.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SEPARATOR    "\n\n"
#define MAX_ATTEMPTS 8

#define HOTPOTQA_SHAPE                                                                             \
    "a HotpotQA distractor file (expected a JSON array of objects with question, answer, "         \
    "context)"
#define QUERIES_SHAPE                                                                              \
    "a MultiHop-RAG queries file (expected a JSON array of objects with query, answer, "           \
    "evidence_list)"
#define CORPUS_SHAPE                                                                               \
    "a MultiHop-RAG corpus file (expected a JSON array of objects with title, body)"

/* ---- reading the files ---- */

static char *read_whole(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    wim_strbuf b = {0};
    bool ok = true; /* false once out of memory: the rest is read but not kept */
    char chunk[1 << 16];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ok = ok && wim_strbuf_append(&b, chunk, n);
    int read_errno = ferror(f) ? errno : 0;
    fclose(f);
    ok = ok && wim_strbuf_append(&b, "", 0); /* an empty file is still a string */
    if (read_errno || !ok) {
        if (read_errno)
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(read_errno));
        else
            snprintf(err, errlen, "out of memory reading %s", path);
        wim_strbuf_free(&b);
        return NULL;
    }
    return b.s;
}

/* The parsed file; NULL with a reason naming it, shape saying what it should be. */
static cJSON *load_json(const char *path, const char *shape, char *err, size_t errlen)
{
    char *text = read_whole(path, err, errlen);
    if (!text) return NULL;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsArray(root)) {
        snprintf(err, errlen, "%s is not %s", path, shape);
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

static const char *string_of(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool is_string_list(const cJSON *j)
{
    if (!cJSON_IsArray(j)) return false;
    const cJSON *item;
    cJSON_ArrayForEach(item, j) if (!cJSON_IsString(item)) return false;
    return true;
}

/* A HotpotQA paragraph: [title, [sentence, ...]]. */
static bool is_paragraph(const cJSON *j)
{
    return cJSON_IsArray(j) && cJSON_GetArraySize(j) == 2 &&
           cJSON_IsString(cJSON_GetArrayItem(j, 0)) && is_string_list(cJSON_GetArrayItem(j, 1));
}

static const char *hotpotqa_item_fault(const cJSON *q)
{
    if (!cJSON_IsObject(q)) return "is not an object";
    if (!string_of(q, "question")) return "has no string \"question\"";
    if (!string_of(q, "answer")) return "has no string \"answer\"";
    const cJSON *context = cJSON_GetObjectItemCaseSensitive(q, "context");
    if (!cJSON_IsArray(context)) return "has no \"context\" list";
    const cJSON *par;
    cJSON_ArrayForEach(par, context) if (
        !is_paragraph(par)) return "has a context paragraph that is not [title, [sentence, ...]]";
    return NULL;
}

static const char *query_item_fault(const cJSON *q)
{
    if (!cJSON_IsObject(q)) return "is not an object";
    if (!string_of(q, "query")) return "has no string \"query\"";
    if (!string_of(q, "answer")) return "has no string \"answer\"";
    const cJSON *evidence = cJSON_GetObjectItemCaseSensitive(q, "evidence_list");
    if (!cJSON_IsArray(evidence)) return "has no \"evidence_list\" list";
    const cJSON *e;
    cJSON_ArrayForEach(
        e, evidence) if (!string_of(e, "title")) return "has evidence without a string \"title\"";
    return NULL;
}

static const char *article_fault(const cJSON *a)
{
    if (!cJSON_IsObject(a)) return "is not an object";
    if (!string_of(a, "title")) return "has no string \"title\"";
    if (!string_of(a, "body")) return "has no string \"body\"";
    return NULL;
}

/* 0 when every item of root passes fault(), else -1 naming the first that does not. */
static int check_items(const cJSON *root, const char *(*fault)(const cJSON *), const char *path,
                       const char *shape, char *err, size_t errlen)
{
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        const char *why = fault(item);
        if (why) {
            snprintf(err, errlen, "%s is not %s: item %d %s", path, shape, i, why);
            return -1;
        }
        i++;
    }
    return 0;
}

/* ---- passages ---- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* s without its leading and trailing white space: where it starts, its length in *n. */
static const char *trimmed(const char *s, size_t *n)
{
    *n = s ? strlen(s) : 0;
    while (*n && is_space(*s))
        s++, --*n;
    while (*n && is_space(s[*n - 1]))
        --*n;
    return s;
}

/* "Title\nbody"; just the title when the body is empty. NULL when out of memory. */
static char *render(const char *title, const char *const *parts, int n_parts, size_t *len)
{
    wim_strbuf b = {0};
    bool ok = wim_strbuf_puts(&b, title); /* even an empty title makes a string */
    const char *sep = "\n";
    for (int i = 0; i < n_parts; i++) {
        /* HotpotQA's sentences mostly carry a leading space, but not all do and
         * some carry a trailing one: each is trimmed and one space goes between. */
        size_t n;
        const char *part = trimmed(parts[i], &n);
        if (!n) continue;
        ok = ok && wim_strbuf_puts(&b, sep) && wim_strbuf_append(&b, part, n);
        sep = " ";
    }
    if (!ok) {
        wim_strbuf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.s;
}

static char *render_paragraph(const cJSON *par, size_t *len)
{
    const cJSON *sentences = cJSON_GetArrayItem(par, 1);
    int n = cJSON_GetArraySize(sentences);
    const char **parts = calloc((size_t)(n ? n : 1), sizeof *parts);
    if (!parts) return NULL;
    for (int i = 0; i < n; i++)
        parts[i] = cJSON_GetArrayItem(sentences, i)->valuestring;
    char *text = render(cJSON_GetArrayItem(par, 0)->valuestring, parts, n, len);
    free(parts);
    return text;
}

static char *render_article(const cJSON *a, size_t *len)
{
    const char *body = string_of(a, "body");
    return render(string_of(a, "title"), &body, 1, len);
}

/* ---- the pool of padding: one passage per title ---- */

typedef struct passage {
    const char *title; /* in the parsed file */
    char *text;
    size_t len;
    int tokens; /* -1 until counted */
} passage;

typedef struct pool {
    passage *items;
    size_t n, cap;
    size_t *slots; /* by title's hash: index + 1, 0 for none */
    size_t n_slots;
} pool;

static uint64_t hash_of(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The slot that holds title, or the empty one where it would go. */
static size_t *slot_of(const pool *pl, const char *title)
{
    size_t i = hash_of(title) & (pl->n_slots - 1);
    while (pl->slots[i] && strcmp(pl->items[pl->slots[i] - 1].title, title) != 0)
        i = (i + 1) & (pl->n_slots - 1);
    return &pl->slots[i];
}

static const passage *pool_find(const pool *pl, const char *title)
{
    if (!pl->n_slots) return NULL;
    size_t at = *slot_of(pl, title);
    return at ? &pl->items[at - 1] : NULL;
}

/* Room for one more passage, the table kept at most half full. */
static int pool_reserve(pool *pl)
{
    if (pl->n == pl->cap) {
        size_t cap = pl->cap ? pl->cap * 2 : 64;
        passage *items = realloc(pl->items, cap * sizeof *items);
        if (!items) return -1;
        pl->items = items;
        pl->cap = cap;
    }
    if (2 * (pl->n + 1) <= pl->n_slots) return 0;
    size_t n_slots = pl->n_slots ? pl->n_slots * 2 : 128;
    size_t *slots = calloc(n_slots, sizeof *slots);
    if (!slots) return -1;
    free(pl->slots);
    pl->slots = slots;
    pl->n_slots = n_slots;
    for (size_t i = 0; i < pl->n; i++)
        *slot_of(pl, pl->items[i].title) = i + 1;
    return 0;
}

/* Adds a passage whose title is not there yet; takes text. 0 or -1. */
static int pool_add(pool *pl, const char *title, char *text, size_t len)
{
    if (pool_reserve(pl) != 0) {
        free(text);
        return -1;
    }
    pl->items[pl->n] = (passage){.title = title, .text = text, .len = len, .tokens = -1};
    *slot_of(pl, title) = ++pl->n;
    return 0;
}

static void pool_free(pool *pl)
{
    for (size_t i = 0; i < pl->n; i++)
        free(pl->items[i].text);
    free(pl->items);
    free(pl->slots);
}

/* ---- one question's context ---- */

typedef struct question {
    const char *id, *query, *answer;
    const char **own;    /* its own passages' texts, in the file's order */
    const char **titles; /* and their titles */
    int n_own;
} question;

/* A padding passage in the context: its first len bytes. */
typedef struct pick {
    size_t index, len;
} pick;

typedef struct conv {
    const eval_convert_params *p;
    const struct llama_vocab *v;
    const char *padding_file; /* named when it has too little to pad with */
    pool pool;
    size_t *order; /* the pool's indices, shuffled per question */
    pick *picks;
    long allowed; /* tokens either side of the length asked for */
    int separator_tokens;
    char *err;
    size_t errlen;
} conv;

static int out_of_memory(conv *c)
{
    snprintf(c->err, c->errlen, "out of memory");
    return -1;
}

static int count(const conv *c, const char *text, size_t len)
{
    return eval_count_tokens(c->v, text, len);
}

static int passage_tokens(const conv *c, passage *ps)
{
    if (ps->tokens < 0) ps->tokens = count(c, ps->text, ps->len);
    return ps->tokens;
}

/* A seed of its own for each question and each use (which padding, where). */
static uint64_t question_seed(uint64_t seed, uint64_t index, uint64_t use)
{
    uint64_t s = index * 2 + use;
    uint64_t mixed = seed ^ eval_rng_next(&s);
    return eval_rng_next(&mixed);
}

static bool is_own(const question *q, const char *title)
{
    for (int i = 0; i < q->n_own; i++)
        if (strcmp(q->titles[i], title) == 0) return true;
    return false;
}

/* Where a passage cut at len ends a sentence: after . ! or ? (closing quotes or
 * brackets allowed after it), or at a line's end. */
static bool ends_sentence(const char *s, size_t len)
{
    if (s[len] == '\n') return true;
    size_t j = len;
    for (;;) {
        if (j >= 1 && strchr("\"')]", s[j - 1]))
            j--;
        else if (j >= 3 && (memcmp(s + j - 3, "\xE2\x80\x9D", 3) == 0 ||
                            memcmp(s + j - 3, "\xE2\x80\x99", 3) == 0))
            j -= 3; /* ” and ’ */
        else
            break;
    }
    return j >= 1 && strchr(".!?", s[j - 1]) != NULL;
}

/* The byte lengths at which ps can be cut: before each space that follows a
 * word of its body. Their number; -1 when out of memory. */
static long word_ends(const passage *ps, size_t **ends)
{
    const char *s = ps->text, *nl = strchr(s, '\n');
    size_t n = 0, cap = 64;
    *ends = malloc(cap * sizeof **ends);
    if (!*ends) return -1;
    for (size_t i = nl ? (size_t)(nl - s) + 2 : ps->len; i < ps->len; i++) {
        if (!is_space(s[i]) || is_space(s[i - 1])) continue;
        if (n == cap) {
            size_t *grown = realloc(*ends, (cap *= 2) * sizeof *grown);
            if (!grown) return -1;
            *ends = grown;
        }
        (*ends)[n++] = i;
    }
    return (long)n;
}

/* The longest cut of ps at a word's end that counts at most room tokens, or an
 * earlier sentence end when that still comes within slack of room: 0 when not
 * even the title and a word fit. Its tokens in *tokens. */
static size_t trim(const conv *c, const passage *ps, long room, long slack, int *tokens)
{
    size_t *ends;
    long n = word_ends(ps, &ends);
    long lo = -1, hi = n; /* ends[lo] fits (or lo = -1), ends[hi] does not (or hi = n) */
    while (hi - lo > 1) {
        long mid = lo + (hi - lo) / 2;
        if (count(c, ps->text, ends[mid]) <= room)
            lo = mid;
        else
            hi = mid;
    }
    size_t cut = 0;
    if (lo >= 0) {
        cut = ends[lo];
        *tokens = count(c, ps->text, cut);
        for (long i = lo; i >= 0; i--) {
            if (!ends_sentence(ps->text, ends[i])) continue;
            int t = count(c, ps->text, ends[i]);
            if (t >= room - slack) cut = ends[i], *tokens = t;
            break;
        }
    }
    free(ends);
    return cut;
}

/* Draws padding in a seeded order until the estimate (the own passages, the
 * padding and the separators counted apart) reaches aim. The number of picks;
 * *exhausted when the pool ran out first. */
static size_t pick_padding(conv *c, const question *q, uint64_t index, long aim, int own_tokens,
                           bool *exhausted)
{
    size_t n = c->pool.n, picked = 0;
    for (size_t i = 0; i < n; i++)
        c->order[i] = i;
    uint64_t state = question_seed(c->p->seed, index, 0);
    long est = own_tokens, slack = c->allowed / 2;
    *exhausted = true;
    for (size_t k = 0; k < n; k++) {
        size_t j = k + (size_t)eval_rng_below(&state, n - k), at = c->order[j];
        c->order[j] = c->order[k], c->order[k] = at;
        passage *ps = &c->pool.items[at];
        if (is_own(q, ps->title)) continue;
        long separator = q->n_own || picked ? c->separator_tokens : 0;
        long room = aim - est - separator;
        if (room <= slack) {
            *exhausted = false;
            break;
        }
        int t = passage_tokens(c, ps);
        if (t <= room) {
            c->picks[picked++] = (pick){at, ps->len};
            est += separator + t;
            continue;
        }
        size_t cut = trim(c, ps, room, slack, &t);
        if (!cut) continue; /* a shorter passage may still fit */
        c->picks[picked++] = (pick){at, cut};
        *exhausted = false;
        break;
    }
    return picked;
}

/* Appends a passage, after a separator unless it is the first; false when out
 * of memory. */
static bool add_passage(wim_strbuf *out, int *n_added, const char *text, size_t len)
{
    if ((*n_added)++ && !wim_strbuf_puts(out, SEPARATOR)) return false;
    return wim_strbuf_append(out, text, len);
}

/* The context: the padding in its drawn order, each own passage (in the file's
 * order) in one of the gaps around it, drawn with the question's seed. */
static int place(const conv *c, const question *q, uint64_t index, size_t n_picks, wim_strbuf *out)
{
    size_t *gaps = calloc((size_t)q->n_own + 1, sizeof *gaps);
    if (!gaps) return -1;
    uint64_t state = question_seed(c->p->seed, index, 1);
    for (int i = 0; i < q->n_own; i++) {
        size_t g = (size_t)eval_rng_below(&state, n_picks + 1);
        int j = i;
        for (; j > 0 && gaps[j - 1] > g; j--)
            gaps[j] = gaps[j - 1];
        gaps[j] = g;
    }
    wim_strbuf_clear(out);
    bool ok = true;
    int n_added = 0, o = 0;
    for (size_t k = 0; k <= n_picks; k++) {
        for (; o < q->n_own && gaps[o] == k; o++)
            ok = ok && add_passage(out, &n_added, q->own[o], strlen(q->own[o]));
        if (k < n_picks)
            ok = ok &&
                 add_passage(out, &n_added, c->pool.items[c->picks[k].index].text, c->picks[k].len);
    }
    free(gaps);
    return ok ? 0 : -1;
}

/* q's context in out: 0, 1 when its own passages alone are too long, or -1
 * with a reason. The estimate of the picks is off by what the tokenizer joins
 * across the separators, so the aim moves by what the whole context missed. */
static int build_context(conv *c, const question *q, uint64_t index, wim_strbuf *out)
{
    long tokens = c->p->tokens, aim = tokens;
    wim_strbuf own = {0};
    bool ok = true;
    int n_added = 0;
    for (int i = 0; i < q->n_own; i++)
        ok = ok && add_passage(&own, &n_added, q->own[i], strlen(q->own[i]));
    int own_tokens = own.len ? count(c, own.s, own.len) : 0;
    wim_strbuf_free(&own);
    if (!ok) return out_of_memory(c);
    if (own_tokens > tokens) return 1;
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        bool exhausted;
        size_t n_picks = pick_padding(c, q, index, aim, own_tokens, &exhausted);
        if (place(c, q, index, n_picks, out) != 0) return out_of_memory(c);
        long got = count(c, wim_strbuf_str(out), out->len);
        if (labs(got - tokens) <= c->allowed) return 0;
        if (exhausted && got < tokens) {
            snprintf(c->err, c->errlen,
                     "not enough other passages in %s to pad to %ld tokens (question %s "
                     "reaches %ld)",
                     c->padding_file, tokens, q->id, got);
            return -1;
        }
        aim += tokens - got;
    }
    snprintf(c->err, c->errlen, "cannot bring the context of question %s within 2%% of %ld tokens",
             q->id, tokens);
    return -1;
}

/* Builds q's example and writes it, or counts it skipped. 0 or -1. */
static int convert_question(conv *c, const question *q, uint64_t index, FILE *out, int *written,
                            int *skipped)
{
    wim_strbuf context = {0};
    int rc = build_context(c, q, index, &context);
    if (rc == 1) ++*skipped;
    if (rc == 0) {
        eval_example e;
        const char *target = q->answer;
        if (eval_example_set(&e, q->id, wim_strbuf_str(&context), q->query, &target, 1, false) !=
            0) {
            rc = out_of_memory(c);
        } else {
            rc = eval_example_write(out, &e);
            if (rc != 0)
                snprintf(c->err, c->errlen, "cannot write the examples: %s", strerror(errno));
            eval_example_free(&e);
            if (rc == 0) ++*written;
        }
    }
    wim_strbuf_free(&context);
    return rc < 0 ? -1 : 0;
}

static bool more_wanted(const conv *c, int written)
{
    return c->p->count <= 0 || written < c->p->count;
}

/* Makes room for picking from the whole pool. 0 or -1. */
static int start_picking(conv *c)
{
    size_t n = c->pool.n ? c->pool.n : 1;
    c->order = malloc(n * sizeof *c->order);
    c->picks = malloc(n * sizeof *c->picks);
    return c->order && c->picks ? 0 : -1;
}

/* ---- HotpotQA ---- */

static int hotpotqa_pool(conv *c, const cJSON *root)
{
    const cJSON *q, *par;
    cJSON_ArrayForEach(q, root)
    {
        cJSON_ArrayForEach(par, cJSON_GetObjectItemCaseSensitive(q, "context"))
        {
            const char *title = cJSON_GetArrayItem(par, 0)->valuestring;
            if (pool_find(&c->pool, title)) continue;
            size_t len;
            char *text = render_paragraph(par, &len);
            if (!text || pool_add(&c->pool, title, text, len) != 0) return -1;
        }
    }
    return 0;
}

/* One question: its ten paragraphs are its own passages. */
static int hotpotqa_question(conv *c, const cJSON *item, int index, FILE *out, int *written,
                             int *skipped)
{
    const cJSON *context = cJSON_GetObjectItemCaseSensitive(item, "context"), *par;
    int n = cJSON_GetArraySize(context);
    char fallback_id[32];
    snprintf(fallback_id, sizeof fallback_id, "hotpotqa-%d", index);
    const char *id = string_of(item, "_id");
    question q = {.id = id ? id : fallback_id,
                  .query = string_of(item, "question"),
                  .answer = string_of(item, "answer"),
                  .own = calloc((size_t)n + 1, sizeof(char *)),
                  .titles = calloc((size_t)n + 1, sizeof(char *))};
    int rc = q.own && q.titles ? 0 : out_of_memory(c);
    for (par = rc == 0 ? context->child : NULL; par; par = par->next) {
        size_t len;
        q.titles[q.n_own] = cJSON_GetArrayItem(par, 0)->valuestring;
        if (!(q.own[q.n_own] = render_paragraph(par, &len))) {
            rc = out_of_memory(c);
            break;
        }
        q.n_own++;
    }
    if (rc == 0) rc = convert_question(c, &q, (uint64_t)index, out, written, skipped);
    for (int i = 0; q.own && i < q.n_own; i++)
        free((char *)q.own[i]);
    free(q.own);
    free(q.titles);
    return rc;
}

static int convert_hotpotqa(conv *c, FILE *out, int *written, int *skipped)
{
    const char *path = c->p->input;
    if (c->p->corpus) {
        snprintf(c->err, c->errlen, "hotpotqa takes no corpus file (only multihop-rag does)");
        return -1;
    }
    cJSON *root = load_json(path, HOTPOTQA_SHAPE, c->err, c->errlen);
    if (!root) return -1;
    int rc = check_items(root, hotpotqa_item_fault, path, HOTPOTQA_SHAPE, c->err, c->errlen);
    if (rc == 0 && (hotpotqa_pool(c, root) != 0 || start_picking(c) != 0)) rc = out_of_memory(c);
    c->padding_file = path;
    int index = 0;
    const cJSON *item;
    for (item = root->child; rc == 0 && item && more_wanted(c, *written); item = item->next)
        rc = hotpotqa_question(c, item, index++, out, written, skipped);
    cJSON_Delete(root);
    return rc;
}

/* ---- MultiHop-RAG ---- */

static int multihop_pool(conv *c, const cJSON *corpus)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, corpus)
    {
        const char *title = string_of(a, "title");
        if (pool_find(&c->pool, title)) continue;
        size_t len;
        char *text = render_article(a, &len);
        if (!text || pool_add(&c->pool, title, text, len) != 0) return -1;
    }
    return 0;
}

/* One query: the articles its evidence comes from (each once) are its own
 * passages; one missing from the corpus skips it. */
static int multihop_question(conv *c, const cJSON *item, int index, FILE *out, int *written,
                             int *skipped)
{
    const cJSON *evidence = cJSON_GetObjectItemCaseSensitive(item, "evidence_list"), *e;
    int n = cJSON_GetArraySize(evidence);
    char id[32];
    snprintf(id, sizeof id, "mhrag-%d", index);
    question q = {.id = id,
                  .query = string_of(item, "query"),
                  .answer = string_of(item, "answer"),
                  .own = calloc((size_t)n + 1, sizeof(char *)),
                  .titles = calloc((size_t)n + 1, sizeof(char *))};
    int rc = q.own && q.titles ? 0 : out_of_memory(c);
    bool missing = false;
    for (e = rc == 0 ? evidence->child : NULL; e; e = e->next) {
        const passage *article = pool_find(&c->pool, string_of(e, "title"));
        missing = missing || !article;
        if (!article || is_own(&q, article->title)) continue;
        q.titles[q.n_own] = article->title;
        q.own[q.n_own++] = article->text;
    }
    if (rc == 0 && missing) ++*skipped;
    if (rc == 0 && !missing) rc = convert_question(c, &q, (uint64_t)index, out, written, skipped);
    free(q.own);
    free(q.titles);
    return rc;
}

static int convert_multihop(conv *c, FILE *out, int *written, int *skipped)
{
    const eval_convert_params *p = c->p;
    if (!p->corpus) {
        snprintf(c->err, c->errlen,
                 "multihop-rag needs its corpus file (corpus.json) besides the queries file");
        return -1;
    }
    cJSON *corpus = load_json(p->corpus, CORPUS_SHAPE, c->err, c->errlen), *queries = NULL;
    int rc = corpus ? check_items(corpus, article_fault, p->corpus, CORPUS_SHAPE, c->err, c->errlen)
                    : -1;
    if (rc == 0) queries = load_json(p->input, QUERIES_SHAPE, c->err, c->errlen);
    if (rc == 0)
        rc = queries ? check_items(queries, query_item_fault, p->input, QUERIES_SHAPE, c->err,
                                   c->errlen)
                     : -1;
    if (rc == 0 && (multihop_pool(c, corpus) != 0 || start_picking(c) != 0)) rc = out_of_memory(c);
    c->padding_file = p->corpus;
    int index = 0;
    const cJSON *item;
    for (item = queries ? queries->child : NULL; rc == 0 && item && more_wanted(c, *written);
         item = item->next)
        rc = multihop_question(c, item, index++, out, written, skipped);
    cJSON_Delete(queries);
    cJSON_Delete(corpus);
    return rc;
}

/* ---- the entry ---- */

int eval_convert(const eval_convert_params *p, const struct llama_vocab *v, FILE *out, int *written,
                 int *skipped, char *err, size_t errlen)
{
    *written = *skipped = 0;
    const char *format = p->format ? p->format : "";
    bool hotpotqa = strcmp(format, "hotpotqa") == 0;
    if (!hotpotqa && strcmp(format, "multihop-rag") != 0) {
        snprintf(err, errlen, "unknown format '%s' (hotpotqa or multihop-rag)", format);
        return -1;
    }
    if (p->tokens <= 0) {
        snprintf(err, errlen, "the context length must be a positive number of tokens, not %ld",
                 p->tokens);
        return -1;
    }
    if (!p->input) {
        snprintf(err, errlen, "no input file given");
        return -1;
    }
    conv c = {.p = p,
              .v = v,
              .allowed = p->tokens / 50,
              .separator_tokens = eval_count_tokens(v, SEPARATOR, strlen(SEPARATOR)),
              .err = err,
              .errlen = errlen};
    int rc = hotpotqa ? convert_hotpotqa(&c, out, written, skipped)
                      : convert_multihop(&c, out, written, skipped);
    pool_free(&c.pool);
    free(c.order);
    free(c.picks);
    return rc;
}
