/*
 * options.c - a run's settings: defaults, checks, and setting one by name from
 * text. The names are the snake_case keys the start event prints them under; the
 * command-line tools spell them as flags (--segment-tokens) and the server takes
 * them from JSON, so all three read settings through one table here.
 */
#include "wim.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void wim_options_default(wim_options *o)
{
    *o = (wim_options){
        .mode = WIM_MODE_WIM,
        .classify = WIM_CLASSIFY_TWO_PASS,
        .schedule = WIM_SCHEDULE_SEQUENTIAL,
        .segment_tokens = 4096,
        .max_margin_tokens = 100,
        .max_verdict_tokens = 10,
        .max_answer_tokens = 100,
        .temp = 0.0f,
        .top_p = 1.0f,
        .seed = 42,
        .n_batch = 512,
        .draft_max = 3,
    };
}

/* ============================================================================
 * Setting by name
 * ========================================================================= */

/* WINDOW: a whole number, or "auto" / "off" (wim_options.window). */
typedef enum kind { CHOICE, WHOLE, WINDOW, SEED, REAL, TEXT, SWITCH } kind;

/* Choices are listed in their enum's order: the index is the value. */
static const char *const modes[] = {"wim", "llm", "rag", NULL};
static const char *const classifies[] = {"two-pass", "one-pass", NULL};
static const char *const schedules[] = {"sequential", "overlap", NULL};
static const char *const cache_types[] = {"auto", "f16",    "f32",  "bf16", "q8_0", "q4_0",
                                          "q4_1", "iq4_nl", "q5_0", "q5_1", NULL};
static const char *const flash_attns[] = {"auto", "on", "off", NULL};
static const char *const rope_scalings[] = {"model", "none", "linear", "yarn", NULL};

/* Bounds of the whole numbers. Token counts stop below any context a model
 * has, so sizing arithmetic on them cannot overflow; the context they must fit
 * in is checked when a document is sized (engine.c). A batch is allocated up
 * front, token by token. */
enum {
    MAX_TOKENS = 1 << 24,
    MAX_CTX = 1 << 30,
    MAX_BATCH = 1 << 16,
    MAX_THREADS = 1024,
};

static const struct setting {
    const char *key;
    size_t at;                  /* offsetof the field in wim_options */
    const char *const *choices; /* CHOICE: the names, NULL-ended */
    kind kind;
    int min, max; /* WHOLE: the range allowed (0 is "the default" where allowed) */
} settings[] = {
    {"mode", offsetof(wim_options, mode), modes, CHOICE, 0, 0},
    {"classify", offsetof(wim_options, classify), classifies, CHOICE, 0, 0},
    {"schedule", offsetof(wim_options, schedule), schedules, CHOICE, 0, 0},
    {"segment_tokens", offsetof(wim_options, segment_tokens), NULL, WHOLE, 1, MAX_TOKENS},
    {"max_margin_tokens", offsetof(wim_options, max_margin_tokens), NULL, WHOLE, 1, MAX_TOKENS},
    {"max_verdict_tokens", offsetof(wim_options, max_verdict_tokens), NULL, WHOLE, 1, MAX_TOKENS},
    {"max_answer_tokens", offsetof(wim_options, max_answer_tokens), NULL, WHOLE, 1, MAX_TOKENS},
    {"temp", offsetof(wim_options, temp), NULL, REAL, 0, 0},
    {"top_p", offsetof(wim_options, top_p), NULL, REAL, 0, 0},
    {"seed", offsetof(wim_options, seed), NULL, SEED, 0, 0},
    {"threads", offsetof(wim_options, n_threads), NULL, WHOLE, 0, MAX_THREADS},
    {"ctx_size", offsetof(wim_options, n_ctx), NULL, WHOLE, 0, MAX_CTX},
    {"batch_size", offsetof(wim_options, n_batch), NULL, WHOLE, 1, MAX_BATCH},
    {"ubatch_size", offsetof(wim_options, n_ubatch), NULL, WHOLE, 0, MAX_BATCH},
    {"cache_type_k", offsetof(wim_options, cache_type_k), cache_types, CHOICE, 0, 0},
    {"cache_type_v", offsetof(wim_options, cache_type_v), cache_types, CHOICE, 0, 0},
    {"flash_attn", offsetof(wim_options, flash_attn), flash_attns, CHOICE, 0, 0},
    {"draft_max", offsetof(wim_options, draft_max), NULL, WHOLE, 0, WIM_MAX_DRAFT},
    {"rope_scaling", offsetof(wim_options, rope_scaling), rope_scalings, CHOICE, 0, 0},
    {"rope_scale", offsetof(wim_options, rope_scale), NULL, REAL, 0, 0},
    {"templates", offsetof(wim_options, templates_dir), NULL, TEXT, 0, 0},
    {"user_header", offsetof(wim_options, user_header), NULL, TEXT, 0, 0},
    {"generation_header", offsetof(wim_options, generation_header), NULL, TEXT, 0, 0},
    {"think", offsetof(wim_options, think), NULL, SWITCH, 0, 0},
    {"window", offsetof(wim_options, window), NULL, WINDOW, WIM_WINDOW_OFF, MAX_CTX},
    {"carry_tokens", offsetof(wim_options, carry_tokens), NULL, WHOLE, 0, MAX_TOKENS},
    {"window_shift", offsetof(wim_options, window_shift), NULL, SWITCH, 0, 0},
    {"quoted_margins", offsetof(wim_options, quoted_margins), NULL, SWITCH, 0, 0},
    {"quoted_answers", offsetof(wim_options, quoted_answers), NULL, SWITCH, 0, 0},
    {"fixed_length", offsetof(wim_options, fixed_length), NULL, SWITCH, 0, 0},
    {"assume_relevant", offsetof(wim_options, assume_relevant), NULL, SWITCH, 0, 0},
};

static int set_choice(const struct setting *s, void *field, const char *v, char *err, size_t errlen)
{
    for (int i = 0; s->choices[i]; i++)
        if (strcmp(v, s->choices[i]) == 0) {
            /* every enum here is int-sized; the cast is the field's own type */
            *(int *)field = i;
            return 0;
        }
    int n = snprintf(err, errlen, "unknown value '%s' (one of", v);
    for (int i = 0; s->choices[i] && n >= 0 && (size_t)n < errlen; i++)
        n += snprintf(err + n, errlen - (size_t)n, " %s", s->choices[i]);
    if (n >= 0 && (size_t)n < errlen) snprintf(err + n, errlen - (size_t)n, ")");
    return WIM_OPTION_BAD_VALUE;
}

static int set_whole(const struct setting *s, void *field, const char *v, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    long hi = s->kind == SEED ? (long)UINT32_MAX : s->max;
    if (errno || end == v || *end || n < s->min || n > hi) {
        snprintf(err, errlen, "needs a whole number from %d to %ld, got '%s'", s->min, hi, v);
        return WIM_OPTION_BAD_VALUE;
    }
    if (s->kind == SEED)
        *(uint32_t *)field = (uint32_t)n;
    else
        *(int *)field = (int)n;
    return 0;
}

static int set_real(void *field, const char *v, char *err, size_t errlen)
{
    char *end;
    float f = strtof(v, &end);
    if (end == v || *end || !isfinite(f)) {
        snprintf(err, errlen, "needs a number, got '%s'", v);
        return WIM_OPTION_BAD_VALUE;
    }
    *(float *)field = f;
    return 0;
}

static int set_switch(void *field, const char *v, char *err, size_t errlen)
{
    bool on = !v || strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
    if (!on && strcmp(v, "false") != 0 && strcmp(v, "0") != 0) {
        snprintf(err, errlen, "needs true or false, got '%s'", v);
        return WIM_OPTION_BAD_VALUE;
    }
    *(bool *)field = on;
    return 0;
}

int wim_options_set(wim_options *o, const char *key, const char *value, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        const struct setting *s = &settings[i];
        if (strcmp(key, s->key) != 0) continue;
        void *field = (char *)o + s->at;
        if (s->kind == SWITCH) return set_switch(field, value, err, errlen);
        if (!value) {
            snprintf(err, errlen, "needs a value");
            return WIM_OPTION_NEEDS_VALUE;
        }
        switch (s->kind) {
        case CHOICE:
            return set_choice(s, field, value, err, errlen);
        case WINDOW:
            if (strcmp(value, "auto") != 0 && strcmp(value, "off") != 0)
                return set_whole(s, field, value, err, errlen);
            *(int *)field = value[0] == 'a' ? WIM_WINDOW_AUTO : WIM_WINDOW_OFF;
            return 0;
        case WHOLE:
        case SEED:
            return set_whole(s, field, value, err, errlen);
        case REAL:
            return set_real(field, value, err, errlen);
        default:
            *(const char **)field = value;
            return 0;
        }
    }
    snprintf(err, errlen, "unknown option");
    return WIM_OPTION_UNKNOWN;
}

/* The whole numbers against their bounds: the same table that reads them, so
 * fields set directly in C are held to what flags and requests are. */
static const char *out_of_range(const wim_options *o, char *why, size_t len)
{
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        const struct setting *s = &settings[i];
        if (s->kind != WHOLE && s->kind != WINDOW) continue;
        int v = *(const int *)((const char *)o + s->at);
        if (v >= s->min && v <= s->max) continue;
        snprintf(why, len, "%s must be from %d to %d, not %d", s->key, s->min, s->max, v);
        return why;
    }
    return NULL;
}

int wim_options_check(const wim_options *o, char *err, size_t errlen)
{
    char why[128];
    const char *bad = !(o->temp >= 0)                    ? "temperature must not be negative"
                      : !(o->top_p > 0 && o->top_p <= 1) ? "top-p must be in (0, 1]"
                      : !(o->rope_scale >= 0)            ? "rope scale must not be negative"
                      : o->window > 0 && o->mode != WIM_MODE_WIM
                          ? "a window (reading past the context) is for wim mode"
                          : out_of_range(o, why, sizeof why);
    if (bad) snprintf(err, errlen, "%s", bad);
    return bad ? -1 : 0;
}

const char *wim_mode_name(wim_mode m)
{
    return m >= WIM_MODE_WIM && m <= WIM_MODE_RAG ? modes[m] : "unknown";
}

const char *wim_classify_name(wim_classify c)
{
    return c == WIM_CLASSIFY_ONE_PASS ? classifies[1] : classifies[0];
}

const char *wim_schedule_name(wim_schedule s)
{
    return s == WIM_SCHEDULE_OVERLAP ? schedules[1] : schedules[0];
}

const char *wim_cache_type_name(wim_cache_type t)
{
    return t >= WIM_CACHE_AUTO && t <= WIM_CACHE_Q5_1 ? cache_types[t] : "unknown";
}

const char *wim_flash_attn_name(wim_flash_attn f)
{
    return f >= WIM_FLASH_ATTN_AUTO && f <= WIM_FLASH_ATTN_OFF ? flash_attns[f] : "unknown";
}

const char *wim_rope_scaling_name(wim_rope_scaling r)
{
    return r >= WIM_ROPE_MODEL && r <= WIM_ROPE_YARN ? rope_scalings[r] : "unknown";
}
