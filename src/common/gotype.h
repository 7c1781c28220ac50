/* gotype.h: Go struct types of the reference's internal/api, decoded and
 * encoded with encoding/json semantics.
 *
 * Why: the reference decides 200/204 versus 400 by decoding request bodies
 * into typed Go structs, and stores configured state as the decoded struct
 * (unknown fields dropped, zero values filled in, times re-formatted). A
 * schema table per type plus one generic decoder/encoder reproduces that
 * without per-route code. Decode rules (docs/contract.md §2.3): first JSON value only,
 * trailing bytes ignored, empty body is an error, unknown fields ignored,
 * field names match case-insensitively (ASCII fold; exact match preferred),
 * last duplicate wins, null leaves the zero value, a JSON type that does not
 * fit is an error (string into bool/int, 443.0 or 1e2 into int, bad RFC 3339
 * into time, object where an array is expected, ...), int is int64 (overflow
 * is an error), json.RawMessage accepts any valid JSON and keeps its text.
 * Encode rules: struct fields in declaration order, omitempty honoured, map
 * keys sorted bytewise, nil slice/map/RawMessage as null, Go string escaping
 * (gojson.h). All functions are reentrant; values are plain heap trees owned
 * by the caller. */
#ifndef MK_GOTYPE_H
#define MK_GOTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "gojson.h"

typedef struct gt_type gt_type;   /* a static schema; see gotype.c */
typedef struct gt_value gt_value; /* a decoded value of some gt_type */

/* Request types (decode, to validate). */
extern const gt_type gt_RegisterRequest, gt_HeartbeatRequest, gt_KeyRotateRequest,
    gt_CapabilitiesPayload, gt_EndpointReport, gt_DriftReport, gt_ReportSyncRequest,
    gt_ExecutionAck, gt_ExecutionResult, gt_MetricBatch, gt_LogBatch, gt_AuditBatch,
    gt_TunnelReadyRequest, gt_TunnelClosedRequest, gt_IntegrityViolationReport;
/* Response / fixture types (decode and encode). */
extern const gt_type gt_RegisterResponse, gt_HeartbeatResponse, gt_StateResponse,
    gt_KeyRotateResponse, gt_EndpointResponse, gt_SignedEnvelope, gt_StringMap;

/* The Go type's name ("StateResponse", "[]MetricPoint", "map[string]string"). */
const char *gt_type_name(const gt_type *t);

/* Decodes the first JSON value in body[0..len) into a fresh zero value of t.
 * out may be NULL to validate only. On success returns 0 and, if out, stores
 * an owned value (free with gt_value_free). On failure returns -1, leaves
 * *out untouched and writes a one-line reason to err (if errlen > 0), e.g.
 * "offset 12: cannot put a string into HeartbeatResponse.reconcile (bool)". */
int gt_decode(const gt_type *t, const char *body, size_t len, gt_value **out,
              char *err, size_t errlen);

/* Appends json.Marshal(v) (compact, no trailing newline). v must be of type
 * t. Returns 0, or -1 if Go would refuse too (a time outside year 0..9999). */
int gt_encode(const gt_type *t, const gt_value *v, mk_buf *out);

void gt_value_free(gt_value *v);

/* Field access on a decoded struct value, by JSON field name (exact).
 * Getters return 0 and fill the outputs, or -1 when t has no such field of
 * that kind. A string's bytes stay owned by v. A RawMessage field that was
 * absent or null yields *raw = NULL, *n = 0. */
int gt_get_string(const gt_value *v, const char *field, const char **s, size_t *n);
int gt_get_bool(const gt_value *v, const char *field, bool *out);
int gt_get_time(const gt_value *v, const char *field, gj_time *out);
int gt_get_raw(const gt_value *v, const char *field, const char **raw, size_t *n);
int gt_set_time(gt_value *v, const char *field, const gj_time *t);

#endif
