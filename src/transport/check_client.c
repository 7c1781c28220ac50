/* check_client.c: the -check health probe (mockapi_check), a one-shot GET.
 * It uses no server state.
 *
 * One small client for http:// and https://. civetweb's client cannot
 * serve: built with mbedTLS it has no TLS client (mg_connect_client_secure
 * speaks plain HTTP to a TLS port), so TLS is mbedTLS's, with certificates
 * not verified (the mock's own are throwaway). The connect and every read
 * are bounded by the timeout. */
#include <stdbool.h>
#include <sys/time.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>

#include "certs.h"
#include "mockapi.h"

/* A blocking TCP connection to host:port made within timeout_ms; -1 with
 * the reason in err. */
static int connect_within(const char *host, long port, unsigned timeout_ms, char *err, size_t errlen)
{
    char ps[8];
    snprintf(ps, sizeof ps, "%ld", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, ps, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(gai));
        return -1;
    }
    int fd = -1, why = 0;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        int rc = connect(fd, a->ai_addr, a->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            socklen_t sl = sizeof why;
            rc = poll(&p, 1, (int)timeout_ms) == 1 &&
                         getsockopt(fd, SOL_SOCKET, SO_ERROR, &why, &sl) == 0 && why == 0
                     ? 0
                     : -1;
            if (rc != 0 && why == 0)
                why = ETIMEDOUT;
        } else if (rc != 0) {
            why = errno;
        }
        if (rc != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "cannot connect to %s:%ld: %s", host, port, strerror(why ? why : EIO));
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

/* The response's status code from its first bytes ("HTTP/1.x NNN"); -1
 * when they are not an HTTP response. */
static int status_of(const char *resp)
{
    int code = 0;
    if (strncmp(resp, "HTTP/1.", 7) != 0 || sscanf(resp + 8, " %3d", &code) != 1)
        return -1;
    return code;
}

/* GET path on host:port, over TLS when tls; the status into *status. One
 * blocking socket, its connect and every read bounded by timeout_ms (TLS:
 * mbedTLS's read timeout; plain: SO_RCVTIMEO). */
static int check_get(const char *host, long port, const char *hostport, const char *path, bool tls,
                     unsigned timeout_ms, int *status, char *err, size_t errlen)
{
    mbedtls_net_context net;
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_entropy_context ent;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_net_init(&net);
    mbedtls_ssl_init(&ssl);
    mbedtls_ssl_config_init(&conf);
    mbedtls_entropy_init(&ent);
    mbedtls_ctr_drbg_init(&drbg);
    int rc = MOCKAPI_ELISTEN, r = 0;
    char req[1024], resp[64];
    const char *stage = "TLS set-up";
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nUser-Agent: mockapi-check\r\n\r\n",
                     path, hostport);
    if (n < 0 || (size_t)n >= sizeof req) {
        snprintf(err, errlen, "URL too long");
        rc = MOCKAPI_EINVAL;
        goto out;
    }
    if (tls) {
        if (mk_tls_crypto_init() != 0 ||
            (r = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0)) != 0 ||
            (r = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                             MBEDTLS_SSL_PRESET_DEFAULT)) != 0)
            goto fail;
        mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_NONE); /* the mock's certificate is throwaway */
        mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
        mbedtls_ssl_conf_read_timeout(&conf, timeout_ms);
        if ((r = mbedtls_ssl_setup(&ssl, &conf)) != 0 || (r = mbedtls_ssl_set_hostname(&ssl, host)) != 0)
            goto fail;
    }
    net.fd = connect_within(host, port, timeout_ms, err, errlen);
    if (net.fd < 0)
        goto out;
    size_t got = 0;
    if (tls) {
        mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, NULL, mbedtls_net_recv_timeout);
        stage = "TLS handshake";
        while ((r = mbedtls_ssl_handshake(&ssl)) != 0)
            if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE)
                goto fail;
        stage = "sending the request";
        for (int off = 0; off < n; off += r)
            if ((r = mbedtls_ssl_write(&ssl, (const unsigned char *)req + off, (size_t)(n - off))) < 0)
                goto fail;
        while (got < 12) { /* "HTTP/1.1 200" */
            r = mbedtls_ssl_read(&ssl, (unsigned char *)resp + got, sizeof resp - 1 - got);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
    } else {
        struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
        setsockopt(net.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(net.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (send(net.fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
            snprintf(err, errlen, "sending the request: %s", strerror(errno));
            goto out;
        }
        ssize_t k = 0;
        while (got < 12 && (k = recv(net.fd, resp + got, sizeof resp - 1 - got, 0)) > 0)
            got += (size_t)k;
        r = k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? MBEDTLS_ERR_SSL_TIMEOUT : 0;
    }
    if (got < 12) {
        snprintf(err, errlen, "%s", r == MBEDTLS_ERR_SSL_TIMEOUT ? "timed out waiting for a response"
                                                                 : "no response");
        goto out;
    }
    resp[got] = '\0';
    if ((*status = status_of(resp)) < 0) {
        snprintf(err, errlen, "not an HTTP response");
        goto out;
    }
    if (tls)
        mbedtls_ssl_close_notify(&ssl);
    rc = MOCKAPI_OK;
    goto out;
fail: {
    char why[128];
    mbedtls_strerror(r, why, sizeof why);
    snprintf(err, errlen, "%s: %s", stage, why);
}
out:
    mbedtls_net_free(&net);
    mbedtls_ssl_free(&ssl);
    mbedtls_ssl_config_free(&conf);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&ent);
    return rc;
}

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
    char hostport[256]; /* for the Host header, as the URL has it */
    memcpy(hostport, host, hplen + 1);
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
    if (host[0] == '[') { /* getaddrinfo wants the bare IPv6 literal */
        size_t l = strlen(host);
        if (l < 3 || host[l - 1] != ']') {
            snprintf(errbuf, errlen, "bad IPv6 host in URL");
            return MOCKAPI_EINVAL;
        }
        memmove(host, host + 1, l - 2);
        host[l - 2] = '\0';
    }
    return check_get(host, port, hostport, path, ssl, timeout_ms, status, errbuf, errlen);
}
