/* fuzz_fault_body.c: a libFuzzer target for the body of POST /test/faults
 * (src/core/faults_body.c).
 *
 * Checked on every input: decoding returns without a sanitizer report; a
 * refusal leaves a non-empty one-line message (it goes into a JSON error
 * body and the journal); an accepted body names exactly one of route and
 * path, a non-empty spec, and strings that fit their buffers. */
#include "fuzz_check.h"

#include "faults.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_copy(data, size, 0);
    mk_fault_body b;
    char err[600] = "";
    if (mk_faults_parse_body(in, size, &b, err, sizeof err) != 0) {
        CHECK(err[0] != '\0');
        CHECK(strchr(err, '\n') == NULL);
        free(in);
        return 0;
    }
    CHECK(b.has_route != b.has_path);
    CHECK(b.spec[0] != '\0' && strlen(b.spec) < sizeof b.spec);
    CHECK(strlen(b.route) < sizeof b.route && strlen(b.path) < sizeof b.path);
    CHECK(strlen(b.method) < sizeof b.method);
    CHECK(b.ttl_ms <= MK_FAULT_MAX_TTL_MS);
    free(in);
    return 0;
}
