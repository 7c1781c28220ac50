/* session_body.c: the body of POST /test/sessions, decoded strictly
 * (session.h mk_session_parse_body). Apart from the session table so that
 * a fuzz target can hold it alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mockapi.h"
#include "gojson.h"
#include "session.h"
#include "members.h"
#include "suggest.h"

static const char *const body_members[] = {"id", "name", "ttl_ms", "state", "heartbeat", "faults", "profile"};

int mk_session_parse_body(const char *body, size_t len, mk_session_opts *o, char *idbuf, size_t idcap,
                          char *namebuf, size_t namecap, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->profile = -1;
    size_t blank = 0;
    while (blank < len && (body[blank] == ' ' || body[blank] == '\n' || body[blank] == '\r' || body[blank] == '\t'))
        blank++;
    if (blank == len)
        return 0; /* no body: every default */
    mk_members mm;
    if (mk_members_open(&mm, body, len, body_members, sizeof body_members / sizeof body_members[0],
                        "the body must be a JSON object (members id, name, ttl_ms, state, heartbeat, faults, profile; "
                        "all optional)",
                        err, errlen) != 0)
        return -1;
    size_t mi, vs, ve;
    gj_kind vk;
    int r, rc = -1;
    mk_buf val;
    mk_buf_init(&val, 0);
    while ((r = mk_members_next(&mm, &mi, &vk, &vs, &ve, err, errlen)) == 1) {
        const char *k = body_members[mi];
        mk_buf_reset(&val);
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
        case 2:
            if (mk_members_uint(body, vk, vs, ve, MK_SESSION_MAX_TTL_MS, &o->ttl_ms) != 0) {
                /* the value as sent may be an object or array spread over
                 * lines: shown on one line, cut */
                char shown[44];
                snprintf(err, errlen, "\"ttl_ms\" must be a whole number of milliseconds from 0 to %d "
                                      "(idle time before the session ends; 0: never), not %s",
                         MK_SESSION_MAX_TTL_MS, mk_shown(body + vs, ve - vs, shown, sizeof shown));
                goto out;
            }
            break;
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
        case 6: {
            bool strict = false, ok = vk == GJ_STRING && gj_string_decode(body + vs, ve - vs, &val) == 0 && !val.err &&
                                      val.data && strlen(val.data) == val.len && /* no NUL inside */
                                      ((strict = strcmp(val.data, "strict") == 0) || strcmp(val.data, "reference") == 0);
            if (!ok) {
                char shown[44];
                snprintf(err, errlen, "\"profile\" must be \"reference\" or \"strict\", not %s",
                         mk_shown(body + vs, ve - vs, shown, sizeof shown));
                goto out;
            }
            o->profile = strict ? MOCKAPI_PROFILE_STRICT : MOCKAPI_PROFILE_REFERENCE;
            break;
        }
        default:
            if (vk != GJ_ARRAY) {
                snprintf(err, errlen, "\"faults\" must be an array of fault rules (as POST /test/faults takes them)");
                goto out;
            }
            o->faults = body + vs;
            o->faults_len = ve - vs;
        }
    }
    if (r < 0)
        goto out;
    rc = 0;
out:
    mk_members_free(&mm);
    mk_buf_free(&val);
    return rc;
}
