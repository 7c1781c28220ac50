/* session_id.h: the session mockassert reads (assert/README.md "Sessions").
 *
 * A mockapi may hold many sessions, one per test; everything a test
 * observes (counters, captures, the journal, waits) is its session's.
 * mockassert names one with --session ID or a top-level session: key and
 * sends its id as the X-Mockapi-Session header on every request (client.c),
 * so the verdict is about that session only. The id is checked here the way
 * the server checks it (src/core/session.h: 1 to 64 bytes of
 * [A-Za-z0-9_.-]), so that a typo is a lint error and not a 404 later. Pure;
 * no I/O. */
#ifndef MA_SESSION_ID_H
#define MA_SESSION_ID_H

#include <stddef.h>

#define MA_SESSION_HEADER "X-Mockapi-Session"
#define MA_SESSION_ID_MAX 64 /* the server's MK_SESSION_ID_MAX */

/* 0 if s (len bytes, which may hold NULs) is a session id. Else -1 with
 * *at, the 0-based index of the first byte at fault (the first bad byte;
 * for an id too long, the first byte past 64; 0 for an empty one), and why
 * filled with the end of the sentence MA_SESSION_ID_RULE starts: ", and
 * this one is empty", ", and this one has ' ' at byte 3" (1-based), ", and
 * this one is 70 bytes long" (at or why NULL: not written). */
int ma_session_id_check(const char *s, size_t len, size_t *at, char *why, size_t whylen);
/* The sentence ma_session_id_check's why continues. */
#define MA_SESSION_ID_RULE "a session id is 1 to 64 bytes of A-Z a-z 0-9 _ . -"

/* When an answer to request ("GET /test/assertions") is about the session
 * itself, a reason naming it, for the user (caller frees); else NULL:
 * - 404 with mockapi's {"error":"no session \"ID\" (...)"}: the session
 *   named does not exist (it ended, expired or never existed);
 * - 428: the server (mockapi -sessions required) wants a session and the
 *   request named none.
 * server is the URL, to name it (NULL: "the server"). */
char *ma_session_problem(long status, const char *body, size_t len, const char *server, const char *request);

#endif
