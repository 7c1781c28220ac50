/* fuzz_router.c: a libFuzzer target for the route table's matcher
 * (src/core/router.c: Go 1.22 ServeMux rules over the raw path).
 *
 * Input: 1 byte (bit 0: the listener; bits 1..3: a method from the list
 * below, 7 meaning "the text up to the first newline is the method"; bit
 * 4: the strict profile's table), then
 * the raw path, then optionally '?' and the query, exactly as a request
 * line carries them (the path is handed over without a terminating NUL).
 *
 * Checked, besides what the sanitizers see:
 *  - the verdict is one of five and is also stored in the match;
 *  - a match names a route of the asked listener whose method is the
 *    request's, GET for a HEAD, or the method-less fallback; its
 *    parameters are non-empty, NUL-terminated and lie inside the scratch;
 *  - 405 comes with a non-empty Allow list that does not name the method;
 *  - a redirect's location is rooted, keeps the query, and asking for it
 *    does not redirect again (cleaning is idempotent);
 *  - matching is deterministic;
 *  - a 404's suggestion is NULL or a pattern of the asked table. */
#include "fuzz_check.h"

#include "router.h"

/* bit 4 of the first byte: the strict profile's table (its own routes,
 * no method-less fallbacks) */
static bool strict;

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};

static mk_verdict match(mk_listener_kind kind, const char *method, const char *path, size_t n,
                        const char *query, mk_match *m)
{
    char *p = fuzz_copy(path, n, 0); /* exact size: no NUL to lean on */
    memset(m, 0xA5, sizeof *m);      /* nothing may depend on what was there */
    mk_verdict v = mk_route_match(kind, strict, method, p, n, query, m);
    free(p);
    return v;
}

static void check(mk_listener_kind kind, const char *method, const char *path, size_t n,
                  const char *query)
{
    mk_match m, again;
    mk_verdict v = match(kind, method, path, n, query, &m);
    CHECK(v == m.verdict);
    CHECK(v == MK_MATCH || v == MK_NOT_FOUND || v == MK_NOT_ALLOWED || v == MK_REDIRECT ||
          v == MK_BAD_REQUEST);
    CHECK(match(kind, method, path, n, query, &again) == v);
    if (v != MK_REDIRECT)
        CHECK(m.location == NULL);
    switch (v) {
    case MK_MATCH: {
        const mk_route *r = m.route;
        CHECK(r != NULL && again.route == r);
        CHECK(r->listener == kind);
        CHECK(!r->strict_only || strict);
        CHECK((r->method == NULL && !strict) || strcmp(r->method, method) == 0 ||
              (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0));
        CHECK(m.nparams >= 0 && m.nparams <= MK_MAX_PARAMS);
        for (int i = 0; i < m.nparams; i++) {
            const char *s = m.params[i].s;
            size_t len = m.params[i].len;
            CHECK(len > 0);
            CHECK(s >= m.scratch && s + len < m.scratch + sizeof m.scratch);
            CHECK(s[len] == '\0');
        }
        break;
    }
    case MK_NOT_ALLOWED:
        CHECK(memchr(m.allow, '\0', sizeof m.allow) != NULL && m.allow[0] != '\0');
        /* the Allow list names methods the path has, never the one refused
         * (HEAD rides on GET, so "GET, HEAD" never answers a HEAD) */
        for (const char *a = m.allow; *a;) {
            size_t l = strcspn(a, ",");
            CHECK(!(strlen(method) == l && memcmp(a, method, l) == 0));
            a += l;
            while (*a == ',' || *a == ' ')
                a++;
        }
        break;
    case MK_REDIRECT: {
        const char *loc = m.location;
        if (loc == NULL)
            break; /* out of memory: the caller answers 404 */
        CHECK(loc[0] == '/');
        const char *q = strchr(loc, '?');
        size_t plen = q ? (size_t)(q - loc) : strlen(loc);
        if (query && *query)
            CHECK(q != NULL && strcmp(q + 1, query) == 0);
        else
            CHECK(q == NULL);
        mk_match twice;
        mk_verdict w = match(kind, method, loc, plen, query, &twice);
        if (w == MK_REDIRECT) {
            fprintf(stderr, "redirect loop: %.*s -> %s\n", (int)n, path, twice.location);
            CHECK(!"a redirect's target is clean");
        }
        CHECK(w != MK_BAD_REQUEST); /* our own escaping is well formed */
        free(twice.location);
        break;
    }
    default:
        break;
    }
    free(m.location);
    free(again.location);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    mk_listener_kind kind = (data[0] & 1) ? MK_LISTEN_TLS : MK_LISTEN_HTTP;
    strict = (data[0] & 0x10) != 0;
    unsigned mi = (data[0] >> 1) & 7;
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    char *method;
    if (mi < sizeof methods / sizeof methods[0]) {
        method = fuzz_copy(methods[mi], strlen(methods[mi]), 1);
    } else {
        const char *nl = memchr(rest, '\n', n);
        size_t ml = nl ? (size_t)(nl - rest) : n;
        method = fuzz_copy(rest, ml, 1);
        if (memchr(method, '\0', ml)) { /* a method never holds a NUL */
            free(method);
            return 0;
        }
        rest += ml + (nl != NULL);
        n -= ml + (nl != NULL);
    }
    /* the request target: path, then the query after the first '?' */
    const char *qm = memchr(rest, '?', n);
    size_t plen = qm ? (size_t)(qm - rest) : n;
    char *query = NULL;
    if (qm) {
        query = fuzz_copy(qm + 1, n - plen - 1, 1);
        if (memchr(query, '\0', n - plen - 1)) { /* the query is a C string */
            free(query);
            free(method);
            return 0;
        }
    }
    check(kind, method, rest, plen, query);
    /* a 404's "did you mean": NULL, or a route pattern of that listener */
    char *p = fuzz_copy(rest, plen, 0);
    const char *like = mk_route_suggest(kind, strict, p, plen);
    free(p);
    if (like) {
        size_t count;
        const mk_route *t = mk_routes(&count);
        bool found = false;
        for (size_t i = 0; i < count && !found; i++)
            found = t[i].pattern == like && t[i].listener == kind && (strict || !t[i].strict_only);
        CHECK(found);
    }
    free(query);
    free(method);
    return 0;
}
