/*
 * fuzz.h - what the fuzz targets share: checks that the fuzzer reports, and
 * where their files go (scripts/fuzz.sh gives each target a TMPDIR of its own).
 */
#ifndef WIM_FUZZ_H
#define WIM_FUZZ_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

/* The fuzzer reports a failed check as a crash, with the input that made it. */
#define check(cond) ((cond) ? (void)0 : abort())

/* "$TMPDIR/NAME-XXXXXX" (/tmp without TMPDIR), for mkstemp or mkdtemp. */
static inline void temp_pattern(char *buf, size_t cap, const char *name)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(buf, cap, "%s/%s-XXXXXX", tmp ? tmp : "/tmp", name);
}

#endif
