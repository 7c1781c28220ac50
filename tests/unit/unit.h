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
int run_names_tests(void); /* the name lists and every consumer of them, mockassert's lint included */
int run_glob_tests(void);
int run_journal_tests(void); /* mockassert's journal store (assert/requests.c) */
int run_project_tests(void); /* mockassert's body projection (assert/project.c) against whole bodies */ /* the path glob and the "did you mean" helper (src/common) */

#endif
