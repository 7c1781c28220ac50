/* fuzz_session_body.c: a libFuzzer target for the body of POST
 * /test/sessions (src/core/session_body.c).
 *
 * Checked on every input: decoding returns without a sanitizer report; a
 * refusal leaves a non-empty one-line message; an accepted body gives an
 * id and a name that fit their buffers, a TTL within its bound, and state,
 * heartbeat and faults spans inside the input that are themselves one JSON
 * object (state, heartbeat) or array (faults). */
#include "fuzz_check.h"

#include "gojson.h"
#include "session.h"

static void check_span(const char *in, size_t size, const char *p, size_t n, gj_kind want)
{
    if (!p)
        return;
    CHECK(p >= in && p + n <= in + size && n >= 2);
    size_t pos = 0, st, en;
    gj_kind k;
    CHECK(gj_scan_value(p, n, &pos, &k, &st, &en) == 0 && k == want && pos == n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_copy(data, size, 0);
    mk_session_opts o;
    char id[MK_SESSION_ID_MAX + 2], name[MK_SESSION_NAME_MAX + 2], err[600] = "";
    if (mk_session_parse_body(in, size, &o, id, sizeof id, name, sizeof name, err, sizeof err) != 0) {
        CHECK(err[0] != '\0');
        CHECK(strchr(err, '\n') == NULL);
        free(in);
        return 0;
    }
    CHECK(!o.id || (o.id == id && strlen(id) < sizeof id));
    CHECK(!o.name || (o.name == name && strlen(name) < sizeof name));
    CHECK(o.ttl_ms <= MK_SESSION_MAX_TTL_MS);
    check_span(in, size, o.state, o.state_len, GJ_OBJECT);
    check_span(in, size, o.heartbeat, o.heartbeat_len, GJ_OBJECT);
    check_span(in, size, o.faults, o.faults_len, GJ_ARRAY);
    free(in);
    return 0;
}
