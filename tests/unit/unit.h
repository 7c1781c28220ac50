/* unit.h: the unit-test groups; each tests/unit/test_*.c defines one. */
#ifndef MK_UNIT_H
#define MK_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

int run_gojson_tests(void);
int run_gotype_tests(void);
int run_router_tests(void);
int run_gzip_tests(void);
int run_mutate_tests(void);
int run_http1_tests(void); /* HTTP/1.x framing and refusals (transport/http1.c, core/refusal.c) */
int run_tls_session_tests(void); /* tls_session.c with certs.c's certificates */
int run_match_tests(void); /* mockassert's matcher: assert/match.c, jpath.c, requests.c, util.c */
int run_subject_tests(void); /* mockassert's headers/query/response checks and groupBy: subject.c, group.c */
int run_ma_session_tests(void); /* mockassert's sessions: the id, the server's answers, the session: key */
int run_names_tests(void); /* the name lists and every consumer of them, mockassert's lint included */
int run_glob_tests(void); /* the path glob and the "did you mean" helper (src/common) */
int run_number_tests(void); /* mockassert's exact JSON numbers: assert/number.c and its users */
int run_length_type_tests(void); /* mockassert's length and type operators (assert/match.c) */
int run_journal_error_tests(void); /* the journal's response.error from an error body (src/core/journal.c) */
int run_journal_tests(void); /* mockassert's journal store (assert/requests.c) */
int run_fault_journal_tests(void); /* mockassert: faults and regions in the journal store, filters, subjects, lint (issue 14) */
int run_project_tests(void); /* mockassert's body projection (assert/project.c) against whole bodies */
int run_fault_tests(void); /* the fault grammar (src/core/fault.c) */

int run_faults_tests(void); /* the fault rules and the per-request decision (src/core/faults.c) */
int run_sse_tests(void); /* the event hub's per-session spaces (src/core/sse.c) */
int run_nodes_tests(void); /* the strict profile's node registry (src/core/nodes.c) */
int run_strict_body_tests(void); /* the strict profile's request bodies (src/core/strict_body.c) */

#endif
