/*
 * fuzz_docfile.c - libFuzzer target: stored documents (docfile.c's loader, and
 * a question asked of what it loaded) as a damaged or hostile file gives them,
 * on the tiny made model named by WIM_FUZZ_MODEL (scripts/fuzz.sh makes it).
 *
 * A file's checksum covers its body, which random changes would almost never
 * keep right, so the fuzzer would see little past it. A checksum of the stored
 * shape (16 hex digits) is therefore set to the body's before loading, when
 * the cache in the body is the seed's own, byte for byte, where the header puts
 * it: everything wim reads itself may change, but llama.cpp's cache is only
 * ever one it wrote. Its reader sizes buffers from counts in the cache before
 * checking them (llama_kv_cache::state_read_meta), so a forged cache can make
 * it allocate any amount, which no loader can check without parsing
 * llama.cpp's private format: a stored document is trusted once its checksum
 * matches. Any other file is left to its checksum.
 *
 * The seed: at start it reads a short document and saves it (to WIM_FUZZ_SEED
 * too, when set, for the corpus): a file of this model and of the target's own
 * options, which a file made by other settings would not be.
 */
#define _GNU_SOURCE /* memmem */

#include "fuzz.h"
#include "wim.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static wim_session *session;
static char path[4096];  /* where each input is written to be loaded, in $TMPDIR */
static uint8_t *cache;   /* the seed's cache, as llama.cpp wrote it */
static size_t cache_len; /* its bytes */
static const char *const question[] = {"Who asked for a lamp?"};

static const char document[] =
    "The harbour master logged forty ships in March. Two were turned away for want of papers. "
    "In April the breakwater was repaired with stone from Hollin. The tolls rose by a tenth. "
    "The keeper of the light, Mara Quill, asked for a second lamp. By May the fleet was back. ";

/* ============================================================================
 * The file's layout, as docfile.c reads it
 * ========================================================================= */

/* The length of the header at file[12..), where the file holds it all. */
static bool header_len(const uint8_t *file, size_t len, size_t *n)
{
    if (len < 12) return false;
    *n = file[8] | file[9] << 8 | file[10] << 16 | (size_t)file[11] << 24;
    return *n <= len - 12;
}

/* The JSON header at file[12..), or NULL; *body is where the body starts. */
static cJSON *header(const uint8_t *file, size_t len, size_t *body)
{
    size_t n;
    if (!header_len(file, len, &n)) return NULL;
    *body = 12 + n;
    return cJSON_ParseWithLength((const char *)file + 12, n);
}

/* A header number as docfile.c converts it to size_t (false where that would
 * be undefined, or it is no number). */
static bool size_field(const cJSON *h, const char *name, size_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(h, name);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble < 18446744073709551616.0))
        return false;
    *out = (size_t)v->valuedouble;
    return true;
}

/* The cache in body[0..len) where the header puts it, with its size; false
 * where the header gives no place. */
static bool cache_at(const cJSON *h, size_t len, size_t *at, size_t *bytes)
{
    size_t doc, pre, tok;
    if (!size_field(h, "doc_bytes", &doc) || !size_field(h, "pre_tokens", &pre) ||
        !size_field(h, "doc_tokens", &tok) || !size_field(h, "state_bytes", bytes))
        return false;
    *at = doc + (pre + tok) * sizeof(int32_t); /* in size_t, as docfile.c sums them */
    return *at <= len && *bytes <= len - *at;
}

/* ============================================================================
 * Set-up: the model, one session, the seed
 * ========================================================================= */

_Noreturn static void die(const char *what, const char *why)
{
    fprintf(stderr, "fuzz_docfile: %s: %s\n", what, why);
    exit(1);
}

static void remove_file(void)
{
    unlink(path);
}

static uint8_t *read_file(const char *name, size_t *len)
{
    FILE *f = fopen(name, "rb");
    uint8_t *data = NULL;
    if (f && fseek(f, 0, SEEK_END) == 0 && (*len = (size_t)ftell(f)) > 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (data = malloc(*len)) && fread(data, 1, *len, f) != *len)
        die(name, "cannot read it");
    if (f) fclose(f);
    if (!data) die(name, "cannot read it");
    return data;
}

static void write_file(const char *name, const uint8_t *data, size_t len)
{
    FILE *f = fopen(name, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) die(name, "cannot write it");
}

/* Reads the document, saves it, and keeps its cache. */
static void make_seed(void)
{
    if (wim_session_run(session, document, strlen(document), question[0], NULL, NULL) != 0 ||
        wim_session_save_doc(session, path) != 0)
        die("the seed", wim_session_error(session));
    size_t len, body, at;
    uint8_t *file = read_file(path, &len);
    cJSON *h = header(file, len, &body);
    if (!h || !cache_at(h, len - body, &at, &cache_len)) die(path, "not a document file");
    cache = malloc(cache_len);
    if (!cache) die("the seed", "out of memory");
    memcpy(cache, file + body + at, cache_len);
    const char *corpus = getenv("WIM_FUZZ_SEED");
    if (corpus) write_file(corpus, file, len);
    cJSON_Delete(h);
    free(file);
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
    temp_pattern(path, sizeof path, "wim-fuzz-docfile");
    int fd = mkstemp(path);
    if (fd < 0) die(path, "cannot make it");
    close(fd);
    atexit(remove_file);
    make_seed();
    return 0;
}

/* ============================================================================
 * Mutations
 * ========================================================================= */

/* Half of the changes go to the header alone, its length kept right: in a file
 * of 30 KB of cache, changes at random would almost never touch the header,
 * where what the loader checks is. */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    size_t n;
    if (seed % 2 || !header_len(data, size, &n) || n == 0)
        return LLVMFuzzerMutate(data, size, max_size);
    size_t body_len = size - 12 - n;
    uint8_t *body = malloc(body_len ? body_len : 1);
    if (!body || max_size < size) {
        free(body);
        return LLVMFuzzerMutate(data, size, max_size);
    }
    memcpy(body, data + 12 + n, body_len);
    n = LLVMFuzzerMutate(data + 12, n, max_size - 12 - body_len);
    memcpy(data + 12 + n, body, body_len);
    free(body);
    const uint8_t len_le[4] = {n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >> 24) & 0xff};
    memcpy(data + 8, len_le, 4);
    return 12 + n + body_len;
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

/* Sets a "checksum":"<16 hex digits>" in the header to the body's sum, when
 * the body ends with the seed's cache, where the header puts it. */
static void fix_checksum(uint8_t *file, size_t len)
{
    static const char key[] = "\"checksum\":\"";
    size_t body, at, bytes;
    cJSON *h = header(file, len, &body);
    bool seed_cache = h && cache_at(h, len - body, &at, &bytes) && bytes == cache_len &&
                      at + bytes == len - body && memcmp(file + body + at, cache, bytes) == 0;
    cJSON_Delete(h);
    uint8_t *sum = seed_cache ? memmem(file + 12, body - 12, key, sizeof key - 1) : NULL;
    size_t digits = sum ? (size_t)(sum - file) + sizeof key - 1 : 0;
    if (!sum || digits + 16 >= body || file[digits + 16] != '"') return;
    char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64, body_sum(file + body, len - body));
    memcpy(file + digits, hex, 16);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *file = malloc(size ? size : 1);
    if (!file) return 0;
    memcpy(file, data, size);
    fix_checksum(file, size);
    write_file(path, file, size);
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
