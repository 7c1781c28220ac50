/* guard.h: what a browser may do (README "The live page", "Browsers").
 *
 * A web page on any site can make a browser send requests to the mock on
 * loopback, and a DNS name that rebinds to 127.0.0.1 makes the mock that
 * site's own origin. Browsers say where a request comes from (Origin,
 * Sec-Fetch-Site); programs (the agent, curl, test scripts) send neither
 * and are never refused here. A browser's request is refused (403) when
 *  - it reaches /test/ or changes state (a method other than GET, HEAD,
 *    OPTIONS) with a Host that is not an IP literal, localhost or a name
 *    given by -allow-host (the rebinding guard), or
 *  - it changes state from another origin: Origin is not this server's
 *    own (scheme://Host), or Sec-Fetch-Site is not same-origin. The live
 *    page's feed counts as a change here: each one holds a stream slot. */
#ifndef MK_GUARD_H
#define MK_GUARD_H

#include <stdbool.h>

#include "dispatch.h"

/* True: go on; false: resp holds the 403. admin: a /test/ route. */
bool mk_guard_browser(const mockapi *m, const mk_request *req, bool admin, mk_response *resp);

/* Whether host (a Host header's value, port included or not) is one the
 * guard lets a browser use: an IP literal, localhost, or one of the
 * comma-separated names in allowed (NULL: none). Case-insensitive. */
bool mk_guard_host_ok(const char *host, const char *allowed);

/* Checks an allow_hosts list (mockapi.h): 0, or -1 with the reason (naming
 * the bad name) in err. */
int mk_guard_hosts_check(const char *list, char *err, size_t errlen);

#endif
