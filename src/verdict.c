/*
 * verdict.c - parse the classifier's answer leniently, fail closed.
 */
#include "verdict.h"

#include "wim.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Skips what models put before the word: spaces, fences (```lang\n), quotes, emphasis. */
static const char *skip_decoration(const char *p)
{
    for (;;) {
        while (isspace((unsigned char)*p) || *p == '*' || *p == '"' || *p == '\'' || *p == '_' ||
               *p == '>')
            p++;
        if (strncmp(p, "```", 3) != 0) return p;
        p += 3;
        while (isalpha((unsigned char)*p))
            p++; /* fence language tag */
    }
}

/* Length of YES or NO at p, when followed by a non-letter; 0 otherwise. */
static size_t answer_word(const char *p, bool *yes)
{
    if (strncasecmp(p, "yes", 3) == 0 && !isalnum((unsigned char)p[3])) {
        *yes = true;
        return 3;
    }
    if (strncasecmp(p, "no", 2) == 0 && !isalnum((unsigned char)p[2])) {
        *yes = false;
        return 2;
    }
    return 0;
}

/* After the word: emphasis, then '#' or ':' or '.' or '-', then spaces. */
static const char *skip_separator(const char *p)
{
    while (*p == '*' || *p == '"' || *p == '\'' || *p == ' ')
        p++;
    if (*p == '#' || *p == ':' || *p == '.' || *p == '-' || *p == ',') p++;
    while (isspace((unsigned char)*p))
        p++;
    return p;
}

wim_verdict wim_verdict_parse(const char *text)
{
    wim_verdict v = {false, false, ""};
    const char *p = skip_decoration(text);
    bool yes;
    size_t n = answer_word(p, &yes);
    if (n == 0) return v;
    v.parsed = true;
    v.relevant = yes;
    v.reason = skip_separator(p + n);
    return v;
}

int wim_verdict_prefix(const char *text)
{
    const char *p = skip_decoration(text);
    const char *hash = strchr(p, '#');
    if (!hash) return -1;
    bool yes;
    size_t n = answer_word(p, &yes);
    /* Only "WORD#" (spaces allowed) decides early; anything else is undecided. */
    if (n == 0) return -1;
    for (const char *q = p + n; q < hash; q++)
        if (*q != ' ' && *q != '*') return -1;
    return yes ? 1 : 0;
}

int wim_yes_no(const char *text)
{
    wim_verdict v = wim_verdict_parse(text);
    return v.parsed ? v.relevant : -1;
}
