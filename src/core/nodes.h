/* nodes.h: the strict profile's node registry, one per session.
 *
 * In the strict profile (README "The strict profile") the mock knows the
 * nodes an agent registered, as the production mesh API does: each has a
 * node id (a UUIDv7), a node secret key (NSK) bound to it, a mesh IP, a
 * reachability state driven by heartbeats and the session's clock, at
 * most one pending key rotation, the last capability manifest and the
 * last endpoint observation. The reference profile never uses it.
 *
 * Time is always passed in (now_ms, milliseconds since the Unix epoch on
 * the session's clock: the wall clock plus what the test advanced it), so
 * the state machines are pure functions of their calls and a test drives
 * them without sleeping.
 *
 * Thread safety: every call takes the registry's own mutex; the JSON a
 * call writes is built under it, so it is one consistent view. */
#ifndef MK_NODES_H
#define MK_NODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "buf.h"

enum {
    MK_NODES_MAX = 250,      /* nodes per session: mesh IPs 10.99.0.4 .. 10.99.0.253 */
    MK_NODE_ID_LEN = 36,     /* canonical UUID text, 8-4-4-4-12 lower-case hex */
    MK_NODE_NSK_LEN = 32,    /* ASCII [A-Za-z0-9], as the contract's NSK */
    MK_NODE_STALE_MS = 90000,        /* healthy -> stale without a heartbeat */
    MK_NODE_UNREACHABLE_MS = 300000, /* -> unreachable (cumulative) */
    MK_NODE_ENDPOINT_TTL_MS = 600000, /* an endpoint observation's stale_after */
    MK_NODE_HOOKS_MAX = 64,  /* declared hooks per manifest */
};

typedef enum mk_reach { MK_REACH_HEALTHY, MK_REACH_STALE, MK_REACH_UNREACHABLE } mk_reach;
const char *mk_reach_name(mk_reach r); /* "healthy", "stale", "unreachable" */

typedef struct mk_nodes mk_nodes;

/* A fresh registry with a fresh domain id (a UUIDv7); NULL out of memory. */
mk_nodes *mk_nodes_new(int64_t now_ms);
void mk_nodes_free(mk_nodes *n); /* NULL ok */
/* Charges what the nodes hold (their strings, manifests, endpoints) to b,
 * the budget every session but default draws on (budget.h); a call whose
 * growth does not fit changes nothing and returns -4. NULL: no budget. */
void mk_nodes_set_budget(mk_nodes *n, mk_budget *b);
/* Forgets every node and revoked key; a new domain id is not drawn (the
 * domain stays, as a reset keeps the session). */
void mk_nodes_clear(mk_nodes *n);
/* The domain's id (36 bytes + NUL), fixed for the registry's life. */
const char *mk_nodes_domain(const mk_nodes *n);

/* Text helpers, pure. */
bool mk_uuid_valid(const char *s, size_t len); /* canonical 8-4-4-4-12 hex, any case */
/* Lower-cases s (NUL-terminated; NULL ok) in place: node ids are kept as
 * the registry issues them, so a path or query in upper case names the
 * same node and the same event stream. */
void mk_node_id_lower(char *s);
void mk_uuid_v7(int64_t now_ms, char out[MK_NODE_ID_LEN + 1]); /* RFC 9562 UUIDv7, lower case */
/* RFC 3339 UTC with milliseconds: "2026-12-06T20:45:00.123Z" (24 bytes + NUL). */
void mk_rfc3339_ms(int64_t ms, char out[32]);

/* Registers a node: draws its id (UUIDv7 at now_ms), its NSK and the next
 * mesh IP ("10.99.0.N"). 0; -1 out of memory; -2 MK_NODES_MAX nodes live.
 * A fresh node is healthy with no heartbeat yet (changed_at = now).
 * -4: the budget (mk_nodes_set_budget) is spent. */
int mk_nodes_register(mk_nodes *n, int64_t now_ms, const char *hostname, const char *public_key,
                      char id[MK_NODE_ID_LEN + 1], char nsk[MK_NODE_NSK_LEN + 1], char mesh_ip[16]);

typedef enum mk_nsk_verdict {
    MK_NSK_UNKNOWN = 0, /* no node ever held it */
    MK_NSK_OK,          /* a live node's key: *id is the node */
    MK_NSK_REVOKED,     /* the key of a node that deregistered: *id was the node */
} mk_nsk_verdict;
/* Which node holds this key (compared in constant time per candidate). */
mk_nsk_verdict mk_nodes_auth(mk_nodes *n, const char *nsk, size_t len, char id[MK_NODE_ID_LEN + 1]);
bool mk_nodes_exists(mk_nodes *n, const char *id, size_t len);
/* Deregisters: the node goes, its key is kept as revoked (at most
 * MK_NODES_MAX revoked keys, oldest forgotten first). 0, or -1 unknown. */
int mk_nodes_deregister(mk_nodes *n, const char *id, size_t len);

/* An accepted heartbeat: reachability -> healthy (changed_at = now when it
 * was not healthy), last_heartbeat_at = now. Writes the response members
 * `"accepted_at":"<now>"` (no braces). 0, or -1 unknown node. */
int mk_nodes_heartbeat(mk_nodes *n, const char *id, size_t len, int64_t now_ms, mk_buf *out);

/* GET .../reachability: {"state":..,"last_heartbeat_at":..|null,"changed_at":..}
 * at now_ms. The state follows from the time since the last heartbeat (or
 * since registration, when none came): >= 90 s stale, >= 300 s
 * unreachable; changed_at is when that transition happened (the
 * heartbeat's time + 90 s / + 300 s), or the last move to healthy. 0, or
 * -1 unknown node. */
int mk_nodes_reachability_json(mk_nodes *n, const char *id, size_t len, int64_t now_ms, mk_buf *out);

/* Key rotation, three legs (seed 004 "Mesh-key rotation").
 * Trigger: {"rotation_id":UUIDv7,"peer_id":<node id>,"already_pending":bool};
 * a second trigger while one is pending returns the same rotation_id with
 * already_pending true. *created says whether this call made it (only then
 * does the caller emit the rotate_keys event). 0, or -1 unknown node. */
int mk_nodes_rotate_trigger(mk_nodes *n, const char *id, size_t len, int64_t now_ms, bool *created, mk_buf *out);
/* Preview (changes nothing): {"node_id":..,"peer_id":..,"affected_peer_count":N,
 * "affected_edges":[{"from":id,"to":other}...],"already_pending":bool,
 * "estimated_duration_seconds":N}; the affected edges are the node's edges
 * to every other live node. 0, or -1 unknown node. */
int mk_nodes_rotate_preview(mk_nodes *n, const char *id, size_t len, mk_buf *out);
/* Completion with the new public key (already validated by the caller):
 * {"rotation_id":..,"kid":"..","wrap_key_version":N}. The node's public key
 * becomes new_key, the rotation is completed, wrap_key_version goes up by
 * one. The same key again after completion returns the prior receipt
 * (*created false). 0; -1 unknown node; -2 no pending rotation (409);
 * -3 out of memory (the new key is copied, as capabilities and endpoint);
 * -4 the budget is spent (nothing changed). */
int mk_nodes_rotate_complete(mk_nodes *n, const char *id, size_t len, const char *new_key, int64_t now_ms,
                             bool *created, mk_buf *out);

/* A validated capability manifest (strict_body.h fills it). */
typedef struct mk_caps {
    const char *binary_version, *binary_checksum; /* NUL-terminated */
    const char *ssh_host_key_fingerprint;         /* NULL: absent */
    size_t nhooks;
    struct { const char *name, *checksum; } hooks[MK_NODE_HOOKS_MAX];
} mk_caps;
/* Records it: {"accepted_at":..,"fields_changed":[names that differ from
 * the last manifest, all present ones on the first],"host_key_changed":bool}.
 * 0; -1 unknown node; -3 out of memory; -4 the budget is spent. */
int mk_nodes_capabilities(mk_nodes *n, const char *id, size_t len, const mk_caps *c, int64_t now_ms,
                          mk_buf *out);

/* Records an endpoint observation: {"accepted_at":..,"stale_after":..}.
 * *changed says whether (endpoint) differs from the last one (or the last
 * one is past its stale_after). 0, -1 unknown node, -3 out of memory, -4 the
 * budget is spent (nothing changed). */
int mk_nodes_endpoint(mk_nodes *n, const char *id, size_t len, const char *endpoint, const char *nat_type,
                      int64_t now_ms, bool *changed, mk_buf *out);

/* GET /v1/domains/{domain}/mesh/topology: {"domain_id":..,"generated_at":..,
 * "nodes":[{"node_id":..,"mesh_ip":..,"reachability":..}...],
 * "edges":[{"from":..,"to":..,"mode":"direct","relay_node_id":null,
 * "handshake_age_seconds":null}...]} with nodes in id order and an edge
 * from every node to every other node that reported an endpoint. */
void mk_nodes_topology_json(mk_nodes *n, int64_t now_ms, mk_buf *out);

/* GET /test/nodes: {"domain_id":..,"now":..,"nodes":[{"node_id","hostname",
 * "mesh_ip","registered_at","reachability":{...},"rotation":{"id","state":
 * "pending"|"completed"}|null,"endpoint":..|null,"binary_version":..|null}...],
 * "revoked":N} + "\n". */
void mk_nodes_list_json(mk_nodes *n, int64_t now_ms, mk_buf *out);

#endif
