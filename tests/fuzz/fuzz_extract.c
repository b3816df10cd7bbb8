/*
 * fuzz_extract.c - libFuzzer target: a document file's bytes, as anyone may
 * send them (`wim -f`, the server's "document_base64", wim-eval's
 * "context_file"): extract_text on them as they are, and base64_decode on them
 * as the server's upload. Beyond memory errors it checks what the callers rely
 * on: an extracted text is whole (NUL-terminated at its length, no NUL inside),
 * readable (wim_check_text accepts it) and within EXTRACT_MAX_TEXT unless it is
 * plain text; a refusal is one line; decoded base64 is at most 3/4 of its text.
 */
#include "base64.h"
#include "extract.h"
#include "fuzz.h"
#include "wim.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_extract(const char *bytes, size_t len)
{
    char *text = NULL, err[512] = "";
    size_t n = 0;
    if (extract_text(bytes, len, 0, &text, &n, err, sizeof err) != 0) {
        check(err[0] && !strchr(err, '\n'));
        return;
    }
    check(text && text[n] == '\0' && strlen(text) == n);
    check(wim_check_text("document", text, n, err, sizeof err) == 0);
    check(extract_kind_of(bytes, len) == EXTRACT_TEXT || n <= EXTRACT_MAX_TEXT);
    free(text);
}

static void check_base64(const char *in, size_t len)
{
    char *out = NULL, err[256] = "";
    size_t n = 0;
    if (base64_decode(in, len, &out, &n, err, sizeof err) != 0) {
        check(err[0] && !strchr(err, '\n'));
        return;
    }
    check(out && n <= len / 4 * 3 + 2 && out[n] == '\0');
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_extract((const char *)data, size);
    check_base64((const char *)data, size);
    return 0;
}
