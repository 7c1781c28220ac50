/* errors.h: every error answer of the server, in one place.
 *
 * Two kinds. Answers to a request that reached the request path (a route
 * missing, a method not allowed, a body refused, a bad query, ...) are built
 * into the response like any other (respond.h). Refusals of a request that
 * never reached it (the transport could not frame it, or has no response to
 * write) are complete static responses that end the connection.
 *
 * The bodies are the reference's (docs/contract.md §2), with the mock's own
 * reason in an X-Mockapi-Error header where the reference says less. A
 * future profile with another error form (problem+json) changes this file. */
#ifndef MK_ERRORS_H
#define MK_ERRORS_H

#include <stddef.h>

#include "dispatch.h"

/* 404 "404 page not found" (text), as Go's ServeMux. */
void mk_err_not_found(const mk_request *req, mk_response *resp);
/* 405 "Method Not Allowed" (text) with Allow: allow, as Go's ServeMux. */
void mk_err_method_not_allowed(const mk_request *req, mk_response *resp, const char *allow);
/* 405 {"error":"method not allowed"}: the reference's own fallback routes. */
void mk_err_method_not_allowed_json(const mk_request *req, mk_response *resp);
/* 400 "400 Bad Request" (text) and close: a malformed percent-escape. */
void mk_err_bad_request(const mk_request *req, mk_response *resp);
/* 401 with an empty body: a /local/ request without the bearer token. */
void mk_err_unauthorized(const mk_request *req, mk_response *resp);
/* 401 {"error":...} with WWW-Authenticate: Bearer realm="mockapi-test": a
 * /test/ route without the admin token (or with a wrong one). */
void mk_err_admin_required(const mk_request *req, mk_response *resp);
/* 403 {"error":...}: /test/ on a TLS listener off loopback with no admin
 * token configured; the body says to set -admin-token. */
void mk_err_admin_off(const mk_request *req, mk_response *resp);
/* 413: the body (as sent, or after gunzip) is over cap bytes. */
void mk_err_body_too_large(const mk_request *req, mk_response *resp, size_t cap, bool decoded);
/* 400 {"error":"invalid request body"} with the reason in X-Mockapi-Error. */
void mk_err_invalid_body(const mk_request *req, mk_response *resp, const char *why);
/* 400 {"error":"<why>"}: a query parameter of a /test/ route refused. */
void mk_err_bad_query(const mk_request *req, mk_response *resp, const char *why);
/* status {"error":"<why>"}: a session refused or not found (404 unknown,
 * 409 taken, 428 required, 429 full, 400 malformed). */
void mk_err_session(const mk_request *req, mk_response *resp, int status, const char *why);
/* {"error": why} with status (why: one line). */
void mk_err_refused(const mk_request *req, mk_response *resp, int status, const char *why);
/* 507: a session's body would pass the budget all sessions but default
 * share (mockapi_config.sessions_max_bytes, max bytes). */
void mk_err_store_full(const mk_request *req, mk_response *resp, size_t max);
/* 404 {"error":"no captured request for endpoint"}. */
void mk_err_no_capture(const mk_request *req, mk_response *resp);
/* 503: too many event streams are open. */
void mk_err_streams_full(const mk_request *req, mk_response *resp);
/* 503 with Retry-After: 1: a large response refused because the output
 * held for slow clients (held bytes) plus this one's (want) would pass the
 * bound (mockapi_config.max_buffered_bytes); the body says so in numbers. */
void mk_err_output_full(const mk_request *req, mk_response *resp, size_t held, size_t want,
                        size_t bound);
/* 400 {"error":"<why>"}: a fault refused (a malformed X-Mockapi-Fault, a
 * rule /test/faults will not install; why names the item). */
void mk_err_bad_fault(const mk_request *req, mk_response *resp, const char *why);
/* The injected answer of a `status=` fault (fault.h): status f->status,
 * {"error":"injected fault: <spec>","injected":true} with a newline,
 * Retry-After when f gives retry-after, and X-Mockapi-Fault: injected.
 * spec is the fault's canonical text (mk_fault_format). */
void mk_err_injected(const mk_request *req, mk_response *resp, const mk_fault *f, const char *spec);
/* 404 {"error":"no fault rule with id <id>"}. */
void mk_err_no_fault_rule(const mk_request *req, mk_response *resp, const char *id);

/* 500 {"error":"<what>"}: out of memory, an event that cannot be rendered. */
void mk_err_internal(const mk_request *req, mk_response *resp, const char *what);

/* The body of the 503 for a stream over the cap, also written by the SSE
 * hub itself when a stream is refused after dispatch. */
#define MK_STREAMS_FULL_BODY "{\"error\":\"too many event streams are open\"}\n"

/* A refusal: the complete response (head and body) for status 400, 431,
 * 500, 501, 503 or 505, in the form Go's net/http writes it, with
 * "Connection: close"; *len receives its length. Static storage. */
const char *mk_refusal(int status, size_t *len);
/* mk_refusal with "X-Mockapi-Region: <region>" after the status line, for
 * a region's listener (README "Regions"): malloc'd (free()), NULL when
 * memory is short. */
char *mk_refusal_region(int status, int region, size_t *len);

#endif
