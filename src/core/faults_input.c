/* faults_input.c: fault rules as the carriers write them (faults.h, "the
 * carriers' input"): the text of the -fault flag, and the install step
 * every carrier of a rule shares (parse, check, add, reach the open
 * streams). The JSON body of POST /test/faults is in faults_body.c. */
#include "faults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"

int mk_faults_install(mk_faults *s, mk_sse_hub *hub, mk_sse_space *sp, mk_fault_source src,
                      const mk_fault_target *t,
                      const char *spec, size_t spec_len, unsigned ttl_ms, int *id, char *err,
                      size_t errlen)
{
    mk_fault f;
    char why[256];
    if (mk_fault_parse(spec, spec_len, &f, why, sizeof why) != 0) {
        snprintf(err, errlen, "spec: %s", why);
        return -1;
    }
    bool events = false;
    if (mk_faults_check(t, &f, &events, err, errlen) != 0)
        return -1;
    if (s->nregions > 0 && s->nregions < 32 && (f.regions >> s->nregions) != 0) {
        int bad = s->nregions;
        while (!(f.regions & (1u << bad)))
            bad++;
        if (s->nregions == 1)
            snprintf(err, errlen, "spec: region=%d: there is no region %d (regions are off: the plain "
                                  "listener is region 0; see -regions)", bad, bad);
        else
            snprintf(err, errlen, "spec: region=%d: there is no region %d (the regions are 0 to %d)", bad,
                     bad, s->nregions - 1);
        return -1;
    }
    if (ttl_ms > MK_FAULT_MAX_TTL_MS) {
        snprintf(err, errlen, "ttl_ms %u: out of range 0-%d (milliseconds; 0: until deleted)", ttl_ms,
                 MK_FAULT_MAX_TTL_MS);
        return -1;
    }
    int rid = 0;
    if (mk_faults_add(s, src, t, &f, ttl_ms, &rid, err, errlen) != 0)
        return -1;
    if (id)
        *id = rid;
    /* the streams open now get it too (those opened later get it from the
     * decision, as any request does): a rule naming the events route, or a
     * path rule reaching it with stream keys (a glob over every /v1 path meant
     * for other routes leaves open streams alone) */
    if (events && hub && (t->route || mk_fault_is_stream(&f)))
        mk_faults_count_streams(s, rid, &f, mk_sse_fault(hub, sp, NULL, &f));
    return 0;
}

/* Copies s[0..n) trimmed of blanks into out (cap bytes); -1 when it does
 * not fit. */
static int trimmed(const char *s, size_t n, char *out, size_t cap)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= cap)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

int mk_faults_split(const char *text, char *method, size_t mcap, char *target, size_t tcap,
                    const char **spec, char *err, size_t errlen)
{
    const char *colon = strchr(text, ':');
    if (!colon) {
        snprintf(err, errlen, "expected 'ROUTE: SPEC' (e.g. 'heartbeat: status=503; first=2' or "
                              "'/v1/nodes/*/heartbeat: delay=500'), with no ':' in \"%.64s\"", text);
        return -1;
    }
    char left[MK_GLOB_MAX + 32];
    if (trimmed(text, (size_t)(colon - text), left, sizeof left) != 0) {
        snprintf(err, errlen, "the route or path before ':' is longer than %d bytes", MK_GLOB_MAX);
        return -1;
    }
    method[0] = '\0';
    char *sp = strpbrk(left, " \t");
    const char *tgt = left;
    if (sp) { /* "POST heartbeat: ..." */
        *sp = '\0';
        if (trimmed(left, strlen(left), method, mcap) != 0) {
            snprintf(err, errlen, "method \"%.20s\" is not an HTTP method (e.g. POST)", left);
            return -1;
        }
        tgt = sp + 1;
        while (*tgt == ' ' || *tgt == '\t')
            tgt++;
    }
    if (!*tgt) {
        snprintf(err, errlen, "a route name or a path glob is missing before ':'");
        return -1;
    }
    if (strlen(tgt) >= tcap) {
        snprintf(err, errlen, "the path before ':' is longer than %d bytes", MK_GLOB_MAX);
        return -1;
    }
    strcpy(target, tgt);
    *spec = colon + 1;
    return 0;
}

int mk_faults_flag(mk_faults *s, const char *text, char *err, size_t errlen)
{
    char method[16], target[MK_GLOB_MAX + 1];
    const char *spec;
    if (mk_faults_split(text, method, sizeof method, target, sizeof target, &spec, err, errlen) != 0)
        return -1;
    mk_fault_target t = {.route = target[0] == '/' ? NULL : target,
                         .path = target[0] == '/' ? target : NULL,
                         .method = method};
    if (!s) {
        mk_fault f;
        char why[256];
        if (mk_fault_parse(spec, strlen(spec), &f, why, sizeof why) != 0) {
            snprintf(err, errlen, "spec: %s", why);
            return -1;
        }
        return mk_faults_check(&t, &f, NULL, err, errlen);
    }
    return mk_faults_install(s, NULL, NULL, MK_FSRC_FLAG, &t, spec, strlen(spec), 0, NULL, err, errlen);
}
