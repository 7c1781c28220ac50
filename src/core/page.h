/* page.h: the live page (README "The live page"): GET /test/, the same
 * page for a browser asking for any /test/ page, and the TLS CA for it to
 * download. The feed it follows is feed.h. */
#ifndef MK_PAGE_H
#define MK_PAGE_H

#include <stdbool.h>

#include "dispatch.h"
#include "session.h"

/* Whether req is a browser's navigation to a page of the mock: GET or
 * HEAD of "/", "/test" or a /test/ path (not the feed, not the CA), with
 * an Accept that names text/html before application/json (programs send
 * a wildcard, application/json or nothing, and keep their JSON). */
bool mk_page_wanted(const mk_request *req);

/* The page: "/" and "/test" redirect to /test/ (302, the session prefix
 * and the query kept; the session is at's); any other path gets the page,
 * its no-JavaScript view (counters, the last requests) rendered from S.
 * S NULL: the admin token was not given: the page (200) holding none
 * of the mock's data, only how to give the token (its script takes it
 * from the URL fragment, #token=T, which never reaches the server). */
void mk_respond_page(mk_session *S, mk_session *at, const mk_request *req, mk_response *resp);

/* GET /test/ca.pem: the CA that signed the TLS certificate; 404 without a
 * TLS listener. */
void mk_respond_ca(mockapi *m, const mk_request *req, mk_response *resp);

/* The page as embedded, with the placeholder its plain view replaces. */
extern const char mk_page_html[], mk_page_html_end[];
#define MK_PAGE_PLACEHOLDER "<!--MOCKAPI_PLAIN-->"

#endif
