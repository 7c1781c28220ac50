/* fuzz_fault.c: a libFuzzer target for the fault grammar (src/core/fault.c).
 *
 * Checked on every input: parsing returns without a sanitizer report; a
 * refusal leaves a non-empty one-line message; an accepted spec formats to
 * a canonical text that parses again to the same fault and formats to the
 * same text (so what the journal and /test/faults show can be pasted back),
 * and its wire text is non-empty. */
#include "fuzz_check.h"

#include "fault.h"

static int same(const mk_fault *a, const mk_fault *b)
{
    return a->has == b->has && a->status == b->status && a->retry_after == b->retry_after &&
           a->wire == b->wire && a->delay_ms == b->delay_ms && a->jitter_ms == b->jitter_ms &&
           a->hang_ms == b->hang_ms && a->partial == b->partial &&
           a->partial_rst == b->partial_rst && a->slow_bps == b->slow_bps &&
           a->first == b->first && a->p == b->p && a->seed == b->seed &&
           a->regions == b->regions && a->cut_after == b->cut_after && a->cut_mid == b->cut_mid &&
           a->stall_ms == b->stall_ms && a->retry_ms == b->retry_ms;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_copy(data, size, 0);
    mk_fault f, g;
    char err[256] = "";
    if (mk_fault_parse(in, size, &f, err, sizeof err) != 0) {
        CHECK(err[0] != '\0');
        CHECK(strchr(err, '\n') == NULL);
        free(in);
        return 0;
    }
    char text[512], again[512], wire[64];
    size_t n = mk_fault_format(&f, text, sizeof text);
    CHECK(n < sizeof text);
    CHECK(mk_fault_parse(text, n, &g, err, sizeof err) == 0);
    CHECK(same(&f, &g));
    CHECK(mk_fault_format(&g, again, sizeof again) == n && strcmp(text, again) == 0);
    mk_fault_wire_text(&f, wire, sizeof wire);
    CHECK(wire[0] != '\0');
    free(in);
    return 0;
}
