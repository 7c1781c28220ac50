/* faults_body.c: the JSON body of POST /test/faults, decoded strictly
 * (faults.h mk_faults_parse_body). Apart from the rest of the carriers'
 * input so that a fuzz target can hold it alone. */
#include "faults.h"

#include <stdio.h>
#include <string.h>

#include "gojson.h"
#include "members.h"
#include "suggest.h"

/* The members of a POST /test/faults body. */
static const char *const body_members[] = {"route", "path", "method", "spec", "ttl_ms"};

int mk_faults_parse_body(const char *body, size_t len, mk_fault_body *b, char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    if (len == 0) {
        snprintf(err, errlen, "empty body: send a JSON object such as "
                              "{\"route\":\"heartbeat\",\"spec\":\"status=503; first=2\"}");
        return -1;
    }
    mk_members mm;
    if (mk_members_open(&mm, body, len, body_members, sizeof body_members / sizeof body_members[0],
                        "the body must be a JSON object with route or path, spec, and optionally method and ttl_ms",
                        err, errlen) != 0)
        return -1;
    size_t m, vs, ve;
    gj_kind vk;
    int r;
    mk_buf val;
    mk_buf_init(&val, 0);
    int rc = -1;
    while ((r = mk_members_next(&mm, &m, &vk, &vs, &ve, err, errlen)) == 1) {
        const char *k = body_members[m];
        mk_buf_reset(&val);
        if (vk == GJ_NULL && m != 3)
            continue; /* null: absent, as GET /test/faults shows it */
        if (m == 4) { /* ttl_ms */
            if (mk_members_uint(body, vk, vs, ve, MK_FAULT_MAX_TTL_MS, &b->ttl_ms) != 0) {
                char shown[44]; /* an array or object may span lines */
                snprintf(err, errlen, "\"ttl_ms\" must be a whole number of milliseconds from 0 to %d, not %s",
                         MK_FAULT_MAX_TTL_MS, mk_shown(body + vs, ve - vs, shown, sizeof shown));
                goto out;
            }
            continue;
        }
        if (vk != GJ_STRING) {
            snprintf(err, errlen, "\"%s\" must be a string", k);
            goto out;
        }
        if (gj_string_decode(body + vs, ve - vs, &val) != 0 || val.err) {
            snprintf(err, errlen, "\"%s\" is not a valid string", k);
            goto out;
        }
        const char *v = val.data ? val.data : "";
        if (strlen(v) != val.len) {
            snprintf(err, errlen, "\"%s\" must not contain a NUL byte", k);
            goto out;
        }
        char *dst = m == 0 ? b->route : m == 1 ? b->path : m == 2 ? b->method : b->spec;
        size_t cap = m == 0 ? sizeof b->route : m == 1 ? sizeof b->path : m == 2 ? sizeof b->method
                                                                               : sizeof b->spec;
        if (val.len >= cap) {
            snprintf(err, errlen, "\"%s\" is longer than %zu bytes", k, cap - 1);
            goto out;
        }
        if (val.len == 0) {
            snprintf(err, errlen, "\"%s\" is empty%s", k,
                     m == 2 ? " (leave it out for any method)" : "");
            goto out;
        }
        memcpy(dst, v, val.len + 1);
        if (m == 0)
            b->has_route = true;
        else if (m == 1)
            b->has_path = true;
    }
    if (r < 0)
        goto out;
    if (!(mm.seen & (1u << 3))) {
        snprintf(err, errlen, "\"spec\" is missing (e.g. \"spec\":\"status=503; first=2\")");
        goto out;
    }
    if (b->has_route == b->has_path) {
        snprintf(err, errlen, "give either \"route\" (a route name) or \"path\" (a glob starting with '/'), %s",
                 b->has_route ? "not both" : "one is missing");
        goto out;
    }
    rc = 0;
out:
    mk_members_free(&mm);
    mk_buf_free(&val);
    return rc;
}
