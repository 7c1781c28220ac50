/* check_client.c: the -check health probe (mockapi_check), a one-shot HTTP
 * or HTTPS GET with civetweb's client. It uses no server state. */
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mockapi.h"

int mockapi_check(const char *url, unsigned timeout_ms, int *status, char *errbuf, size_t errlen)
{
    char dummy[1];
    if (!errbuf || !errlen) {
        errbuf = dummy;
        errlen = sizeof dummy;
    }
    errbuf[0] = '\0';
    if (!url || !status) {
        snprintf(errbuf, errlen, "NULL argument");
        return MOCKAPI_EINVAL;
    }
    int ssl = 0;
    const char *p;
    if (strncmp(url, "http://", 7) == 0) {
        p = url + 7;
    } else if (strncmp(url, "https://", 8) == 0) {
        p = url + 8;
        ssl = 1;
    } else {
        snprintf(errbuf, errlen, "URL must start with http:// or https://");
        return MOCKAPI_EINVAL;
    }
    const char *slash = strchr(p, '/');
    const char *path = slash ? slash : "/";
    size_t hplen = slash ? (size_t)(slash - p) : strlen(p);
    char host[256];
    if (hplen == 0 || hplen >= sizeof host) {
        snprintf(errbuf, errlen, "URL has no usable host");
        return MOCKAPI_EINVAL;
    }
    memcpy(host, p, hplen);
    host[hplen] = '\0';
    long port = ssl ? 443 : 80;
    char *colon = strrchr(host, ':');
    if (colon && (host[0] != '[' || colon > strchr(host, ']'))) {
        char *end = NULL;
        port = strtol(colon + 1, &end, 10);
        if (*end || port <= 0 || port > 65535) {
            snprintf(errbuf, errlen, "bad port in URL");
            return MOCKAPI_EINVAL;
        }
        *colon = '\0';
    }
    if (host[0] == '[') { /* civetweb wants the bare IPv6 literal */
        size_t l = strlen(host);
        if (l < 3 || host[l - 1] != ']') {
            snprintf(errbuf, errlen, "bad IPv6 host in URL");
            return MOCKAPI_EINVAL;
        }
        memmove(host, host + 1, l - 2);
        host[l - 2] = '\0';
    }
    char ebuf[256] = "";
    struct mg_client_options co = {.host = host, .port = (int)port};
    struct mg_connection *c = ssl ? mg_connect_client_secure(&co, ebuf, sizeof ebuf)
                                  : mg_connect_client(host, (int)port, 0, ebuf, sizeof ebuf);
    if (!c) {
        snprintf(errbuf, errlen, "%s", ebuf[0] ? ebuf : "cannot connect");
        return MOCKAPI_ELISTEN;
    }
    mg_printf(c, "GET %s HTTP/1.1\r\nHost: %s:%ld\r\nConnection: close\r\nUser-Agent: mockapi-check\r\n\r\n",
              path, host, port);
    int rc = mg_get_response(c, ebuf, sizeof ebuf, (int)timeout_ms);
    if (rc < 0) {
        snprintf(errbuf, errlen, "%s", ebuf[0] ? ebuf : "no response");
        mg_close_connection(c);
        return MOCKAPI_ELISTEN;
    }
    const struct mg_response_info *ri = mg_get_response_info(c);
    *status = ri ? ri->status_code : 0;
    mg_close_connection(c);
    return MOCKAPI_OK;
}
