/* fuzz_strict_body.c: a libFuzzer target for the strict profile's body
 * checks (src/core/strict_body.c).
 *
 * The first byte picks the route (its value mod 6: '0' heartbeat, '1'
 * endpoint, '2' capabilities, '3' integrity violations, '4' keys/rotate,
 * '5' register); the rest is the body, checked against a fixed wall clock
 * (2026-12-06T20:45:00Z) so that seeds near it reach the skew checks. The
 * body alone also goes through mk_sb_time and mk_sb_sha256_valid.
 *
 * Checked on every input: no sanitizer report; a refusal returns its
 * status, which is 400 or 422, with a code and a non-empty one-line detail
 * (no '\n' or '\r', valid UTF-8, NUL-terminated in its buffer); an
 * accepted body fills what the header promises (strings inside the
 * document, hooks within MK_NODE_HOOKS_MAX with SHA-256 checksums, 1 to
 * MK_SB_VIOLATIONS_MAX violations, times within the skew of the clock). */
#include "fuzz_check.h"

#include "strict_body.h"

static const int64_t WALL = 1796589900000; /* 2026-12-06T20:45:00Z */

/* true when s[0..n) is valid UTF-8 (no overlong forms, no surrogates) */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], v, min;
        size_t len;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            len = 2, v = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3, v = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4, v = c & 0x07, min = 0x10000;
        else
            return 0;
        if (len > n - i)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            v = v << 6 | (s[i + k] & 0x3f);
        }
        if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

static void check_refusal(int rc, const mk_sb_verdict *v)
{
    CHECK(rc == 400 || rc == 422);
    CHECK(v->status == rc);
    CHECK(v->code != NULL && v->code[0] != '\0');
    size_t dl = strnlen(v->detail, sizeof v->detail);
    CHECK(dl > 0 && dl < sizeof v->detail);
    CHECK(memchr(v->detail, '\n', dl) == NULL);
    CHECK(memchr(v->detail, '\r', dl) == NULL);
    CHECK(utf8_valid((const unsigned char *)v->detail, dl));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int route = data[0] % 6;
    size_t n = size - 1;
    char *in = fuzz_copy(data + 1, n, 0);
    mk_sb_verdict v;
    void *doc = NULL;
    int rc = -1;
    memset(&v, 0, sizeof v);

    int64_t ms;
    (void)mk_sb_time(in, n, &ms);
    (void)mk_sb_sha256_valid(in, n);

    switch (route) {
    case 0: {
        mk_sb_heartbeat o;
        rc = mk_sb_heartbeat_check(in, n, WALL, &o, &doc, &v);
        if (rc == 0) {
            CHECK(o.binary_version && o.binary_checksum);
            CHECK(mk_sb_sha256_valid(o.binary_checksum, strlen(o.binary_checksum)));
            CHECK(o.client_now_ms - WALL <= MK_SB_SKEW_MS && WALL - o.client_now_ms <= MK_SB_SKEW_MS);
        }
        break;
    }
    case 1: {
        mk_sb_endpoint o;
        rc = mk_sb_endpoint_check(in, n, WALL, &o, &doc, &v);
        if (rc == 0) {
            CHECK(o.endpoint && o.nat_type && strchr(o.endpoint, ':'));
            CHECK(o.reported_at_ms - WALL <= MK_SB_SKEW_MS && WALL - o.reported_at_ms <= MK_SB_SKEW_MS);
        }
        break;
    }
    case 2: {
        mk_caps o;
        rc = mk_sb_capabilities_check(in, n, &o, &doc, &v);
        if (rc == 0) {
            CHECK(o.binary_version && o.binary_version[0]);
            CHECK(mk_sb_sha256_valid(o.binary_checksum, strlen(o.binary_checksum)));
            CHECK(!o.ssh_host_key_fingerprint || strlen(o.ssh_host_key_fingerprint) == 50);
            CHECK(o.nhooks <= MK_NODE_HOOKS_MAX);
            for (size_t i = 0; i < o.nhooks; i++) {
                CHECK(o.hooks[i].name && o.hooks[i].name[0]);
                CHECK(mk_sb_sha256_valid(o.hooks[i].checksum, strlen(o.hooks[i].checksum)));
                for (size_t k = 0; k < i; k++)
                    CHECK(strcmp(o.hooks[i].name, o.hooks[k].name) != 0);
            }
        }
        break;
    }
    case 3: {
        size_t count = 0;
        rc = mk_sb_violations_check(in, n, &count, &doc, &v);
        if (rc == 0)
            CHECK(count >= 1 && count <= MK_SB_VIOLATIONS_MAX);
        break;
    }
    case 4: {
        const char *key = NULL;
        rc = mk_sb_keys_rotate_check(in, n, &key, &doc, &v);
        if (rc == 0)
            CHECK(key && strlen(key) == 44);
        break;
    }
    default: {
        mk_sb_register o;
        rc = mk_sb_register_check(in, n, &o, &doc, &v);
        if (rc == 0)
            CHECK(o.token && o.token[0] && o.hostname && o.hostname[0] && o.public_key &&
                  strlen(o.public_key) == 44);
        break;
    }
    }
    if (rc != 0)
        check_refusal(rc, &v);
    mk_sb_free(doc);
    free(in);
    return 0;
}
