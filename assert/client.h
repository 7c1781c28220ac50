/* client.h: the HTTP(S) edge of mockassert (libcurl). One handle, reused
 * so every request rides the same keep-alive connection. Proxies are never
 * used (CURLOPT_NOPROXY "*"): the server is local. Not thread-safe. */
#ifndef MA_CLIENT_H
#define MA_CLIENT_H

#include <stddef.h>

typedef struct ma_client ma_client;

typedef struct {
    const char *base_url; /* "http://127.0.0.1:8080" (no trailing slash) */
    const char *cacert;   /* PEM CA for https, or NULL (system CAs) */
    int insecure;         /* 1: do not verify the server's certificate */
    long timeout_ms;      /* per request (long polls add their own wait) */
    const char *admin_token; /* sent as "Authorization: Bearer T" on every request, or NULL */
    const char *session;     /* sent as "X-Mockapi-Session: ID" on every request, or NULL (a valid id:
                              * session_id.h; the caller checked it) */
} ma_client_opts;

/* Normalises a --server value: "host:port" and ":port" become
 * "http://host:port"; a trailing '/' is dropped. Returns a new string, or
 * NULL with *why set when it is not a URL. */
char *ma_server_url(const char *in, const char **why);

/* Creates a client. Returns NULL with err filled on failure. opts' strings
 * are copied. */
ma_client *ma_client_new(const ma_client_opts *opts, char *err, size_t errlen);
void ma_client_free(ma_client *c);

/* GET base_url + path_and_query. extra_ms widens the timeout (long polls).
 * On a transport failure returns -1 with err filled (connection refused,
 * TLS failure, timeout). Otherwise 0 with *status and *body (owned,
 * NUL-terminated, *len bytes before the NUL). Bodies are capped at 512 MiB. */
int ma_client_get(ma_client *c, const char *path_and_query, long extra_ms, long *status, char **body, size_t *len,
                  char *err, size_t errlen);
/* The same with a method ("GET", "POST": an empty body). On a transport
 * failure *retryable (when not NULL) says whether trying again may help:
 * connection refused, reset or timed out, as while a server starts; not a
 * TLS verification failure or a bad URL. */
int ma_client_request(ma_client *c, const char *method, const char *path_and_query, long extra_ms, long *status,
                      char **body, size_t *len, int *retryable, char *err, size_t errlen);
/* GET, handing a 200 answer's body to sink piece by piece as it arrives
 * (*body is then NULL and nothing is held; sink returns 0, or -1 to stop
 * reading, which still returns 0); any other status's body is returned in
 * *body as by ma_client_get. Failures as ma_client_get. */
int ma_client_get_stream(ma_client *c, const char *path_and_query, long *status, char **body, size_t *len,
                         int (*sink)(void *arg, const char *p, size_t n), void *arg, char *err, size_t errlen);
/* The base URL in use (borrowed). */
const char *ma_client_url(const ma_client *c);

#endif
