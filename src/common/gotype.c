/* gotype.c: the reference's internal/api Go types as schema tables, with one
 * generic decoder and one generic encoder that follow encoding/json.
 *
 * A decoded value is a tree of gt_slot unions shaped by its gt_type; there is
 * no per-type code. Beyond the rules listed in gotype.h, the decoder copies
 * three quirks of Go's decodeState so that odd bodies store what Go stores:
 *   - a duplicate key decodes *into* the value already there: structs and
 *     pointed-to structs merge, maps gain keys, and a slice decodes element i
 *     into the old element i, including elements a shorter duplicate hid
 *     behind its length (Go keeps them in the backing array; we keep them
 *     "materialised" past len). An empty array drops all of them, as Go
 *     replaces the slice with a fresh empty one;
 *   - null sets a pointer, slice, map or RawMessage to nil but leaves any
 *     other kind (a string, a bool, a time) as it was;
 *   - a time.Time is parsed from the raw text between the quotes, without
 *     unescaping, as Time.UnmarshalJSON does.
 * Decoding recurses once per schema level only (at most 6 deep); JSON nested
 * deeper inside unknown fields or RawMessages is walked by the iterative
 * scanner in gojson.c, so hostile nesting cannot exhaust the stack.
 * Everything is reentrant: the schemas are const and each call owns its
 * scratch state. */
#include "gotype.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- schema ------------------------------------------------------------- */

typedef enum gt_kind {
    K_STRING, K_BOOL, K_INT, K_TIME, K_RAW, K_STRUCT, K_PTR, K_SLICE, K_MAP
} gt_kind;

typedef struct gt_field {
    const char *name; /* JSON name, ASCII */
    const gt_type *type;
    bool omitempty;
} gt_field;

struct gt_type {
    const char *name;      /* Go spelling, for gt_type_name and messages */
    gt_kind kind;
    const gt_type *elem;   /* K_PTR, K_SLICE: element; K_MAP: value (string) */
    const gt_field *fields; /* K_STRUCT, in declaration (= output) order */
    size_t nfields;
};

/* ---- values ------------------------------------------------------------- */

typedef struct gt_slot gt_slot;

typedef struct gt_vec {
    size_t len;  /* Go's len */
    size_t nmat; /* elements that exist, len <= nmat; the rest of Go's cap is zero */
    size_t alloc;
    gt_slot *items;
} gt_vec;

typedef struct gt_pair {
    char *k, *v;
    size_t kn, vn;
    size_t ord; /* arrival order, only meaningful while sorting */
} gt_pair;

typedef struct gt_map {
    size_t len, alloc;
    gt_pair *kv; /* sorted bytewise by key, unique, after each decode */
} gt_map;

/* All-zero bytes are every kind's Go zero value (time: see tm.set). */
struct gt_slot {
    union {
        struct {
            char *p; /* K_STRING: NULL means ""; K_RAW: NULL means nil */
            size_t n;
        } s;
        bool b;
        int64_t i;
        struct {
            gj_time t;
            bool set; /* false: Go's zero time, 0001-01-01T00:00:00Z */
        } tm;
        gt_slot *sub; /* K_STRUCT: nfields slots, NULL = all zero; K_PTR: one slot, NULL = nil */
        gt_vec *vec;  /* NULL = nil slice */
        gt_map *map;  /* NULL = nil map */
    } u;
};

struct gt_value {
    const gt_type *type;
    gt_slot root;
};

static const gt_slot zero_slot;

/* time.Time{} as Unix seconds. */
#define GO_ZERO_TIME_SEC (-62135596800LL)

/* ---- type tables (docs/contract.md §11, 3b5af214) ------------------ */

#define N_(a) (sizeof(a) / sizeof((a)[0]))
#define STRUCT_T(nm, f) {nm, K_STRUCT, NULL, f, N_(f)}
#define SLICE_T(nm, e) {nm, K_SLICE, &e, NULL, 0}
#define PTR_T(nm, e) {nm, K_PTR, &e, NULL, 0}
#define F(n, t) {n, &t, false}
#define O(n, t) {n, &t, true} /* omitempty */

static const gt_type t_string = {"string", K_STRING, NULL, NULL, 0};
static const gt_type t_bool = {"bool", K_BOOL, NULL, NULL, 0};
static const gt_type t_int = {"int", K_INT, NULL, NULL, 0};
static const gt_type t_time = {"time.Time", K_TIME, NULL, NULL, 0};
static const gt_type t_raw = {"json.RawMessage", K_RAW, NULL, NULL, 0};
static const gt_type t_strings = SLICE_T("[]string", t_string);
static const gt_type t_ptime = PTR_T("*time.Time", t_time);
const gt_type gt_StringMap = {"map[string]string", K_MAP, &t_string, NULL, 0};

/* Requests. */
static const gt_field f_BinaryInfo[] = {F("version", t_string), F("checksum", t_string)};
static const gt_type t_BinaryInfo = STRUCT_T("BinaryInfo", f_BinaryInfo);
static const gt_type t_pBinaryInfo = PTR_T("*BinaryInfo", t_BinaryInfo);
static const gt_field f_ActionParam[] = {F("name", t_string), F("type", t_string),
                                         F("required", t_bool), F("description", t_string)};
static const gt_type t_ActionParam = STRUCT_T("ActionParam", f_ActionParam);
static const gt_type t_ActionParams = SLICE_T("[]ActionParam", t_ActionParam);
static const gt_field f_ActionInfo[] = {F("name", t_string), F("description", t_string),
                                        F("parameters", t_ActionParams)};
static const gt_type t_ActionInfo = STRUCT_T("ActionInfo", f_ActionInfo);
static const gt_type t_ActionInfos = SLICE_T("[]ActionInfo", t_ActionInfo);
static const gt_field f_HookInfo[] = {F("name", t_string), F("description", t_string),
                                      F("source", t_string), F("checksum", t_string),
                                      F("parameters", t_ActionParams), F("timeout", t_string),
                                      F("sandbox", t_string)};
static const gt_type t_HookInfo = STRUCT_T("HookInfo", f_HookInfo);
static const gt_type t_HookInfos = SLICE_T("[]HookInfo", t_HookInfo);
static const gt_field f_CapabilitiesPayload[] = {O("binary", t_pBinaryInfo),
                                                 F("builtin_actions", t_ActionInfos),
                                                 F("hooks", t_HookInfos)};
const gt_type gt_CapabilitiesPayload = STRUCT_T("CapabilitiesPayload", f_CapabilitiesPayload);
static const gt_type t_pCapabilitiesPayload = PTR_T("*CapabilitiesPayload", gt_CapabilitiesPayload);
static const gt_field f_RegisterRequest[] = {F("token", t_string), F("public_key", t_string),
                                             F("hostname", t_string), O("metadata", gt_StringMap),
                                             O("capabilities", t_pCapabilitiesPayload)};
const gt_type gt_RegisterRequest = STRUCT_T("RegisterRequest", f_RegisterRequest);

static const gt_field f_MeshInfo[] = {F("interface", t_string), F("peer_count", t_int),
                                      F("listen_port", t_int)};
static const gt_type t_MeshInfo = STRUCT_T("MeshInfo", f_MeshInfo);
static const gt_type t_pMeshInfo = PTR_T("*MeshInfo", t_MeshInfo);
static const gt_field f_NATInfo[] = {F("public_endpoint", t_string), F("type", t_string)};
static const gt_type t_NATInfo = STRUCT_T("NATInfo", f_NATInfo);
static const gt_type t_pNATInfo = PTR_T("*NATInfo", t_NATInfo);
static const gt_field f_BridgeInfo[] = {
    F("enabled", t_bool), F("access_interface", t_string), F("active_routes", t_int),
    F("relay_enabled", t_bool), F("active_relay_sessions", t_int), F("ingress_enabled", t_bool),
    F("active_ingress_rules", t_int), F("site_to_site_enabled", t_bool),
    F("active_site_to_site_tunnels", t_int)};
static const gt_type t_BridgeInfo = STRUCT_T("BridgeInfo", f_BridgeInfo);
static const gt_type t_pBridgeInfo = PTR_T("*BridgeInfo", t_BridgeInfo);
static const gt_field f_UserAccessInfo[] = {F("enabled", t_bool), F("interface_name", t_string),
                                            F("peer_count", t_int), F("listen_port", t_int)};
static const gt_type t_UserAccessInfo = STRUCT_T("UserAccessInfo", f_UserAccessInfo);
static const gt_type t_pUserAccessInfo = PTR_T("*UserAccessInfo", t_UserAccessInfo);
static const gt_field f_IngressInfo[] = {F("enabled", t_bool), F("rule_count", t_int),
                                         F("connection_count", t_int)};
static const gt_type t_IngressInfo = STRUCT_T("IngressInfo", f_IngressInfo);
static const gt_type t_pIngressInfo = PTR_T("*IngressInfo", t_IngressInfo);
static const gt_field f_SiteToSiteInfo[] = {F("enabled", t_bool), F("tunnel_count", t_int)};
static const gt_type t_SiteToSiteInfo = STRUCT_T("SiteToSiteInfo", f_SiteToSiteInfo);
static const gt_type t_pSiteToSiteInfo = PTR_T("*SiteToSiteInfo", t_SiteToSiteInfo);
static const gt_field f_HeartbeatRequest[] = {
    F("node_id", t_string), F("timestamp", t_time), F("status", t_string), F("uptime", t_string),
    F("binary_checksum", t_string), O("mesh", t_pMeshInfo), O("nat", t_pNATInfo),
    O("bridge", t_pBridgeInfo), O("user_access", t_pUserAccessInfo),
    O("ingress", t_pIngressInfo), O("site_to_site", t_pSiteToSiteInfo)};
const gt_type gt_HeartbeatRequest = STRUCT_T("HeartbeatRequest", f_HeartbeatRequest);

static const gt_field f_KeyRotateRequest[] = {F("node_id", t_string), F("new_public_key", t_string)};
const gt_type gt_KeyRotateRequest = STRUCT_T("KeyRotateRequest", f_KeyRotateRequest);
static const gt_field f_EndpointReport[] = {F("public_endpoint", t_string), F("nat_type", t_string)};
const gt_type gt_EndpointReport = STRUCT_T("EndpointReport", f_EndpointReport);
static const gt_field f_DriftCorrection[] = {F("type", t_string), F("detail", t_string)};
static const gt_type t_DriftCorrection = STRUCT_T("DriftCorrection", f_DriftCorrection);
static const gt_type t_DriftCorrections = SLICE_T("[]DriftCorrection", t_DriftCorrection);
static const gt_field f_DriftReport[] = {F("timestamp", t_time), F("corrections", t_DriftCorrections)};
const gt_type gt_DriftReport = STRUCT_T("DriftReport", f_DriftReport);
static const gt_field f_ReportEntry[] = {F("key", t_string), F("content_type", t_string),
                                         F("payload", t_raw), F("version", t_int),
                                         F("updated_at", t_time)};
static const gt_type t_ReportEntry = STRUCT_T("ReportEntry", f_ReportEntry);
static const gt_type t_ReportEntries = SLICE_T("[]ReportEntry", t_ReportEntry);
static const gt_field f_ReportSyncRequest[] = {F("entries", t_ReportEntries), F("deleted", t_strings)};
const gt_type gt_ReportSyncRequest = STRUCT_T("ReportSyncRequest", f_ReportSyncRequest);
static const gt_field f_ExecutionAck[] = {F("execution_id", t_string), F("status", t_string),
                                          F("reason", t_string)};
const gt_type gt_ExecutionAck = STRUCT_T("ExecutionAck", f_ExecutionAck);
static const gt_field f_TriggeredBy[] = {F("type", t_string), F("session_id", t_string),
                                         F("user_id", t_string), F("email", t_string)};
static const gt_type t_TriggeredBy = STRUCT_T("TriggeredBy", f_TriggeredBy);
static const gt_type t_pTriggeredBy = PTR_T("*TriggeredBy", t_TriggeredBy);
static const gt_field f_ExecutionResult[] = {
    F("execution_id", t_string), F("status", t_string), F("exit_code", t_int),
    F("stdout", t_string), F("stderr", t_string), F("duration", t_string),
    F("finished_at", t_time), O("triggered_by", t_pTriggeredBy)};
const gt_type gt_ExecutionResult = STRUCT_T("ExecutionResult", f_ExecutionResult);
static const gt_field f_MetricPoint[] = {F("timestamp", t_time), F("group", t_string),
                                         O("peer_id", t_string), F("data", t_raw)};
static const gt_type t_MetricPoint = STRUCT_T("MetricPoint", f_MetricPoint);
const gt_type gt_MetricBatch = SLICE_T("[]MetricPoint", t_MetricPoint);
static const gt_field f_LogEntry[] = {F("timestamp", t_time), F("source", t_string),
                                      F("unit", t_string), F("message", t_string),
                                      F("severity", t_string), F("hostname", t_string)};
static const gt_type t_LogEntry = STRUCT_T("LogEntry", f_LogEntry);
const gt_type gt_LogBatch = SLICE_T("[]LogEntry", t_LogEntry);
static const gt_field f_AuditEntry[] = {
    F("timestamp", t_time), F("source", t_string), F("event_type", t_string),
    F("subject", t_raw), F("object", t_raw), F("action", t_string), F("result", t_string),
    F("hostname", t_string), F("raw", t_string)};
static const gt_type t_AuditEntry = STRUCT_T("AuditEntry", f_AuditEntry);
const gt_type gt_AuditBatch = SLICE_T("[]AuditEntry", t_AuditEntry);
static const gt_field f_TunnelReadyRequest[] = {F("listen_addr", t_string), F("timestamp", t_time)};
const gt_type gt_TunnelReadyRequest = STRUCT_T("TunnelReadyRequest", f_TunnelReadyRequest);
static const gt_field f_TunnelClosedRequest[] = {F("reason", t_string), F("duration", t_string),
                                                 F("timestamp", t_time)};
const gt_type gt_TunnelClosedRequest = STRUCT_T("TunnelClosedRequest", f_TunnelClosedRequest);
static const gt_field f_IntegrityViolationReport[] = {
    F("type", t_string), F("path", t_string), F("expected_checksum", t_string),
    F("actual_checksum", t_string), F("detail", t_string), F("timestamp", t_time)};
const gt_type gt_IntegrityViolationReport =
    STRUCT_T("IntegrityViolationReport", f_IntegrityViolationReport);

/* Responses and fixtures. */
static const gt_field f_Peer[] = {F("id", t_string), F("public_key", t_string),
                                  F("mesh_ip", t_string), F("endpoint", t_string),
                                  F("allowed_ips", t_strings), F("psk", t_string)};
static const gt_type t_Peer = STRUCT_T("Peer", f_Peer);
static const gt_type t_Peers = SLICE_T("[]Peer", t_Peer);
static const gt_field f_RegisterResponse[] = {F("node_id", t_string), F("mesh_ip", t_string),
                                              F("signing_public_key", t_string),
                                              F("node_secret_key", t_string), F("peers", t_Peers)};
const gt_type gt_RegisterResponse = STRUCT_T("RegisterResponse", f_RegisterResponse);
static const gt_field f_HeartbeatResponse[] = {F("reconcile", t_bool), F("rotate_keys", t_bool)};
const gt_type gt_HeartbeatResponse = STRUCT_T("HeartbeatResponse", f_HeartbeatResponse);

static const gt_field f_PolicyRule[] = {F("src", t_string), F("dst", t_string), F("port", t_int),
                                        F("protocol", t_string), F("action", t_string)};
static const gt_type t_PolicyRule = STRUCT_T("PolicyRule", f_PolicyRule);
static const gt_type t_PolicyRules = SLICE_T("[]PolicyRule", t_PolicyRule);
static const gt_field f_Policy[] = {F("id", t_string), F("rules", t_PolicyRules)};
static const gt_type t_Policy = STRUCT_T("Policy", f_Policy);
static const gt_type t_Policies = SLICE_T("[]Policy", t_Policy);
static const gt_field f_SigningKeys[] = {F("current", t_string), O("previous", t_string),
                                         O("transition_expires", t_ptime)};
static const gt_type t_SigningKeys = STRUCT_T("SigningKeys", f_SigningKeys);
static const gt_type t_pSigningKeys = PTR_T("*SigningKeys", t_SigningKeys);
static const gt_field f_BridgeConfig[] = {F("access_subnets", t_strings), F("enable_nat", t_bool),
                                          F("enable_forwarding", t_bool)};
static const gt_type t_BridgeConfig = STRUCT_T("BridgeConfig", f_BridgeConfig);
static const gt_type t_pBridgeConfig = PTR_T("*BridgeConfig", t_BridgeConfig);
static const gt_field f_RelaySession[] = {
    F("session_id", t_string), F("peer_a_id", t_string), F("peer_a_endpoint", t_string),
    F("peer_b_id", t_string), F("peer_b_endpoint", t_string), F("expires_at", t_time)};
static const gt_type t_RelaySession = STRUCT_T("RelaySessionAssignment", f_RelaySession);
static const gt_type t_RelaySessions = SLICE_T("[]RelaySessionAssignment", t_RelaySession);
static const gt_field f_RelayConfig[] = {F("sessions", t_RelaySessions)};
static const gt_type t_RelayConfig = STRUCT_T("RelayConfig", f_RelayConfig);
static const gt_type t_pRelayConfig = PTR_T("*RelayConfig", t_RelayConfig);
static const gt_field f_UserAccessPeer[] = {F("public_key", t_string), F("allowed_ips", t_strings),
                                            O("psk", t_string), F("label", t_string)};
static const gt_type t_UserAccessPeer = STRUCT_T("UserAccessPeer", f_UserAccessPeer);
static const gt_type t_UserAccessPeers = SLICE_T("[]UserAccessPeer", t_UserAccessPeer);
static const gt_field f_UserAccessConfig[] = {F("enabled", t_bool), F("interface_name", t_string),
                                              F("listen_port", t_int), F("peers", t_UserAccessPeers)};
static const gt_type t_UserAccessConfig = STRUCT_T("UserAccessConfig", f_UserAccessConfig);
static const gt_type t_pUserAccessConfig = PTR_T("*UserAccessConfig", t_UserAccessConfig);
/* hostname (and provider_type below) come from the later upstream types;
 * both are omitempty, so they only show when a test configures them. */
static const gt_field f_IngressRule[] = {F("rule_id", t_string), F("listen_port", t_int),
                                         F("target_addr", t_string), F("mode", t_string),
                                         O("cert_pem", t_string), O("key_pem", t_string),
                                         O("hostname", t_string)};
static const gt_type t_IngressRule = STRUCT_T("IngressRule", f_IngressRule);
static const gt_type t_IngressRules = SLICE_T("[]IngressRule", t_IngressRule);
static const gt_field f_IngressConfig[] = {F("enabled", t_bool), F("rules", t_IngressRules)};
static const gt_type t_IngressConfig = STRUCT_T("IngressConfig", f_IngressConfig);
static const gt_type t_pIngressConfig = PTR_T("*IngressConfig", t_IngressConfig);
static const gt_field f_SiteToSiteTunnel[] = {
    F("tunnel_id", t_string), F("remote_endpoint", t_string), F("remote_public_key", t_string),
    F("local_subnets", t_strings), F("remote_subnets", t_strings), O("psk", t_string),
    F("interface_name", t_string), F("listen_port", t_int), O("provider_type", t_string)};
static const gt_type t_SiteToSiteTunnel = STRUCT_T("SiteToSiteTunnel", f_SiteToSiteTunnel);
static const gt_type t_SiteToSiteTunnels = SLICE_T("[]SiteToSiteTunnel", t_SiteToSiteTunnel);
static const gt_field f_SiteToSiteConfig[] = {F("enabled", t_bool), F("tunnels", t_SiteToSiteTunnels)};
static const gt_type t_SiteToSiteConfig = STRUCT_T("SiteToSiteConfig", f_SiteToSiteConfig);
static const gt_type t_pSiteToSiteConfig = PTR_T("*SiteToSiteConfig", t_SiteToSiteConfig);
static const gt_field f_DataEntry[] = {F("key", t_string), F("content_type", t_string),
                                       F("payload", t_raw), F("version", t_int),
                                       F("updated_at", t_time)};
static const gt_type t_DataEntry = STRUCT_T("DataEntry", f_DataEntry);
static const gt_type t_DataEntries = SLICE_T("[]DataEntry", t_DataEntry);
static const gt_field f_SecretRef[] = {F("key", t_string), F("version", t_int)};
static const gt_type t_SecretRef = STRUCT_T("SecretRef", f_SecretRef);
static const gt_type t_SecretRefs = SLICE_T("[]SecretRef", t_SecretRef);
static const gt_field f_StateResponse[] = {
    F("peers", t_Peers), F("policies", t_Policies), O("signing_keys", t_pSigningKeys),
    O("metadata", gt_StringMap), O("bridge_config", t_pBridgeConfig),
    O("relay_config", t_pRelayConfig), O("user_access_config", t_pUserAccessConfig),
    O("ingress_config", t_pIngressConfig), O("site_to_site_config", t_pSiteToSiteConfig),
    F("data", t_DataEntries), F("secret_refs", t_SecretRefs)};
const gt_type gt_StateResponse = STRUCT_T("StateResponse", f_StateResponse);

static const gt_field f_PeerEndpoint[] = {F("peer_id", t_string), F("endpoint", t_string)};
static const gt_type t_PeerEndpoint = STRUCT_T("PeerEndpoint", f_PeerEndpoint);
static const gt_type t_PeerEndpoints = SLICE_T("[]PeerEndpoint", t_PeerEndpoint);
static const gt_field f_EndpointResponse[] = {F("peer_endpoints", t_PeerEndpoints)};
const gt_type gt_EndpointResponse = STRUCT_T("EndpointResponse", f_EndpointResponse);
static const gt_field f_KeyRotateResponse[] = {F("updated_peers", t_Peers)};
const gt_type gt_KeyRotateResponse = STRUCT_T("KeyRotateResponse", f_KeyRotateResponse);
static const gt_field f_SignedEnvelope[] = {F("event_type", t_string), F("event_id", t_string),
                                            F("issued_at", t_time), F("nonce", t_string),
                                            F("payload", t_raw), F("signature", t_string)};
const gt_type gt_SignedEnvelope = STRUCT_T("SignedEnvelope", f_SignedEnvelope);

const char *gt_type_name(const gt_type *t)
{
    return t->name;
}

/* ---- freeing ------------------------------------------------------------ */

static void slot_free(const gt_type *t, gt_slot *s)
{
    switch (t->kind) {
    case K_STRING:
    case K_RAW:
        free(s->u.s.p);
        break;
    case K_STRUCT:
        if (s->u.sub) {
            for (size_t i = 0; i < t->nfields; i++)
                slot_free(t->fields[i].type, &s->u.sub[i]);
            free(s->u.sub);
        }
        break;
    case K_PTR:
        if (s->u.sub) {
            slot_free(t->elem, s->u.sub);
            free(s->u.sub);
        }
        break;
    case K_SLICE:
        if (s->u.vec) {
            for (size_t i = 0; i < s->u.vec->nmat; i++)
                slot_free(t->elem, &s->u.vec->items[i]);
            free(s->u.vec->items);
            free(s->u.vec);
        }
        break;
    case K_MAP:
        if (s->u.map) {
            for (size_t i = 0; i < s->u.map->len; i++) {
                free(s->u.map->kv[i].k);
                free(s->u.map->kv[i].v);
            }
            free(s->u.map->kv);
            free(s->u.map);
        }
        break;
    default:
        break;
    }
    memset(s, 0, sizeof *s);
}

void gt_value_free(gt_value *v)
{
    if (!v)
        return;
    slot_free(v->type, &v->root);
    free(v);
}

/* ---- decoding ----------------------------------------------------------- */

/* One step of the path to the value being decoded: ".name", "[key]" or
 * "[index]" (name NULL). Kept as references and rendered only for a
 * message: most bodies decode without one. */
typedef struct seg {
    const char *pre, *name, *post;
    size_t index;
} seg;

enum { MAX_SEGS = 64 };

typedef struct dctx {
    const char *p;
    mk_buf key;     /* scratch for object keys */
    seg segs[MAX_SEGS];
    size_t nsegs;   /* may exceed MAX_SEGS; deeper steps are not shown */
    char path[160]; /* "StateResponse.policies[0].rules[1].port", rendered */
    char *err;
    size_t errlen;
} dctx;

static int fail(dctx *c, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(dctx *c, size_t off, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        int n = snprintf(c->err, c->errlen, "offset %zu: ", off);
        if (n >= 0 && (size_t)n < c->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

/* Adds a step (name NULL: the index) and returns the depth for path_pop.
 * The strings must live until the step is popped. */
static size_t path_push(dctx *c, const char *pre, const char *name, const char *post, size_t index)
{
    size_t old = c->nsegs;
    if (c->nsegs < MAX_SEGS)
        c->segs[c->nsegs] = (seg){pre, name, post, index};
    c->nsegs++;
    return old;
}

static void path_pop(dctx *c, size_t old)
{
    c->nsegs = old;
}

/* The path as text in c->path (truncated to fit), for a message. */
static const char *path_text(dctx *c)
{
    size_t len = 0, cap = sizeof c->path;
    for (size_t i = 0; i < c->nsegs && i < MAX_SEGS; i++) {
        const seg *g = &c->segs[i];
        char num[24];
        const char *name = g->name;
        if (!name) {
            size_t k = sizeof num - 1;
            num[k] = '\0';
            size_t x = g->index;
            do
                num[--k] = (char)('0' + x % 10);
            while (x /= 10);
            name = num + k;
        }
        const char *parts[3] = {g->pre, name, g->post};
        for (int p = 0; p < 3; p++)
            for (const char *q = parts[p]; *q && len + 1 < cap; q++)
                c->path[len++] = *q;
    }
    c->path[len] = '\0';
    return c->path;
}

static const char *kind_desc(gj_kind k)
{
    switch (k) {
    case GJ_NULL: return "null";
    case GJ_FALSE:
    case GJ_TRUE: return "a bool";
    case GJ_NUMBER: return "a number";
    case GJ_STRING: return "a string";
    case GJ_ARRAY: return "an array";
    default: return "an object";
    }
}

static int mismatch(dctx *c, const gt_type *t, gj_kind k, size_t a, size_t b)
{
    if (k == GJ_NUMBER) /* numbers are short ASCII; showing 443.0 helps */
        return fail(c, a, "cannot put number %.*s into %s (%s)", (int)(b - a > 40 ? 40 : b - a),
                    c->p + a, path_text(c), t->name);
    return fail(c, a, "cannot put %s into %s (%s)", kind_desc(k), path_text(c), t->name);
}

static int oom(dctx *c, size_t off)
{
    return fail(c, off, "out of memory");
}

/* strconv.ParseInt(s, 10, 64): digits with an optional '-', nothing else. */
static bool parse_int64(const char *p, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = n > 0 && p[0] == '-';
    if (neg)
        i = 1;
    if (i >= n)
        return false;
    uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (lim - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (neg)
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    else
        *out = (int64_t)v;
    return true;
}

/* Decodes string literal [a, b) into a fresh heap string. */
static int take_string(dctx *c, size_t a, size_t b, char **p, size_t *n)
{
    mk_buf tmp;
    mk_buf_init(&tmp, 0);
    if (gj_string_decode(c->p + a, b - a, &tmp) != 0) {
        bool mem = tmp.err != 0;
        mk_buf_free(&tmp);
        return mem ? oom(c, a) : fail(c, a, "malformed string");
    }
    *p = mk_buf_steal(&tmp, n);
    return 0;
}

/* Go's foldName equality for an ASCII field name: ASCII letters match in
 * either case, and the only non-ASCII runes whose case-fold set holds an
 * ASCII letter, U+017F (long s) and U+212A (Kelvin sign), match 's' / 'k'. */
static bool fold_equal(const char *key, size_t kn, const char *name)
{
    size_t i = 0;
    for (; *name; name++) {
        if (i >= kn)
            return false;
        unsigned char c = (unsigned char)key[i];
        char want = *name >= 'a' && *name <= 'z' ? (char)(*name - 32) : *name;
        if (c < 0x80) {
            char got = c >= 'a' && c <= 'z' ? (char)(c - 32) : (char)c;
            if (got != want)
                return false;
            i++;
        } else if (want == 'S' && kn - i >= 2 && c == 0xC5 && (unsigned char)key[i + 1] == 0xBF) {
            i += 2;
        } else if (want == 'K' && kn - i >= 3 && c == 0xE2 && (unsigned char)key[i + 1] == 0x84 &&
                   (unsigned char)key[i + 2] == 0xAA) {
            i += 3;
        } else {
            return false;
        }
    }
    return i == kn;
}

static int find_field(const gt_type *t, const char *key, size_t kn)
{
    for (size_t i = 0; i < t->nfields; i++)
        if (strlen(t->fields[i].name) == kn && memcmp(t->fields[i].name, key, kn) == 0)
            return (int)i;
    for (size_t i = 0; i < t->nfields; i++)
        if (fold_equal(key, kn, t->fields[i].name))
            return (int)i;
    return -1;
}

static int dec(dctx *c, const gt_type *t, gt_slot *s, gj_kind k, size_t a, size_t b);

static int dec_struct(dctx *c, const gt_type *t, gt_slot *s, size_t a, size_t b)
{
    if (!s->u.sub && !(s->u.sub = calloc(t->nfields, sizeof(gt_slot))))
        return oom(c, a);
    gj_iter it;
    gj_iter_init(&it, c->p, a, b);
    size_t ks = 0, ke = 0, vs = 0, ve = 0;
    gj_kind vk = GJ_NULL;
    int r;
    while ((r = gj_iter_next(&it, &ks, &ke, &vk, &vs, &ve)) == 1) {
        mk_buf_reset(&c->key);
        if (gj_string_decode(c->p + ks, ke - ks, &c->key) != 0)
            return c->key.err ? oom(c, ks) : fail(c, ks, "malformed key");
        int fi = find_field(t, c->key.data ? c->key.data : "", c->key.len);
        if (fi < 0)
            continue; /* unknown fields are ignored */
        size_t old = path_push(c, ".", t->fields[fi].name, "", 0);
        if (dec(c, t->fields[fi].type, &s->u.sub[fi], vk, vs, ve) != 0)
            return -1;
        path_pop(c, old);
    }
    return r < 0 ? fail(c, it.pos, "malformed object") : 0;
}

static int dec_slice(dctx *c, const gt_type *t, gt_slot *s, size_t a, size_t b)
{
    gt_vec *v = s->u.vec;
    if (!v && !(v = s->u.vec = calloc(1, sizeof *v)))
        return oom(c, a);
    gj_iter it;
    gj_iter_init(&it, c->p, a, b);
    size_t i = 0, vs = 0, ve = 0;
    gj_kind vk = GJ_NULL;
    int r;
    while ((r = gj_iter_next(&it, NULL, NULL, &vk, &vs, &ve)) == 1) {
        if (i >= v->nmat) {
            if (v->nmat == v->alloc) {
                size_t na = v->alloc ? v->alloc * 2 : 4;
                gt_slot *ni = realloc(v->items, na * sizeof *ni);
                if (!ni)
                    return oom(c, vs);
                v->items = ni;
                v->alloc = na;
            }
            memset(&v->items[v->nmat++], 0, sizeof(gt_slot));
        }
        size_t old = path_push(c, "[", NULL, "]", i);
        if (dec(c, t->elem, &v->items[i], vk, vs, ve) != 0)
            return -1;
        path_pop(c, old);
        i++;
    }
    if (r < 0)
        return fail(c, it.pos, "malformed array");
    if (i == 0) { /* Go swaps in a brand-new empty slice */
        for (size_t j = 0; j < v->nmat; j++)
            slot_free(t->elem, &v->items[j]);
        free(v->items);
        v->items = NULL;
        v->nmat = v->alloc = 0;
    }
    v->len = i;
    return 0;
}

static int pair_cmp(const void *x, const void *y)
{
    const gt_pair *a = x, *b = y;
    int r = memcmp(a->k ? a->k : "", b->k ? b->k : "", a->kn < b->kn ? a->kn : b->kn);
    if (r == 0)
        r = a->kn < b->kn ? -1 : a->kn > b->kn;
    if (r == 0)
        r = a->ord < b->ord ? -1 : a->ord > b->ord;
    return r;
}

static int dec_map(dctx *c, const gt_type *t, gt_slot *s, size_t a, size_t b)
{
    gt_map *m = s->u.map;
    if (!m && !(m = s->u.map = calloc(1, sizeof *m)))
        return oom(c, a);
    gj_iter it;
    gj_iter_init(&it, c->p, a, b);
    size_t ks = 0, ke = 0, vs = 0, ve = 0;
    gj_kind vk = GJ_NULL;
    int r;
    while ((r = gj_iter_next(&it, &ks, &ke, &vk, &vs, &ve)) == 1) {
        if (m->len == m->alloc) {
            size_t na = m->alloc ? m->alloc * 2 : 8;
            gt_pair *nkv = realloc(m->kv, na * sizeof *nkv);
            if (!nkv)
                return oom(c, ks);
            m->kv = nkv;
            m->alloc = na;
        }
        gt_pair *pr = &m->kv[m->len];
        memset(pr, 0, sizeof *pr);
        if (take_string(c, ks, ke, &pr->k, &pr->kn) != 0)
            return -1;
        m->len++; /* owned by the map from here, so freed on any failure */
        if (vk == GJ_STRING) {
            if (take_string(c, vs, ve, &pr->v, &pr->vn) != 0)
                return -1;
        } else if (vk != GJ_NULL) { /* null stores "" for the key */
            char shown[33]; /* the key, kept to one printable line */
            size_t sn = pr->kn < 32 ? pr->kn : 32;
            for (size_t i = 0; i < sn; i++)
                shown[i] = (unsigned char)pr->k[i] < 0x20 || pr->k[i] == 0x7f ? '?' : pr->k[i];
            shown[sn] = '\0';
            size_t old = path_push(c, "[", shown, "]", 0);
            mismatch(c, t->elem, vk, vs, ve);
            path_pop(c, old);
            return -1;
        }
    }
    if (r < 0)
        return fail(c, it.pos, "malformed object");
    /* Sort by key then arrival and keep each key's last value: duplicate
     * keys and keys merged from an earlier duplicate field end as Go's. */
    if (m->len == 0)
        return 0;
    for (size_t i = 0; i < m->len; i++)
        m->kv[i].ord = i;
    qsort(m->kv, m->len, sizeof *m->kv, pair_cmp);
    size_t w = 0;
    for (size_t i = 0; i < m->len; i++) {
        bool last = i + 1 == m->len || m->kv[i].kn != m->kv[i + 1].kn ||
                    (m->kv[i].kn && memcmp(m->kv[i].k, m->kv[i + 1].k, m->kv[i].kn) != 0);
        if (last) {
            m->kv[w++] = m->kv[i];
        } else {
            free(m->kv[i].k);
            free(m->kv[i].v);
        }
    }
    m->len = w;
    return 0;
}

/* Decodes the validated value [a, b) of JSON kind k into slot s of type t. */
static int dec(dctx *c, const gt_type *t, gt_slot *s, gj_kind k, size_t a, size_t b)
{
    if (k == GJ_NULL) {
        if (t->kind == K_PTR || t->kind == K_SLICE || t->kind == K_MAP || t->kind == K_RAW)
            slot_free(t, s);
        return 0;
    }
    switch (t->kind) {
    case K_STRING: {
        if (k != GJ_STRING)
            return mismatch(c, t, k, a, b);
        char *p = NULL;
        size_t n = 0;
        if (take_string(c, a, b, &p, &n) != 0)
            return -1;
        free(s->u.s.p);
        s->u.s.p = p;
        s->u.s.n = n;
        return 0;
    }
    case K_BOOL:
        if (k != GJ_TRUE && k != GJ_FALSE)
            return mismatch(c, t, k, a, b);
        s->u.b = k == GJ_TRUE;
        return 0;
    case K_INT:
        if (k != GJ_NUMBER || !parse_int64(c->p + a, b - a, &s->u.i))
            return mismatch(c, t, k, a, b);
        return 0;
    case K_TIME: {
        if (k != GJ_STRING)
            return mismatch(c, t, k, a, b);
        gj_time tm;
        if (gj_time_parse(c->p + a + 1, b - a - 2, &tm) != 0)
            return fail(c, a, "cannot parse the string as RFC 3339 for %s (%s)", path_text(c), t->name);
        s->u.tm.t = tm;
        s->u.tm.set = true;
        return 0;
    }
    case K_RAW: {
        char *p = malloc(b - a);
        if (!p)
            return oom(c, a);
        memcpy(p, c->p + a, b - a);
        free(s->u.s.p);
        s->u.s.p = p;
        s->u.s.n = b - a;
        return 0;
    }
    case K_STRUCT:
        if (k != GJ_OBJECT)
            return mismatch(c, t, k, a, b);
        return dec_struct(c, t, s, a, b);
    case K_PTR:
        if (!s->u.sub && !(s->u.sub = calloc(1, sizeof(gt_slot))))
            return oom(c, a);
        return dec(c, t->elem, s->u.sub, k, a, b);
    case K_SLICE:
        if (k != GJ_ARRAY)
            return mismatch(c, t, k, a, b);
        return dec_slice(c, t, s, a, b);
    case K_MAP:
        if (k != GJ_OBJECT)
            return mismatch(c, t, k, a, b);
        return dec_map(c, t, s, a, b);
    }
    return mismatch(c, t, k, a, b);
}

int gt_decode(const gt_type *t, const char *body, size_t len, gt_value **out,
              char *err, size_t errlen)
{
    dctx c;
    memset(&c, 0, sizeof c);
    c.p = body;
    c.err = err;
    c.errlen = errlen;
    mk_buf_init(&c.key, 0);
    if (err && errlen)
        err[0] = '\0';
    path_push(&c, "", t->name, "", 0);

    size_t pos = 0, a = 0, b = 0;
    gj_kind k;
    if (gj_scan_value(body, len, &pos, &k, &a, &b) != 0) {
        if (pos >= len) {
            size_t i = 0;
            while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r'))
                i++;
            return fail(&c, pos, i == len ? "empty body, expected a JSON value"
                                          : "invalid JSON: unexpected end of input");
        }
        unsigned char ch = (unsigned char)body[pos];
        if (ch == '[' || ch == '{')
            return fail(&c, pos, "invalid JSON: unexpected '%c' (or nesting deeper than 10000)", ch);
        if (ch > 0x20 && ch < 0x7f)
            return fail(&c, pos, "invalid JSON: unexpected character '%c'", ch);
        return fail(&c, pos, "invalid JSON: unexpected byte 0x%02x", ch);
    }

    gt_value *v = calloc(1, sizeof *v);
    if (!v)
        return oom(&c, a);
    v->type = t;
    int r = dec(&c, t, &v->root, k, a, b);
    mk_buf_free(&c.key);
    if (r != 0 || !out) {
        gt_value_free(v);
        return r;
    }
    *out = v;
    return 0;
}

/* ---- encoding ----------------------------------------------------------- */

static bool is_empty(const gt_type *t, const gt_slot *s)
{
    switch (t->kind) {
    case K_STRING:
    case K_RAW: return s->u.s.n == 0;
    case K_BOOL: return !s->u.b;
    case K_INT: return s->u.i == 0;
    case K_PTR: return !s->u.sub;
    case K_SLICE: return !s->u.vec || s->u.vec->len == 0;
    case K_MAP: return !s->u.map || s->u.map->len == 0;
    default: return false; /* structs, time.Time: never empty to omitempty */
    }
}

static int enc(mk_buf *b, const gt_type *t, const gt_slot *s)
{
    switch (t->kind) {
    case K_STRING:
        gj_write_string(b, s->u.s.p ? s->u.s.p : "", s->u.s.n);
        return 0;
    case K_BOOL:
        mk_buf_puts(b, s->u.b ? "true" : "false");
        return 0;
    case K_INT:
        gj_write_int(b, s->u.i);
        return 0;
    case K_TIME: {
        gj_time zero = {GO_ZERO_TIME_SEC, 0, 0};
        return gj_time_write(b, s->u.tm.set ? &s->u.tm.t : &zero);
    }
    case K_RAW:
        if (!s->u.s.p) {
            mk_buf_puts(b, "null");
            return 0;
        }
        return gj_write_raw(b, s->u.s.p, s->u.s.n);
    case K_STRUCT: {
        bool first = true;
        mk_buf_putc(b, '{');
        for (size_t i = 0; i < t->nfields; i++) {
            const gt_field *f = &t->fields[i];
            const gt_slot *fs = s->u.sub ? &s->u.sub[i] : &zero_slot;
            if (f->omitempty && is_empty(f->type, fs))
                continue;
            if (!first)
                mk_buf_putc(b, ',');
            first = false;
            gj_write_string(b, f->name, strlen(f->name));
            mk_buf_putc(b, ':');
            if (enc(b, f->type, fs) != 0)
                return -1;
        }
        mk_buf_putc(b, '}');
        return 0;
    }
    case K_PTR:
        if (!s->u.sub) {
            mk_buf_puts(b, "null");
            return 0;
        }
        return enc(b, t->elem, s->u.sub);
    case K_SLICE:
        if (!s->u.vec) {
            mk_buf_puts(b, "null");
            return 0;
        }
        mk_buf_putc(b, '[');
        for (size_t i = 0; i < s->u.vec->len; i++) {
            if (i)
                mk_buf_putc(b, ',');
            if (enc(b, t->elem, &s->u.vec->items[i]) != 0)
                return -1;
        }
        mk_buf_putc(b, ']');
        return 0;
    case K_MAP:
        if (!s->u.map) {
            mk_buf_puts(b, "null");
            return 0;
        }
        mk_buf_putc(b, '{');
        for (size_t i = 0; i < s->u.map->len; i++) {
            const gt_pair *pr = &s->u.map->kv[i];
            if (i)
                mk_buf_putc(b, ',');
            gj_write_string(b, pr->k ? pr->k : "", pr->kn);
            mk_buf_putc(b, ':');
            gj_write_string(b, pr->v ? pr->v : "", pr->vn);
        }
        mk_buf_putc(b, '}');
        return 0;
    }
    return -1;
}

int gt_encode(const gt_type *t, const gt_value *v, mk_buf *out)
{
    if (v && v->type != t)
        return -1;
    size_t start = out->len;
    int r = enc(out, t, v ? &v->root : &zero_slot);
    if (r != 0 || out->err) {
        /* Like json.Marshal on error: nothing of this value is kept. */
        if (out->len > start) {
            out->len = start;
            out->data[start] = '\0';
        }
        return -1;
    }
    return 0;
}

/* ---- field access ------------------------------------------------------- */

static const gt_field *lookup(const gt_value *v, const char *field, gt_kind kind, size_t *idx)
{
    if (!v || v->type->kind != K_STRUCT)
        return NULL;
    for (size_t i = 0; i < v->type->nfields; i++) {
        const gt_field *f = &v->type->fields[i];
        if (strcmp(f->name, field) == 0) {
            if (f->type->kind != kind)
                return NULL;
            *idx = i;
            return f;
        }
    }
    return NULL;
}

static const gt_slot *field_slot(const gt_value *v, const char *field, gt_kind kind)
{
    size_t i;
    if (!lookup(v, field, kind, &i))
        return NULL;
    return v->root.u.sub ? &v->root.u.sub[i] : &zero_slot;
}

int gt_get_string(const gt_value *v, const char *field, const char **s, size_t *n)
{
    const gt_slot *fs = field_slot(v, field, K_STRING);
    if (!fs)
        return -1;
    *s = fs->u.s.p ? fs->u.s.p : "";
    *n = fs->u.s.n;
    return 0;
}

int gt_get_bool(const gt_value *v, const char *field, bool *out)
{
    const gt_slot *fs = field_slot(v, field, K_BOOL);
    if (!fs)
        return -1;
    *out = fs->u.b;
    return 0;
}

int gt_get_time(const gt_value *v, const char *field, gj_time *out)
{
    const gt_slot *fs = field_slot(v, field, K_TIME);
    if (!fs)
        return -1;
    if (fs->u.tm.set) {
        *out = fs->u.tm.t;
    } else {
        gj_time zero = {GO_ZERO_TIME_SEC, 0, 0};
        *out = zero;
    }
    return 0;
}

int gt_get_raw(const gt_value *v, const char *field, const char **raw, size_t *n)
{
    const gt_slot *fs = field_slot(v, field, K_RAW);
    if (!fs)
        return -1;
    *raw = fs->u.s.p;
    *n = fs->u.s.p ? fs->u.s.n : 0;
    return 0;
}

int gt_set_time(gt_value *v, const char *field, const gj_time *t)
{
    size_t i;
    if (!lookup(v, field, K_TIME, &i))
        return -1;
    if (!v->root.u.sub && !(v->root.u.sub = calloc(v->type->nfields, sizeof(gt_slot))))
        return -1;
    v->root.u.sub[i].u.tm.t = *t;
    v->root.u.sub[i].u.tm.set = true;
    return 0;
}
