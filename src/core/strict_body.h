/* strict_body.h: the strict profile's request bodies, decoded and checked,
 * as pure functions over bytes (README "The strict profile").
 *
 * Each function decodes one route's body the way the production mesh API
 * does (seed 004): a JSON object with exactly the members the schema
 * names (an unknown member, a missing required one, a wrong type or bytes
 * that are not JSON are the route's `malformed_*` code), then the route's
 * semantic checks in the seed's order. The first failure is the answer:
 * its status, its `code` from the taxonomy, and a one-line detail that
 * names the member and what was wrong (never the raw value when it may
 * hold a line break: values are shown escaped, at most 64 bytes).
 *
 * Body caps (413) and authentication are the caller's (strict.c): these
 * see a body that already passed them. Times are compared with wall_ms,
 * the machine's clock in ms since the Unix epoch (README: the test clock
 * moves the server's timers, not the skew check).
 *
 * On success the out struct's strings point into *doc, which the caller
 * releases with mk_sb_free (also after a failure: it may be set). */
#ifndef MK_STRICT_BODY_H
#define MK_STRICT_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nodes.h"

enum {
    MK_SB_SKEW_MS = 60000,        /* client_now / reported_at vs the server's clock */
    MK_SB_VIOLATIONS_MAX = 100,   /* integrity violations per batch */
};

/* Why a body was refused: status, taxonomy code, one-line detail. */
typedef struct mk_sb_verdict {
    int status;       /* 400, 422 */
    const char *code; /* static: "malformed_heartbeat_request", ... */
    char detail[256];
} mk_sb_verdict;

void mk_sb_free(void *doc); /* NULL ok */

/* 32-byte SHA-256 as 64 hex digits (any case), optionally after "sha256:". */
bool mk_sb_sha256_valid(const char *s, size_t len);
/* An RFC 3339 date-time ("2026-12-06T20:45:00Z", fractions and offsets
 * allowed) to ms since the epoch, read as Go's time.Time decoding reads it
 * (gojson.h gj_time_parse), as the production API does; false when it is
 * not one. */
bool mk_sb_time(const char *s, size_t len, int64_t *ms);

/* POST /v1/nodes/{id}/heartbeat: HeartbeatRequest {client_now, binary_checksum,
 * binary_version, nat_summary?}. Checks, in order: malformed_heartbeat_request,
 * binary_checksum_empty, binary_version_empty (after trimming white space),
 * clock_skew (|client_now - wall_ms| > 60 s). */
typedef struct mk_sb_heartbeat {
    const char *binary_version, *binary_checksum;
    int64_t client_now_ms;
} mk_sb_heartbeat;
int mk_sb_heartbeat_check(const char *body, size_t len, int64_t wall_ms, mk_sb_heartbeat *out, void **doc,
                          mk_sb_verdict *v);

/* PUT /v1/nodes/{id}/endpoint: EndpointRequest {endpoint, nat_type, reported_at}.
 * malformed_endpoint_request, endpoint_unparseable (host:port, [v6]:port;
 * the host an IP literal that is not loopback, unspecified, multicast or
 * link-local; port 1..65535), endpoint_clock_skew (|reported_at - wall_ms|
 * > 60 s, or older than the endpoint TTL). */
typedef struct mk_sb_endpoint {
    const char *endpoint, *nat_type;
    int64_t reported_at_ms;
} mk_sb_endpoint;
int mk_sb_endpoint_check(const char *body, size_t len, int64_t wall_ms, mk_sb_endpoint *out, void **doc,
                         mk_sb_verdict *v);

/* PUT /v1/nodes/{id}/capabilities: CapabilityManifestRequest {binary_version,
 * binary_checksum, ssh_host_key_fingerprint?, declared_hooks?: [{name, checksum}]}.
 * malformed_capabilities_request (also binary_version missing or empty),
 * binary_checksum_invalid, ssh_host_key_fingerprint_invalid ("SHA256:" and
 * 43 unpadded base64 characters), declared_hooks_too_many (> 64),
 * declared_hook_invalid (empty name, bad checksum), declared_hook_duplicate. */
int mk_sb_capabilities_check(const char *body, size_t len, mk_caps *out, void **doc, mk_sb_verdict *v);

/* POST /v1/nodes/{id}/integrity-violations: {violations: [{kind, detected_by,
 * artifact_id, checksum? | host_key_fingerprint?}]}.
 * Kinds: binary_checksum_mismatch and hook_checksum_mismatch (carry
 * `checksum`), ssh_host_key_mismatch (carries `host_key_fingerprint`).
 * Detectors: startup, watcher, periodic.
 * malformed_integrity_violations_request, integrity_violations_empty,
 * integrity_violations_too_many (> 100), then per entry in order:
 * integrity_violation_kind_invalid, integrity_violation_detected_by_invalid,
 * integrity_violation_artifact_id_empty, integrity_violation_kind_mismatch
 * (the other kind's member present, or its own missing),
 * integrity_violation_checksum_invalid,
 * integrity_violation_host_key_fingerprint_invalid.
 * *count receives the number of violations. */
int mk_sb_violations_check(const char *body, size_t len, size_t *count, void **doc, mk_sb_verdict *v);

/* POST /v1/keys/rotate: KeysRotateRequest {new_public_key}.
 * malformed_keys_rotate_request, then 422 keys_rotate_public_key_invalid
 * (not standard base64 of exactly 32 bytes, or all zero). */
int mk_sb_keys_rotate_check(const char *body, size_t len, const char **new_key, void **doc, mk_sb_verdict *v);

/* POST /v1/register in strict: RegisterRequest {token, public_key, hostname,
 * metadata?, capabilities?} (the mock's own codes: the seed does not list
 * register). malformed_register_request (unknown member, wrong type, token
 * or hostname missing or empty, a hostname over 253 bytes or a token over
 * 256), 422 register_public_key_invalid (as
 * new_public_key). The bootstrap token itself is the caller's to judge. */
typedef struct mk_sb_register {
    const char *token, *public_key, *hostname;
} mk_sb_register;
int mk_sb_register_check(const char *body, size_t len, mk_sb_register *out, void **doc, mk_sb_verdict *v);

#endif
