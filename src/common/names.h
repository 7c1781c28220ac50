/* names.h: the route names, as X-macro lists (header only, no code).
 *
 * A route's name is what the journal reports ("route") and what filters and
 * mockassert accept. Each entry also says which counter the route moves, so
 * the route table (core/router.c), mockassert's lint (assert/spec.c) and the
 * tests derive from this one place. Counters themselves are listed in the
 * public header (MOCKAPI_COUNTERS in mockapi.h).
 *
 * It sits in common, the lowest layer, because mockassert (a separate
 * program built from assert/ and src/common/glob.c) reads it too and must
 * not see core's headers, whose code it does not link.
 *
 * Entries are X(ID, "name", COUNTER): COUNTER is the ID of a
 * MOCKAPI_COUNTERS entry (MOCKAPI_ dropped), or NONE. */
#ifndef MK_NAMES_H
#define MK_NAMES_H

/* Routes that capture their body: the name is the capture key. These are the
 * 22 capture keys of docs/contract.md §9, in that order (it is mk_capture's order). */
#define MK_CAPTURE_ROUTES(X)                                      \
    X(REGISTER, "register", REGISTRATION_COUNT)                   \
    X(HEARTBEAT, "heartbeat", HEARTBEAT_COUNT)                    \
    X(DEREGISTER, "deregister", DEREGISTER_COUNT)                 \
    X(KEY_ROTATE, "key_rotate", KEY_ROTATE_COUNT)                 \
    X(CAPABILITIES, "capabilities", CAPABILITIES_COUNT)           \
    X(ENDPOINT, "endpoint", ENDPOINT_COUNT)                       \
    X(DRIFT, "drift", DRIFT_COUNT)                                \
    X(REPORT, "report", REPORT_COUNT)                             \
    X(EXECUTION_ACK, "execution_ack", EXECUTION_ACK_COUNT)        \
    X(EXECUTION_RESULT, "execution_result", EXECUTION_RESULT_COUNT) \
    X(METRICS, "metrics", METRICS_COUNT)                          \
    X(LOGS, "logs", LOGS_COUNT)                                   \
    X(AUDIT, "audit", AUDIT_COUNT)                                \
    X(TUNNEL_READY, "tunnel_ready", TUNNEL_READY_COUNT)           \
    X(TUNNEL_CLOSED, "tunnel_closed", TUNNEL_CLOSED_COUNT)        \
    X(INTEGRITY_VIOLATION, "integrity_violation", INTEGRITY_VIOLATION_COUNT) \
    X(CONFIGURE_STATE, "configure_state", NONE)                   \
    X(CONFIGURE_HEARTBEAT, "configure_heartbeat", NONE)           \
    X(INJECT_EVENT, "inject_event", INJECT_EVENT_COUNT)           \
    X(LOCAL_METRICS, "local_metrics", LOCAL_METRICS_COUNT)        \
    X(LOCAL_LOGS, "local_logs", LOCAL_LOGS_COUNT)                 \
    X(LOCAL_AUDIT, "local_audit", LOCAL_AUDIT_COUNT)

/* Routes that capture nothing, named for themselves. */
#define MK_PLAIN_ROUTES(X)                    \
    X(PING, "ping", NONE)                     \
    X(STATE, "state", STATE_COUNT)            \
    X(METADATA, "metadata", METADATA_COUNT)   \
    X(EVENTS, "events", NONE)                 \
    X(SECRETS, "secrets", SECRETS_COUNT)      \
    X(ARTIFACT, "artifact", ARTIFACT_COUNT)   \
    X(ASSERTIONS, "assertions", NONE)         \
    X(LAST_REQUEST, "last_request", NONE)     \
    X(SSE, "sse", NONE)                       \
    X(SSE_WAIT, "sse_wait", NONE)             \
    X(SSE_DISCONNECT, "sse_disconnect", NONE) \
    X(REQUESTS, "requests", NONE)             \
    X(RESET, "reset", NONE)                   \
    X(WAIT, "wait", NONE)                     \
    X(STATS, "stats", NONE)                   \
    X(REGIONS, "regions", NONE)               \
    X(FAULTS, "faults", NONE)                 \
    X(SESSIONS, "sessions", NONE)             \
    X(PAGE, "page", NONE)                     \
    X(FEED, "feed", NONE)                     \
    X(CA, "ca", NONE)                         \
    X(CAPTURES, "captures", NONE)             \
    X(CLOCK, "clock", NONE)                   \
    X(NODES, "nodes", NONE)                   \
    X(REACHABILITY, "reachability", NONE)     \
    X(ROTATE_TRIGGER, "rotate_trigger", NONE) \
    X(ROTATE_PREVIEW, "rotate_preview", NONE) \
    X(TOPOLOGY, "topology", NONE)             \
    X(HEALTH, "health", NONE)

/* Every route name: capture routes first, so a route id below
 * MK_CAP_COUNT is also its capture key's id. */
#define MK_ROUTE_NAMES(X) MK_CAPTURE_ROUTES(X) MK_PLAIN_ROUTES(X)

/* Request headers whose values are credentials: the journal keeps only a
 * fingerprint of each ("redacted sha256:" and the first 8 hex digits of the
 * SHA-256 of the whole value; core/journal.c), and mockassert turns a
 * check's operand on them into the same form (assert/subject.c), so the two
 * cannot disagree on which headers are secret. Entries are X("Name"),
 * matched case-insensitively. */
#define MK_SECRET_HEADERS(X)    \
    X("Authorization")          \
    X("Proxy-Authorization")    \
    X("Cookie")                 \
    X("Set-Cookie")             \
    X("X-Api-Key")              \
    X("X-Mockapi-Admin-Token")

#endif
