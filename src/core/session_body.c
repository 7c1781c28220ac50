/* session_body.c: the body of POST /test/sessions, decoded strictly
 * (session.h mk_session_parse_body). Apart from the session table so that
 * a fuzz target can hold it alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gojson.h"
#include "session.h"
#include "suggest.h"

static const char *const body_members[] = {"id", "name", "ttl_ms", "state", "heartbeat", "faults"};

int mk_session_parse_body(const char *body, size_t len, mk_session_opts *o, char *idbuf, size_t idcap,
                          char *namebuf, size_t namecap, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    size_t pos = 0, start, end;
    gj_kind kind;
    while (len && (body[len - 1] == ' ' || body[len - 1] == '\n' || body[len - 1] == '\r' || body[len - 1] == '\t'))
        len--;
    if (len == 0)
        return 0; /* no body: every default */
    if (gj_scan_value(body, len, &pos, &kind, &start, &end) != 0 || pos != len) {
        snprintf(err, errlen, "the body is not valid JSON (at byte %zu)", pos);
        return -1;
    }
    if (kind != GJ_OBJECT) {
        snprintf(err, errlen, "the body must be a JSON object (members id, name, ttl_ms, state, heartbeat, faults; "
                              "all optional)");
        return -1;
    }
    gj_iter it;
    gj_iter_init(&it, body, start, end);
    size_t ks, ke, vs, ve;
    gj_kind vk;
    unsigned seen = 0;
    int r, rc = -1;
    mk_buf key, val;
    mk_buf_init(&key, 0);
    mk_buf_init(&val, 0);
    enum { NM = sizeof body_members / sizeof body_members[0] };
    while ((r = gj_iter_next(&it, &ks, &ke, &vk, &vs, &ve)) == 1) {
        mk_buf_reset(&key);
        mk_buf_reset(&val);
        if (gj_string_decode(body + ks, ke - ks, &key) != 0 || key.err) {
            snprintf(err, errlen, "a member name is not a valid string");
            goto out;
        }
        const char *k = key.data ? key.data : "";
        size_t mi = 0;
        while (mi < NM && strcmp(body_members[mi], k) != 0)
            mi++;
        if (mi == NM || strlen(k) != key.len) {
            const char *near = mk_suggest(k, body_members, NM);
            char shown[44];
            snprintf(err, errlen, "unknown member \"%s\"%s%s%s (known: id, name, ttl_ms, state, heartbeat, faults)",
                     mk_shown(k, key.len, shown, sizeof shown), near ? " (did you mean \"" : "", near ? near : "",
                     near ? "\"?)" : "");
            goto out;
        }
        if (seen & (1u << mi)) {
            snprintf(err, errlen, "member \"%s\" given twice", k);
            goto out;
        }
        seen |= 1u << mi;
        if (vk == GJ_NULL)
            continue; /* null: absent */
        switch (mi) {
        case 0:
        case 1: {
            if (vk != GJ_STRING || gj_string_decode(body + vs, ve - vs, &val) != 0 || val.err) {
                snprintf(err, errlen, "\"%s\" must be a string", k);
                goto out;
            }
            char *dst = mi == 0 ? idbuf : namebuf;
            size_t cap = mi == 0 ? idcap : namecap;
            if (val.len >= cap || (val.data && strlen(val.data) != val.len)) {
                /* the limit the session has, not the buffer's (which may be
                 * larger, leaving the precise refusal to mk_session_create) */
                snprintf(err, errlen, "\"%s\" is longer than %d bytes or holds a NUL", k,
                         mi == 0 ? MK_SESSION_ID_MAX : MK_SESSION_NAME_MAX);
                goto out;
            }
            memcpy(dst, val.data ? val.data : "", val.len);
            dst[val.len] = '\0';
            if (mi == 0)
                o->id = idbuf;
            else
                o->name = namebuf;
            break;
        }
        case 2: {
            size_t n = ve - vs;
            char num[16];
            bool ok = vk == GJ_NUMBER && n < sizeof num;
            unsigned long long v = 0;
            if (ok) {
                memcpy(num, body + vs, n);
                num[n] = '\0';
                ok = strspn(num, "0123456789") == n && n <= 9;
                v = ok ? strtoull(num, NULL, 10) : 0;
            }
            if (!ok || v > MK_SESSION_MAX_TTL_MS) {
                snprintf(err, errlen, "\"ttl_ms\" must be a whole number of milliseconds from 0 to %d "
                                      "(idle time before the session ends; 0: never), not %.*s",
                         MK_SESSION_MAX_TTL_MS, (int)(n > 40 ? 40 : n), body + vs);
                goto out;
            }
            o->ttl_ms = (unsigned)v;
            break;
        }
        case 3:
        case 4:
            if (vk != GJ_OBJECT) {
                snprintf(err, errlen, "\"%s\" must be a JSON object (%s)", k,
                         mi == 3 ? "a state as PUT /test/state takes it" : "a heartbeat response");
                goto out;
            }
            if (mi == 3) {
                o->state = body + vs;
                o->state_len = ve - vs;
            } else {
                o->heartbeat = body + vs;
                o->heartbeat_len = ve - vs;
            }
            break;
        default:
            if (vk != GJ_ARRAY) {
                snprintf(err, errlen, "\"faults\" must be an array of fault rules (as POST /test/faults takes them)");
                goto out;
            }
            o->faults = body + vs;
            o->faults_len = ve - vs;
        }
    }
    if (r < 0) {
        snprintf(err, errlen, "the body is not a valid JSON object");
        goto out;
    }
    rc = 0;
out:
    mk_buf_free(&key);
    mk_buf_free(&val);
    return rc;
}
