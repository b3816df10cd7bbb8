/*
 * fuzz_verdict.c - libFuzzer target: the classifier's answers (verdict.c), as
 * any model may write them. Beyond memory errors it checks what the engine
 * relies on: a reason inside the text, a one-pass verdict that agrees with the
 * full parse and is decided by the first '#', and wim_yes_no as the parse says.
 */
#include "fuzz.h"
#include "verdict.h"
#include "wim.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_parse(const char *text)
{
    wim_verdict v = wim_verdict_parse(text);
    if (!v.parsed) {
        check(!v.relevant && strcmp(v.reason, "") == 0);
    } else {
        check(v.reason >= text && v.reason <= text + strlen(text));
    }
    check(wim_yes_no(text) == (v.parsed ? v.relevant : -1));
}

/* One-pass margins are read as they stream: the verdict is -1 until the first
 * '#' arrives, and from then on what the whole answer parses as. */
static void check_prefix(char *text)
{
    int decided = wim_verdict_prefix(text);
    char *hash = strchr(text, '#');
    if (!hash) {
        check(decided == -1);
        return;
    }
    if (decided != -1) {
        wim_verdict v = wim_verdict_parse(text);
        check(v.parsed && v.relevant == (decided == 1));
    }
    char after = hash[1];
    hash[1] = '\0';
    check(wim_verdict_prefix(text) == decided);
    hash[0] = '\0';
    check(wim_verdict_prefix(text) == -1);
    hash[0] = '#';
    hash[1] = after;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    check_parse(text);
    check_prefix(text);
    free(text);
    return 0;
}
