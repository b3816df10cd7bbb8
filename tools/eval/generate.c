/*
 * generate.c - the synthetic tasks of generate.h, sized in a model's tokens.
 *
 * Both tasks are assembled from pieces whose token counts are known, so the
 * length is reached by bookkeeping; the whole text is counted only a few times
 * to correct for what the pieces miss where they meet.
 */
#include "generate.h"

#include "strbuf.h"
#include "tokens.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

enum {
    MAX_TOKENS = 8000000, /* keeps every count and length well inside an int */
    N_COMMON = 10,        /* words the cwe question asks for */
    FREQ_COMMON = 30,     /* times each of them appears, room permitting */
    FREQ_COMMON_MIN = 6,  /* at least twice FREQ_UNCOMMON */
    FREQ_UNCOMMON = 3,
    NEEDLE_MIN = 200,
    MAX_ROUNDS = 6, /* full counts before giving up on the length */
};

/* ---- seeded choices ---- */

static const char *pick(const char *const *list, int n, uint64_t *st)
{
    return list[eval_rng_below(st, (uint64_t)n)];
}

static void shuffle_ints(int *a, int n, uint64_t *st)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)eval_rng_below(st, (uint64_t)i + 1), t = a[i];
        a[i] = a[j], a[j] = t;
    }
}

/* One state per example: the seed and the index both reach every bit. */
static uint64_t example_state(uint64_t seed, int index)
{
    uint64_t s = seed;
    uint64_t t = eval_rng_next(&s) ^ (0xd1b54a32d192ed03ULL * ((uint64_t)(uint32_t)index + 1));
    return eval_rng_next(&t);
}

static int count(const struct llama_vocab *v, const char *s)
{
    return eval_count_tokens(v, s, strlen(s));
}

static bool within(long n, long tokens, long tol)
{
    return labs(n - tokens) <= tol;
}

/* ---- cwe: pseudo-words ---- */

static const char *const onsets[] = {"b",  "d",  "f",  "g",  "h",  "k",  "l", "m",
                                     "n",  "p",  "r",  "s",  "t",  "v",  "z", "br",
                                     "dr", "gr", "pl", "st", "tr", "sh", "ch"};
static const char *const nuclei[] = {"a", "e", "i", "o", "u", "a", "e", "i", "o", "u", "ai", "ou"};
static const char *const codas[] = {"", "", "", "n", "r", "l", "s", "t"};

/* Syllables of onset + vowel, a coda closing the last: 2 or 3 for the list's
 * words, up to 5 for the longer ones that pad it. Plain vowels come twice as
 * often, for words that cost few tokens. */
static void make_word(uint64_t *st, int syllables, char *out, size_t cap)
{
    out[0] = '\0';
    for (int i = 0; i < syllables; i++) {
        strncat(out, pick(onsets, COUNT(onsets), st), cap - strlen(out) - 1);
        strncat(out, pick(nuclei, COUNT(nuclei), st), cap - strlen(out) - 1);
    }
    strncat(out, pick(codas, COUNT(codas), st), cap - strlen(out) - 1);
}

/* Hashes of the words made so far, open addressing; a hash met twice counts as
 * the same word, which at worst throws away a good one. */
typedef struct wordset {
    uint64_t *slot;
    size_t cap, n;
} wordset;

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h ? h : 1;
}

static void set_put(uint64_t *slot, size_t cap, uint64_t h)
{
    size_t i = h & (cap - 1);
    while (slot[i])
        i = (i + 1) & (cap - 1);
    slot[i] = h;
}

static int set_grow(wordset *s)
{
    size_t cap = s->cap ? s->cap * 2 : 1024;
    uint64_t *slot = calloc(cap, sizeof *slot);
    if (!slot) return -1;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slot[i]) set_put(slot, cap, s->slot[i]);
    free(s->slot);
    s->slot = slot, s->cap = cap;
    return 0;
}

/* 1 when added, 0 when already there, -1 out of memory. */
static int set_add(wordset *s, const char *word)
{
    if ((s->n + 1) * 2 > s->cap && set_grow(s) != 0) return -1;
    uint64_t h = fnv1a(word);
    for (size_t i = h & (s->cap - 1); s->slot[i]; i = (i + 1) & (s->cap - 1))
        if (s->slot[i] == h) return 0;
    set_put(s->slot, s->cap, h);
    s->n++;
    return 1;
}

/* ---- cwe: the list ---- */

typedef struct cwe_word {
    char text[40];
    int cost; /* tokens of " text\n", as it follows its number */
} cwe_word;

typedef struct cwe_task {
    const struct llama_vocab *v;
    uint64_t st;
    wordset seen;
    cwe_word *w; /* N_COMMON common words, then the uncommon ones */
    int n_words, cap_words;
    int *num; /* num[i]: tokens of "i." */
    int n_num;
    int freq; /* of each common word */
    long lines, est;
} cwe_task;

/* A word never made before in this example, with its cost. */
static int fresh_word(cwe_task *t, int syllables, cwe_word *out)
{
    for (int tries = 0; tries < 10000; tries++) {
        make_word(&t->st, syllables, out->text, sizeof out->text);
        int added = set_add(&t->seen, out->text);
        if (added < 0) return -1;
        if (!added) continue;
        char piece[64];
        snprintf(piece, sizeof piece, " %s\n", out->text);
        out->cost = count(t->v, piece);
        return 0;
    }
    return -1;
}

static int push_word(cwe_task *t, const cwe_word *w)
{
    if (t->n_words == t->cap_words) {
        int cap = t->cap_words ? t->cap_words * 2 : 64;
        cwe_word *p = realloc(t->w, (size_t)cap * sizeof *p);
        if (!p) return -1;
        t->w = p, t->cap_words = cap;
    }
    t->w[t->n_words++] = *w;
    return 0;
}

/* Tokens of the numbers of lines from..to (1-based, inclusive); -1 out of memory. */
static long numbers_cost(cwe_task *t, long from, long to)
{
    if (to >= t->n_num) {
        int n = (int)to + 1 + t->n_num;
        int *p = realloc(t->num, (size_t)n * sizeof *p);
        if (!p) return -1;
        for (int i = t->n_num; i < n; i++) {
            char s[24];
            snprintf(s, sizeof s, "%d.", i);
            p[i] = count(t->v, s);
        }
        t->num = p, t->n_num = n;
    }
    long sum = 0;
    for (long i = from; i <= to; i++)
        sum += t->num[i];
    return sum;
}

static long common_cost(cwe_task *t, int freq)
{
    long words = 0;
    for (int i = 0; i < N_COMMON; i++)
        words += t->w[i].cost;
    long nums = numbers_cost(t, 1, (long)N_COMMON * freq);
    return nums < 0 ? -1 : nums + words * freq;
}

/* Tokens one more uncommon word adds after the current lines. */
static long uncommon_cost(cwe_task *t, const cwe_word *w)
{
    long nums = numbers_cost(t, t->lines + 1, t->lines + FREQ_UNCOMMON);
    return nums < 0 ? -1 : nums + (long)FREQ_UNCOMMON * w->cost;
}

static int cwe_common(cwe_task *t)
{
    for (int i = 0; i < N_COMMON; i++) {
        cwe_word w;
        if (fresh_word(t, 2 + (int)eval_rng_below(&t->st, 2), &w) != 0 || push_word(t, &w) != 0)
            return -1;
    }
    return 0;
}

/* The common words' frequency: FREQ_COMMON while they take at most half the
 * list, so most of its words stay uncommon; less for short lists. */
static int cwe_freq(cwe_task *t, long tokens)
{
    int f = FREQ_COMMON;
    while (f > FREQ_COMMON_MIN && common_cost(t, f) > tokens / 2)
        f--;
    return f;
}

/* Uncommon words until the next would pass target; the first always goes in. */
static int cwe_fill(cwe_task *t, long target)
{
    for (;;) {
        cwe_word w;
        if (fresh_word(t, 2 + (int)eval_rng_below(&t->st, 2), &w) != 0) return -1;
        long c = uncommon_cost(t, &w);
        if (c < 0) return -1;
        if (t->n_words > N_COMMON && t->est + c > target) return 0;
        if (push_word(t, &w) != 0) return -1;
        t->lines += FREQ_UNCOMMON, t->est += c;
    }
}

/* Closes the gap left under target by swapping uncommon words for longer new
 * ones: each token more in a word is FREQ_UNCOMMON more in the list. */
static int cwe_lengthen(cwe_task *t, long target)
{
    int n_uncommon = t->n_words - N_COMMON;
    for (int tries = 0; tries < 400 && target - t->est >= FREQ_UNCOMMON; tries++) {
        cwe_word w, *old = &t->w[t->n_words - 1 - tries % n_uncommon];
        if (fresh_word(t, 3 + (int)eval_rng_below(&t->st, 3), &w) != 0) return -1;
        long more = (long)FREQ_UNCOMMON * (w.cost - old->cost);
        if (more <= 0 || t->est + more > target) continue;
        *old = w;
        t->est += more;
    }
    return 0;
}

/* The list in a seeded order, "1. word" a line. */
static int cwe_render(cwe_task *t, wim_strbuf *out)
{
    int *occ = malloc((size_t)t->lines * sizeof *occ), n = 0;
    if (!occ) return -1;
    for (int i = 0; i < t->n_words; i++)
        for (int k = 0; k < (i < N_COMMON ? t->freq : FREQ_UNCOMMON); k++)
            occ[n++] = i;
    shuffle_ints(occ, n, &t->st);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        char line[64];
        int len = snprintf(line, sizeof line, "%d. %s\n", i + 1, t->w[occ[i]].text);
        rc = wim_strbuf_append(out, line, (size_t)len) ? 0 : -1;
    }
    free(occ);
    return rc;
}

static void cwe_reset(cwe_task *t)
{
    free(t->seen.slot);
    free(t->w);
    free(t->num);
    memset(t, 0, sizeof *t);
}

/* The smallest list this example can make: the least frequency, one uncommon
 * word. */
static long cwe_minimum(cwe_task *t)
{
    cwe_word w = t->w[N_COMMON];
    long lines = t->lines;
    t->lines = (long)N_COMMON * FREQ_COMMON_MIN;
    long c = common_cost(t, FREQ_COMMON_MIN) + uncommon_cost(t, &w);
    t->lines = lines;
    return c;
}

/* One attempt at the list for target tokens of bookkeeping; *minimum set when
 * tokens is too few. */
static int cwe_build(cwe_task *t, long tokens, long target, wim_strbuf *out, long *minimum)
{
    if (cwe_common(t) != 0) return -1;
    t->freq = cwe_freq(t, tokens);
    t->lines = (long)N_COMMON * t->freq;
    t->est = common_cost(t, t->freq);
    if (t->est < 0 || cwe_fill(t, target) != 0) return -1;
    long least = cwe_minimum(t);
    if (least < 0) return -1;
    if (tokens < least) {
        *minimum = least;
        return 0;
    }
    if (cwe_lengthen(t, target) != 0) return -1;
    return cwe_render(t, out);
}

static int cwe_example(cwe_task *t, const wim_strbuf *text, const char *id, eval_example *e)
{
    const char *targets[N_COMMON];
    for (int i = 0; i < N_COMMON; i++)
        targets[i] = t->w[i].text;
    char query[160];
    snprintf(query, sizeof query,
             "Above is a numbered list of words, many of them repeated. Which %d words appear "
             "most often in it? List those %d words.",
             N_COMMON, N_COMMON);
    return eval_example_set(e, id, wim_strbuf_str(text), query, targets, N_COMMON, true);
}

static void cwe_error(int rc, long tokens, long minimum, long n, char *err, size_t errlen)
{
    if (minimum) /* rounded up, so that it serves the other examples too */
        snprintf(err, errlen, "--tokens %ld is too few for cwe (at least %ld)", tokens,
                 (minimum + 49) / 50 * 50);
    else if (rc == -2)
        snprintf(err, errlen, "cannot size cwe to %ld tokens (got %ld)", tokens, n);
    else if (rc != 0)
        snprintf(err, errlen, "out of memory");
}

/* Rounds of building the list, each for a target corrected by what the last
 * one's pieces missed, until it is close (or no closer can be had). */
static int gen_cwe(const struct llama_vocab *v, long tokens, uint64_t st, eval_example *e,
                   const char *id, char *err, size_t errlen)
{
    long target = tokens, tol = tokens / 50, aim = tokens / 200 > 2 ? tokens / 200 : 2;
    for (int round = 0;; round++) {
        cwe_task t = {.v = v, .st = st};
        wim_strbuf text = {0};
        long minimum = 0, n = 0;
        int rc = cwe_build(&t, tokens, target, &text, &minimum);
        if (rc == 0 && !minimum) n = eval_count_tokens(v, wim_strbuf_str(&text), text.len);
        long next = tokens - (n - t.est);
        bool last = rc != 0 || minimum || within(n, tokens, aim) || next == target ||
                    round == MAX_ROUNDS - 1;
        if (last && rc == 0 && !minimum)
            rc = within(n, tokens, tol) ? cwe_example(&t, &text, id, e) : -2;
        cwe_reset(&t);
        wim_strbuf_free(&text);
        if (last) {
            cwe_error(rc, tokens, minimum, n, err, errlen);
            return rc == 0 && !minimum ? 0 : -1;
        }
        target = next;
    }
}

/* ---- needle: filler prose ---- */

/* None of these words is a name, object or place of the facts below, and none
 * says "went to" or "picked up", so the facts can be found unambiguously. */
static const char *const day_parts[] = {"morning", "afternoon", "evening", "night", "dawn"};
static const char *const skies[] = {"grey",  "bright", "cold",     "mild",  "damp",
                                    "still", "clear",  "overcast", "humid", "bitter"};
static const char *const weathers[] = {"a thin drizzle lingered", "a low fog hung",
                                       "a sharp frost held",      "a warm breeze moved",
                                       "heavy clouds gathered",   "a fine snow drifted",
                                       "the rain came in squalls"};
static const char *const wheres[] = {
    "over the hills",      "along the river", "above the mill pond", "across the fields",
    "past the old bridge", "until noon",      "until dusk",          "on the high moor"};
static const char *const days[] = {"Monday",   "Tuesday", "Wednesday",
                                   "Thursday", "Friday",  "Saturday"};
static const char *const sellers[] = {"the grocer",
                                      "the fishmonger",
                                      "a farmer from the valley",
                                      "the cheese seller",
                                      "two sisters from the hills",
                                      "the potter's boy",
                                      "a carter from the coast"};
static const char *const goods[] = {"turnips", "eels",  "plums",    "barley",  "honey", "onions",
                                    "oats",    "pears", "cabbages", "mussels", "cider", "lard"};
static const char *const units[] = {"pound", "sack", "dozen", "jar", "crate", "bunch"};
static const char *const moves[] = {"rose", "fell", "climbed", "dropped", "slipped"};
static const char *const spans[] = {"that week", "over the month", "since the harvest",
                                    "before the fair"};
static const char *const whens[] = {
    "Each morning",   "Most evenings", "On market days",        "Before noon",
    "At first light", "Once a week",   "In the late afternoon", "After the midday bell"};
static const char *const folk[] = {
    "the miller",     "the schoolmaster",       "the ferryman",  "the night watchman",
    "the weaver",     "the postmistress",       "the smith",     "the innkeeper",
    "the town clerk", "the baker's apprentice", "the old verger"};
static const char *const routines[] = {
    "swept the square",       "counted the takings",     "rang the bell twice", "mended the nets",
    "read the notices aloud", "checked the tide tables", "opened the shutters", "fed the geese",
    "wound the clock",        "whitewashed the walls",   "sorted the post",     "raked the coals"};
static const char *const sources[] = {"The almanac", "The old sailors", "The town crier",
                                      "The harbourmaster", "A shepherd"};
static const char *const spells[] = {"frost", "fog", "wind", "rain", "heat", "snow"};
static const char *const turns[] = {"lift", "return", "ease", "settle", "break", "pass"};
static const char *const untils[] = {"Thursday", "the weekend", "the full moon", "midsummer",
                                     "the next fair"};
static const char *const councils[] = {"voted to repair", "argued again about",
                                       "put off a decision on", "set aside money for"};
static const char *const works[] = {"the east road",   "the town well",    "the ferry landing",
                                    "the school roof", "the bridge tolls", "the lamp posts"};
static const char *const manners[] = {"", " after a long meeting", " for the third time",
                                      " without much fuss"};
static const char *const counted[] = {"carts", "boats", "sheep", "barrels", "traders"};
static const char *const fates[] = {"counted", "seen", "turned away", "waiting"};
static const char *const gates[] = {"west gate", "ford", "toll house", "quay"};
/* Short ones, to fill the last few tokens. */
static const char *const shorts[] = {"It rained.",         "It snowed.",
                                     "It cleared.",        "Dogs barked.",
                                     "The bell rang.",     "Night fell.",
                                     "Trade was slow.",    "Nothing much happened.",
                                     "Clouds gathered.",   "The square was quiet.",
                                     "The river was high."};

static void filler_sentence(uint64_t *st, char *out, size_t cap)
{
#define P(list) pick(list, COUNT(list), st)
    switch (eval_rng_below(st, 7)) {
    case 0: {
        const char *time = P(day_parts), *sky = P(skies), *weather = P(weathers);
        snprintf(out, cap, "The %s was %s, and %s %s.", time, sky, weather, P(wheres));
        break;
    }
    case 1: {
        const char *day = P(days), *seller = P(sellers), *good = P(goods);
        int price = 2 + (int)eval_rng_below(st, 40);
        snprintf(out, cap, "At the %s market, %s sold %s at %d pennies a %s.", day, seller, good,
                 price, P(units));
        break;
    }
    case 2: {
        const char *good = P(goods), *move = P(moves);
        int pct = 1 + (int)eval_rng_below(st, 30);
        snprintf(out, cap, "The price of %s %s by %d percent %s.", good, move, pct, P(spans));
        break;
    }
    case 3: {
        const char *when = P(whens), *who = P(folk);
        snprintf(out, cap, "%s, %s %s.", when, who, P(routines));
        break;
    }
    case 4: {
        const char *source = P(sources), *spell = P(spells), *turn = P(turns);
        snprintf(out, cap, "%s said the %s would %s by %s.", source, spell, turn, P(untils));
        break;
    }
    case 5: {
        const char *act = P(councils), *work = P(works);
        snprintf(out, cap, "The council %s %s%s.", act, work, P(manners));
        break;
    }
    default: {
        int n = 3 + (int)eval_rng_below(st, 60);
        const char *what = P(counted), *fate = P(fates);
        snprintf(out, cap, "That day %d %s were %s at the %s.", n, what, fate, P(gates));
        break;
    }
    }
#undef P
}

/* ---- needle: the document as units ---- */

typedef struct unit {
    size_t off, len; /* in the pool, with the separator before it */
    int cost;
    bool fact;
} unit;

typedef struct needle_doc {
    const struct llama_vocab *v;
    uint64_t st;
    wim_strbuf pool;
    unit *u;
    int n, cap;
    long est; /* the units' costs added up */
} needle_doc;

/* Appends a unit (or inserts it at position at); its text is " " or a paragraph
 * break, then sentence. */
static int doc_insert(needle_doc *d, int at, const char *sep, const char *sentence, bool fact)
{
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 256;
        unit *p = realloc(d->u, (size_t)cap * sizeof *p);
        if (!p) return -1;
        d->u = p, d->cap = cap;
    }
    unit x = {.off = d->pool.len, .fact = fact};
    if (!wim_strbuf_puts(&d->pool, sep) || !wim_strbuf_puts(&d->pool, sentence)) return -1;
    x.len = d->pool.len - x.off;
    x.cost = eval_count_tokens(d->v, d->pool.s + x.off, x.len);
    memmove(d->u + at + 1, d->u + at, (size_t)(d->n - at) * sizeof *d->u);
    d->u[at] = x;
    d->n++;
    d->est += x.cost;
    return 0;
}

static const char *filler_sep(uint64_t *st)
{
    return eval_rng_below(st, 7) == 0 ? "\n\n" : " ";
}

/* Of a few short and ordinary sentences, the longest that fits in gap tokens;
 * 0 when one was added, 1 when none fits. */
static int doc_best_fit(needle_doc *d, long gap)
{
    char best[256] = "", s[256];
    int best_cost = 0;
    const char *sep = filler_sep(&d->st);
    for (int i = 0; i < 16; i++) {
        char body[240];
        if (i % 2)
            snprintf(body, sizeof body, "%s", pick(shorts, COUNT(shorts), &d->st));
        else
            filler_sentence(&d->st, body, sizeof body);
        snprintf(s, sizeof s, "%s%s", sep, body);
        int c = count(d->v, s);
        if (c <= gap && c > best_cost) best_cost = c, memcpy(best, s, sizeof s);
    }
    if (!best_cost) return 1;
    return doc_insert(d, d->n, "", best, false);
}

/* Filler at the end until the units add up to target. */
static int doc_fill(needle_doc *d, long target)
{
    while (d->est < target) {
        long gap = target - d->est;
        if (gap <= 48) {
            int rc = doc_best_fit(d, gap);
            if (rc != 0) return rc < 0 ? -1 : 0;
            continue;
        }
        char s[240];
        filler_sentence(&d->st, s, sizeof s);
        if (doc_insert(d, d->n, filler_sep(&d->st), s, false) != 0) return -1;
    }
    return 0;
}

/* Filler taken off the end, stepping over facts, until at most target. */
static void doc_trim(needle_doc *d, long target)
{
    for (int i = d->n - 1; i >= 0 && d->est > target; i--) {
        if (d->u[i].fact) continue;
        d->est -= d->u[i].cost;
        memmove(d->u + i, d->u + i + 1, (size_t)(d->n - i - 1) * sizeof *d->u);
        d->n--;
    }
}

static int doc_render(const needle_doc *d, wim_strbuf *out)
{
    wim_strbuf_clear(out);
    for (int i = 0; i < d->n; i++) {
        const char *s = d->pool.s + d->u[i].off;
        size_t len = d->u[i].len, skip = 0;
        while (i == 0 && skip < len && (s[skip] == ' ' || s[skip] == '\n'))
            skip++; /* the text starts with a sentence */
        if (!wim_strbuf_append(out, s + skip, len - skip)) return -1;
    }
    return 0;
}

/* ---- needle: the story ---- */

static const char *const names[] = {
    "Aldo",   "Brenna", "Casimir", "Delphine", "Emory",    "Fenna", "Gideon", "Halvard",
    "Ingrid", "Jory",   "Kestrel", "Linnea",   "Matthias", "Nell",  "Osric",  "Petra"};
static const char *const objects[] = {"lantern",  "compass", "ledger",      "kettle",
                                      "satchel",  "violin",  "hammer",      "telescope",
                                      "umbrella", "teapot",  "candlestick", "chessboard"};
static const char *const places[] = {"garden",     "cellar",    "orchard", "boathouse",
                                     "greenhouse", "stable",    "attic",   "workshop",
                                     "pantry",     "courtyard", "laundry", "library"};

enum { MAX_PEOPLE = 4, MAX_PLAN = 8, MAX_FACTS = 40 };
enum { MOVE, PICK };

typedef struct story {
    const char *people[MAX_PEOPLE];
    int n_people;
    int plan[MAX_PEOPLE][MAX_PLAN]; /* each person's events in order: MOVE, or PICK + object */
    int n_plan[MAX_PEOPLE];
    const char *object[2];
    char facts[MAX_FACTS][80];
    int n_facts;
    char query[80];
    const char *answer;
} story;

static void plan_add(story *s, int p, int ev, int times)
{
    for (int i = 0; i < times; i++)
        s->plan[p][s->n_plan[p]++] = ev;
}

/* Person 0 is asked about (type 0) or holds the object asked about (type 1),
 * and moves at least once after picking it up; the others are distractors. */
static void story_plan(story *s, uint64_t *st, int type)
{
    if (type == 0) {
        plan_add(s, 0, MOVE, 3 + (int)eval_rng_below(st, 3));
        plan_add(s, 1, MOVE, 1);
        plan_add(s, 1, PICK + 1, 1);
        plan_add(s, 1, MOVE, (int)eval_rng_below(st, 2));
    } else {
        plan_add(s, 0, MOVE, (int)eval_rng_below(st, 2));
        plan_add(s, 0, PICK + 0, 1);
        plan_add(s, 0, MOVE, 1 + (int)eval_rng_below(st, 2));
        plan_add(s, 1, PICK + 1, 1);
        plan_add(s, 1, MOVE, 1 + (int)eval_rng_below(st, 2));
    }
    for (int p = 2; p < s->n_people; p++)
        plan_add(s, p, MOVE, 1 + (int)eval_rng_below(st, 2));
}

static void choose_distinct(const char *const *list, int n, int k, const char **out, uint64_t *st)
{
    int idx[32];
    for (int i = 0; i < n; i++)
        idx[i] = i;
    shuffle_ints(idx, n, st);
    for (int i = 0; i < k; i++)
        out[i] = list[idx[i]];
}

/* The events interleaved in a seeded order, each person's kept in plan order. */
static void story_tell(story *s, uint64_t *st)
{
    int slots[MAX_PEOPLE * MAX_PLAN], n = 0, used[MAX_PEOPLE] = {0};
    const char *at[MAX_PEOPLE] = {0};
    for (int p = 0; p < s->n_people; p++)
        for (int k = 0; k < s->n_plan[p]; k++)
            slots[n++] = p;
    shuffle_ints(slots, n, st);
    for (int i = 0; i < n; i++) {
        int p = slots[i], ev = s->plan[p][used[p]++];
        if (ev == MOVE) {
            const char *place;
            do
                place = pick(places, COUNT(places), st);
            while (place == at[p]);
            at[p] = place;
            snprintf(s->facts[s->n_facts++], sizeof s->facts[0], "%s went to the %s.", s->people[p],
                     place);
        } else {
            snprintf(s->facts[s->n_facts++], sizeof s->facts[0], "%s picked up the %s.",
                     s->people[p], s->object[ev - PICK]);
        }
    }
    s->answer = at[0];
}

/* type: 0 where is a person, 1 where is an object, -1 either by chance. */
static void story_make(story *s, uint64_t *st, int type)
{
    memset(s, 0, sizeof *s);
    if (type < 0) type = (int)eval_rng_below(st, 2);
    s->n_people = 3 + (int)eval_rng_below(st, 2);
    choose_distinct(names, COUNT(names), s->n_people, s->people, st);
    choose_distinct(objects, COUNT(objects), 2, s->object, st);
    story_plan(s, st, type);
    story_tell(s, st);
    if (type == 0)
        snprintf(s->query, sizeof s->query, "Where is %s?", s->people[0]);
    else
        snprintf(s->query, sizeof s->query, "Where is the %s?", s->object[0]);
}

/* The facts at seeded places among the filler units, in story order. */
static int doc_plant(needle_doc *d, const story *s)
{
    int pos[MAX_FACTS], filler = d->n;
    for (int i = 0; i < s->n_facts; i++)
        pos[i] = (int)eval_rng_below(&d->st, (uint64_t)filler + 1);
    for (int i = 1; i < s->n_facts; i++) /* sort: few facts */
        for (int j = i; j > 0 && pos[j - 1] > pos[j]; j--) {
            int x = pos[j];
            pos[j] = pos[j - 1], pos[j - 1] = x;
        }
    for (int i = 0; i < s->n_facts; i++)
        if (doc_insert(d, pos[i] + i, " ", s->facts[i], true) != 0) return -1;
    return 0;
}

static long facts_cost(const struct llama_vocab *v, const story *s)
{
    long c = 0;
    for (int i = 0; i < s->n_facts; i++) {
        char piece[96];
        snprintf(piece, sizeof piece, " %s", s->facts[i]);
        c += count(v, piece);
    }
    return c;
}

/* Filler, then the facts, then rounds of counting the whole and correcting at
 * the end until within a small margin. */
static int needle_size(needle_doc *d, const story *s, long tokens, long fc, wim_strbuf *text,
                       long *n)
{
    long aim = tokens / 200 > 2 ? tokens / 200 : 2;
    if (doc_fill(d, tokens - fc) != 0 || doc_plant(d, s) != 0) return -1;
    for (int round = 0;; round++) {
        if (doc_render(d, text) != 0) return -1;
        *n = eval_count_tokens(d->v, wim_strbuf_str(text), text->len);
        if (within(*n, tokens, aim) || round == MAX_ROUNDS - 1) return 0;
        long goal = d->est + (tokens - *n);
        doc_trim(d, goal);
        if (doc_fill(d, goal) != 0) return -1;
    }
}

static int gen_needle(const struct llama_vocab *v, long tokens, int type, uint64_t st,
                      eval_example *e, const char *id, char *err, size_t errlen)
{
    story s;
    story_make(&s, &st, type);
    long fc = facts_cost(v, &s), least = fc * 2 > NEEDLE_MIN ? fc * 2 : NEEDLE_MIN;
    if (tokens < least) {
        snprintf(err, errlen, "--tokens %ld is too few for needle (at least %ld)", tokens, least);
        return -1;
    }
    needle_doc d = {.v = v, .st = st};
    wim_strbuf text = {0};
    long n = 0;
    int rc = needle_size(&d, &s, tokens, fc, &text, &n);
    if (rc == 0 && !within(n, tokens, tokens / 50)) {
        snprintf(err, errlen, "cannot size needle to %ld tokens (got %ld)", tokens, n);
        rc = -2;
    }
    if (rc == 0) rc = eval_example_set(e, id, wim_strbuf_str(&text), s.query, &s.answer, 1, false);
    if (rc == -1) snprintf(err, errlen, "out of memory");
    wim_strbuf_free(&d.pool);
    free(d.u);
    wim_strbuf_free(&text);
    return rc == 0 ? 0 : -1;
}

/* ---- entry ---- */

int eval_generate(const char *kind, const struct llama_vocab *v, long tokens, uint64_t seed,
                  int index, eval_example *e, char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    bool cwe = kind && !strcmp(kind, "cwe"), needle = kind && !strcmp(kind, "needle");
    bool qa1 = kind && !strcmp(kind, "qa1");
    if (!cwe && !needle && !qa1) {
        snprintf(err, errlen, "unknown generator '%s' (cwe, needle or qa1)", kind ? kind : "");
        return -1;
    }
    if (!v) {
        snprintf(err, errlen, "no tokenizer to size %s with", kind);
        return -1;
    }
    if (tokens > MAX_TOKENS) {
        snprintf(err, errlen, "--tokens %ld is too many (at most %d)", tokens, MAX_TOKENS);
        return -1;
    }
    if (tokens < 1) {
        snprintf(err, errlen, "--tokens %ld is too few for %s", tokens, kind);
        return -1;
    }
    char id[96];
    snprintf(id, sizeof id, "%s-%ld-%d", kind, tokens, index);
    uint64_t st = example_state(seed, index);
    return cwe ? gen_cwe(v, tokens, st, e, id, err, errlen)
               : gen_needle(v, tokens, qa1 ? 0 : -1, st, e, id, err, errlen);
}
