/*
 * fuzz_docfile.c - libFuzzer target: stored documents (docfile.c's loader, and
 * a question asked of what it loaded) as a damaged or hostile file gives them,
 * on the tiny made model named by WIM_FUZZ_MODEL (scripts/fuzz.sh makes it).
 *
 * A file's checksum covers its body, which random changes would almost never
 * keep right, so the fuzzer would see little past it: a checksum of the
 * stored shape (16 hex digits) is set to the body's before loading, and one of
 * any other shape is left to be refused.
 *
 * With WIM_FUZZ_SEED set to a path, it first reads a short document and saves
 * it there: a seed of this model and of the target's own options, which a file
 * made by other settings would not be.
 */
#define _GNU_SOURCE /* memmem */

#include "wim.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The fuzzer reports a failed check as a crash, with the input that made it. */
#define check(cond) ((cond) ? (void)0 : abort())

static wim_session *session;
static char path[4096]; /* where each input is written to be loaded, in $TMPDIR */
static const char *const question[] = {"Who asked for a lamp?"};

static const char document[] =
    "The harbour master logged forty ships in March. Two were turned away for want of papers. "
    "In April the breakwater was repaired with stone from Hollin. The tolls rose by a tenth. "
    "The keeper of the light, Mara Quill, asked for a second lamp. By May the fleet was back. ";

/* ============================================================================
 * Set-up: the model, one session, the seed
 * ========================================================================= */

static void die(const char *what, const char *why)
{
    fprintf(stderr, "fuzz_docfile: %s: %s\n", what, why);
    exit(1);
}

static void remove_file(void)
{
    unlink(path);
}

static void save_seed(const char *seed)
{
    if (wim_session_run(session, document, strlen(document), question[0], NULL, NULL) != 0 ||
        wim_session_save_doc(session, seed) != 0)
        die(seed, wim_session_error(session));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *model_path = getenv("WIM_FUZZ_MODEL");
    if (!model_path)
        die("WIM_FUZZ_MODEL", "not set (to a model made by wim-mkmodel --preset tiny)");
    char err[512];
    wim_model *m = wim_model_load(model_path, NULL, err, sizeof err);
    if (!m) die(model_path, err);
    wim_options o;
    wim_options_default(&o);
    o.n_threads = 1;
    o.segment_tokens = 16; /* a few segments, in a file of some 30 KB */
    o.max_margin_tokens = o.max_verdict_tokens = o.max_answer_tokens = 2;
    session = wim_session_new(m, &o, err, sizeof err);
    if (!session) die("session", err);
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/wim-fuzz-docfile-XXXXXX", tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) die(path, "cannot make it");
    close(fd);
    atexit(remove_file);
    const char *seed = getenv("WIM_FUZZ_SEED");
    if (seed) save_seed(seed);
    return 0;
}

/* ============================================================================
 * One input
 * ========================================================================= */

/* The body's FNV-1a (64 bits), as docfile.c sums it. */
static uint64_t body_sum(const uint8_t *p, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* Sets a "checksum":"<16 hex digits>" in the header to the body's sum. */
static void fix_checksum(uint8_t *file, size_t len)
{
    static const char key[] = "\"checksum\":\"";
    if (len < 12) return;
    size_t header = file[8] | file[9] << 8 | file[10] << 16 | (size_t)file[11] << 24;
    if (header > len - 12) return;
    uint8_t *at = memmem(file + 12, header, key, sizeof key - 1);
    size_t digits = at ? (size_t)(at - (file + 12)) + sizeof key - 1 : 0;
    if (!at || digits + 17 > header || file[12 + digits + 16] != '"') return;
    char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64, body_sum(file + 12 + header, len - 12 - header));
    memcpy(file + 12 + digits, hex, 16);
}

static void write_file(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) die(path, "cannot write it");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *file = malloc(size ? size : 1);
    if (!file) return 0;
    memcpy(file, data, size);
    fix_checksum(file, size);
    write_file(file, size);
    free(file);
    if (wim_session_load_doc(session, path) != 0) {
        check(wim_session_error(session)[0]);
        return 0;
    }
    /* what was loaded must answer, or fail with a reason: never crash */
    if (wim_session_ask(session, question, 1, NULL, NULL) != 0)
        check(wim_session_error(session)[0]);
    return 0;
}
