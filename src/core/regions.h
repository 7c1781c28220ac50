/* regions.h: the /test/regions routes (README "Regions"): list the regions
 * (the plain listeners), take one down, bring it up again. The listeners
 * themselves are the transport's; the request path reaches them through
 * m->region_ctl. */
#ifndef MK_REGIONS_H
#define MK_REGIONS_H

#include <stdbool.h>

#include "dispatch.h"

/* GET /test/regions: {"regions":[{"region":0,"url":"http://127.0.0.1:PORT",
 * "state":"up"},...]} ([] when regions are off). */
void mk_respond_regions(mockapi *m, const mk_request *req, mk_response *resp);

/* POST /test/regions/{i}/down or /up (up true): index is the {i} segment.
 * 200 with the region as listed; 400 for an index that is not a number,
 * 404 for no such region (or regions off), 409 when /up finds the port
 * taken (the region stays down). Taking down the region the request came
 * in on closes that connection after the answer (Connection: close). */
void mk_respond_region_set(mockapi *m, const mk_request *req, mk_response *resp, const char *index,
                           bool up);

#endif
