/* problem.h: RFC 9457 problem details, the strict profile's error form.
 *
 * Every error the strict profile answers on an agent-facing route is one
 * JSON object on one line, as the production mesh API writes them (seed
 * 004 "Error taxonomy"):
 *   {"type":"urn:mockapi:problem:<code>","title":"<reason phrase>",
 *    "status":N,"detail":"<why>","instance":"<request path>","code":"<code>"}
 * with Content-Type: application/problem+json. `code` is the closed
 * taxonomy a client switches on; `detail` is for people and may change. */
#ifndef MK_PROBLEM_H
#define MK_PROBLEM_H

#include "dispatch.h"

#define MK_CT_PROBLEM "application/problem+json"

/* Answers the problem, with up to three extra headers (NULL-terminated
 * pairs; NULL: none). detail: one line (control bytes are escaped). */
void mk_problem(const mk_request *req, mk_response *resp, int status, const char *code, const char *detail,
                const char *const (*extra)[2]);

#endif
