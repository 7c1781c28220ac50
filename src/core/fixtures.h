/* fixtures.h: the canned responses, embedded at build time from fixtures/
 * and optionally overridden from a directory at start.
 *
 * Every JSON fixture is decoded as its Go type and re-encoded, so a
 * hand-edited, pretty-printed file still goes out byte-identical to what the
 * reference's json.Encoder would send (field order, escaping, "\n"). The
 * placeholder {{SIGNING_PUBLIC_KEY_B64}} is replaced by the per-start key. */
#ifndef MK_FIXTURES_H
#define MK_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>

#include "state.h"

typedef struct mk_fixtures {
    /* Immutable after load; each body ends in "\n" as json.Encoder writes. */
    mk_blob *register_body;
    mk_blob *key_rotate_body;
    mk_blob *endpoint_body;
    mk_blob *metadata_body;
    mk_blob *artifact_body; /* raw bytes, no newline added */
    /* Defaults for the mutable fixtures held by mk_state. */
    mk_blob *state_default;
    mk_blob *heartbeat_default;
    bool heartbeat_own; /* heartbeat.json came from the fixtures folder */
} mk_fixtures;

/* Loads every fixture: from dir/<name> when that file exists (dir may be
 * NULL), else the embedded copy. dir must exist and hold only fixture
 * names (dot-files aside). Returns 0, or a negative MOCKAPI_E* code with the
 * file name and reason in err: EIO (dir missing, not a folder, unreadable;
 * errno's text), EINVAL (an unknown file in dir, with the known names and
 * the nearest one), EJSON, ENOMEM. */
int mk_fixtures_load(mk_fixtures *f, const char *dir, const char *pubkey_b64, char *err,
                     size_t errlen);
void mk_fixtures_dispose(mk_fixtures *f);

/* Decodes json as t and renders the response body (json.Encoder form, with
 * "\n"). Returns MOCKAPI_OK or MOCKAPI_EJSON / MOCKAPI_ENOMEM (reason in err). */
int mk_fixture_render(const gt_type *t, const char *json, size_t n, mk_blob **out, char *err,
                      size_t errlen);

#endif
