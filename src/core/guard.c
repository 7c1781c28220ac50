/* guard.c: see guard.h. */
#include "guard.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "errors.h"
#include "suggest.h"

enum { MAX_HOSTS = 16, MAX_HOST_LEN = 253 };

/* The name part of a Host value: "[v6]:port" -> "v6" (is_v6), "name:port"
 * -> "name". Returns its length in out (room for MAX_HOST_LEN + 1), or -1
 * when it does not fit or is empty. */
static int host_name(const char *host, char *out, bool *is_v6)
{
    size_t n;
    *is_v6 = false;
    if (host[0] == '[') {
        const char *e = strchr(host, ']');
        if (!e || (e[1] != '\0' && e[1] != ':'))
            return -1;
        n = (size_t)(e - host - 1);
        host++;
        *is_v6 = true;
    } else {
        n = strcspn(host, ":");
    }
    if (n == 0 || n > MAX_HOST_LEN)
        return -1;
    memcpy(out, host, n);
    out[n] = '\0';
    return (int)n;
}

/* Whether name is in the comma-separated list (case-insensitive). */
static bool listed(const char *name, size_t n, const char *list)
{
    for (const char *p = list; p && *p;) {
        size_t l = strcspn(p, ",");
        if (l == n && strncasecmp(p, name, n) == 0)
            return true;
        p += l;
        if (*p == ',')
            p++;
    }
    return false;
}

bool mk_guard_host_ok(const char *host, const char *allowed)
{
    char name[MAX_HOST_LEN + 1];
    bool v6;
    int n = host ? host_name(host, name, &v6) : -1;
    if (n < 0)
        return false;
    unsigned char addr[16];
    if (v6)
        return inet_pton(AF_INET6, name, addr) == 1;
    if (inet_pton(AF_INET, name, addr) == 1 || strcasecmp(name, "localhost") == 0)
        return true;
    return listed(name, (size_t)n, allowed);
}

int mk_guard_hosts_check(const char *list, char *err, size_t errlen)
{
    int count = 0;
    for (const char *p = list;; p++) {
        size_t l = strcspn(p, ",");
        char shown[44];
        size_t ok = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.");
        if (l == 0 || l > MAX_HOST_LEN || ok < l) {
            snprintf(err, errlen, "allow_hosts: \"%s\" is not a host name (letters, digits, '-' and '.', "
                                  "1 to %d bytes; several separated by ',')",
                     mk_shown(p, l, shown, sizeof shown), MAX_HOST_LEN);
            return -1;
        }
        if (++count > MAX_HOSTS) {
            snprintf(err, errlen, "allow_hosts: more than %d names", MAX_HOSTS);
            return -1;
        }
        p += l;
        if (*p != ',')
            return 0;
    }
}

/* Whether origin (an Origin header) is scheme://host of this request. */
static bool same_origin(const char *origin, const mk_request *req, const char *host)
{
    const char *scheme = req->kind == MK_LISTEN_TLS ? "https://" : "http://";
    size_t sl = strlen(scheme);
    return strncasecmp(origin, scheme, sl) == 0 && strcasecmp(origin + sl, host) == 0;
}

bool mk_guard_browser(const mockapi *m, const mk_request *req, bool admin, mk_response *resp)
{
    const char *origin = mk_req_header(req, "Origin");
    const char *site = mk_req_header(req, "Sec-Fetch-Site");
    if (!origin && !site)
        return true; /* a program: never refused here */
    /* the feed is a GET, but a stream holds one of -sse-max-clients: a
     * page on another site opening many would lock the agents' streams out */
    bool feed = req->path_len == 12 && memcmp(req->path, "/test/events", 12) == 0;
    bool safe = !feed && (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0 ||
                          strcmp(req->method, "OPTIONS") == 0);
    if (safe && !admin)
        return true;
    const char *host = mk_req_header(req, "Host");
    char why[400], shown[80];
    if (!mk_guard_host_ok(host, m->cfg.allow_hosts)) {
        snprintf(why, sizeof why,
                 "a browser reached the mock as \"%s\": only an IP address, localhost or a name given with "
                 "-allow-host may be used from a browser (a guard against DNS rebinding)",
                 host ? mk_shown(host, strlen(host), shown, sizeof shown) : "");
        mk_err_refused(req, resp, 403, why);
        return false;
    }
    if (safe)
        return true;
    bool ok = (!origin || same_origin(origin, req, host)) && (!site || strcmp(site, "same-origin") == 0);
    if (!ok) {
        snprintf(why, sizeof why,
                 "a browser request from another origin (%s) may not change the mock's state: only its own "
                 "page (%s://%s/test/) may",
                 origin ? mk_shown(origin, strlen(origin), shown, sizeof shown)
                        : mk_shown(site, strlen(site), shown, sizeof shown),
                 req->kind == MK_LISTEN_TLS ? "https" : "http", host);
        mk_err_refused(req, resp, 403, why);
        return false;
    }
    return true;
}
