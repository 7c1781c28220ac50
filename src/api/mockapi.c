/* mockapi.c: the public API (include/mockapi.h): configuration, lifecycle,
 * addresses, regions and credentials (the per-test calls are in
 * session_api.c). */
#include "mockapi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dispatch.h"
#include "guard.h"
#include "http.h"
#include "gotype.h"
#include "server.h"
#include "strict.h"
#include "api.h"

const char *const mockapi_counter_names[MOCKAPI_COUNTER_COUNT] = {
#define NAME_(id, name) name,
    MOCKAPI_COUNTERS(NAME_)
#undef NAME_
};

/* The ids are ABI: the list may only grow at its end (inserting or removing
 * an entry anywhere earlier moves the last one). */
_Static_assert(MOCKAPI_LOCAL_AUDIT_COUNT == 23, "mockapi_counter values changed");

const char *mockapi_strerror(int err)
{
    switch (err) {
    case MOCKAPI_OK: return "success";
    case MOCKAPI_EINVAL: return "invalid argument";
    case MOCKAPI_ENOMEM: return "out of memory";
    case MOCKAPI_ELISTEN: return "cannot listen";
    case MOCKAPI_ESTATE: return "wrong state for this call";
    case MOCKAPI_ENOTFOUND: return "not found";
    case MOCKAPI_EIO: return "file I/O error";
    case MOCKAPI_EJSON: return "invalid JSON for the expected type";
    case MOCKAPI_ECRYPTO: return "crypto failure";
    case MOCKAPI_ETIMEDOUT: return "timed out";
    case MOCKAPI_EFULL: return "limit reached";
    case MOCKAPI_EEXIST: return "already exists";
    default: return "unknown error";
    }
}

void mockapi_config_init(mockapi_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->addr = "127.0.0.1:0";
    cfg->max_body_bytes = 1u << 20;
    cfg->max_decoded_bytes = 8u << 20;
    cfg->max_header_bytes = 16384;
    cfg->request_timeout_ms = 10000;
    cfg->threads = 64;
    cfg->sse_keepalive_ms = 15000;
    cfg->sse_queue_max = 16;
    cfg->sse_history = 64;
    cfg->sse_max_clients = 1024;
    cfg->journal_max_entries = 10000;
    cfg->journal_max_bytes = 64u << 20;
    cfg->max_buffered_bytes = 64u << 20;
    cfg->max_sessions = 256;
    cfg->session_journal_bytes = 4u << 20;
    cfg->sessions_max_bytes = (size_t)1 << 30;
}

void mk_api_set_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (!errbuf || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

static char *dup_or_null(const char *s, int *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = 1;
    return d;
}

/* Parses "host:port", "[v6]:port" or ":port" into a listener (numeric
 * addresses only; "localhost" is mapped to 127.0.0.1). */
static int parse_addr(const char *what, const char *addr, mk_listener_kind kind, mk_listener *l,
                      char *errbuf, size_t errlen)
{
    memset(l, 0, sizeof *l);
    l->kind = kind;
    const char *colon = strrchr(addr, ':');
    if (!colon) {
        mk_api_set_err(errbuf, errlen, "%s \"%s\": expected host:port, [ipv6]:port or :port", what, addr);
        return MOCKAPI_EINVAL;
    }
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535) {
        mk_api_set_err(errbuf, errlen, "%s \"%s\": port must be a number from 0 to 65535", what, addr);
        return MOCKAPI_EINVAL;
    }
    size_t hlen = (size_t)(colon - addr);
    char host[64];
    if (hlen >= sizeof host) {
        mk_api_set_err(errbuf, errlen, "%s \"%s\": host too long", what, addr);
        return MOCKAPI_EINVAL;
    }
    memcpy(host, addr, hlen);
    host[hlen] = '\0';
    struct sockaddr_in *v4 = (struct sockaddr_in *)&l->sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&l->sa;
    if (hlen == 0) {
        /* all interfaces, dual-stack, printed as Go prints it: [::]:port */
        v6->sin6_family = AF_INET6;
        v6->sin6_addr = in6addr_any;
        v6->sin6_port = htons((uint16_t)port);
        l->salen = sizeof *v6;
        l->dual_stack = true;
        snprintf(l->host, sizeof l->host, "[::]");
        l->wildcard = true;
    } else if (host[0] == '[') {
        char bare[64];
        if (hlen < 3 || host[hlen - 1] != ']') {
            mk_api_set_err(errbuf, errlen, "%s \"%s\": unbalanced brackets", what, addr);
            return MOCKAPI_EINVAL;
        }
        snprintf(bare, sizeof bare, "%.*s", (int)(hlen - 2), host + 1);
        if (inet_pton(AF_INET6, bare, &v6->sin6_addr) != 1) {
            mk_api_set_err(errbuf, errlen, "%s \"%s\": not an IPv6 address", what, addr);
            return MOCKAPI_EINVAL;
        }
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        l->salen = sizeof *v6;
        snprintf(l->host, sizeof l->host, "%s", host);
        l->wildcard = IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr);
        l->loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr) ||
                      (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr) && v6->sin6_addr.s6_addr[12] == 127);
    } else {
        if (strcmp(host, "localhost") == 0)
            strcpy(host, "127.0.0.1");
        unsigned a, b, c, d;
        char tail;
        if (sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4 || a > 255 || b > 255 ||
            c > 255 || d > 255 || inet_pton(AF_INET, host, &v4->sin_addr) != 1) {
            mk_api_set_err(errbuf, errlen, "%s \"%s\": host must be an IP address or localhost", what, addr);
            return MOCKAPI_EINVAL;
        }
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        l->salen = sizeof *v4;
        snprintf(l->host, sizeof l->host, "%s", host);
        l->wildcard = strcmp(host, "0.0.0.0") == 0;
        l->loopback = a == 127;
    }
    snprintf(l->shown, sizeof l->shown, "%s:%ld", l->host, port);
    return MOCKAPI_OK;
}

/* The listener's port, and its address as shown, set to port. */
static void set_port(mk_listener *l, int port)
{
    if (l->sa.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&l->sa)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)&l->sa)->sin_port = htons((uint16_t)port);
    char host[sizeof l->host]; /* a copy: -Wrestrict cannot tell the two fields apart */
    memcpy(host, l->host, sizeof host);
    snprintf(l->shown, sizeof l->shown, "%s:%d", host, port);
}

static int port_of(const mk_listener *l)
{
    return ntohs(l->sa.ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)&l->sa)->sin6_port
                                             : ((const struct sockaddr_in *)&l->sa)->sin_port);
}

/* The regions beyond region 0 (listeners[0], parsed from cfg->addr):
 * cfg->regions copies of it on consecutive ports (or each on a free port),
 * or one per cfg->region_addrs entry (copied into m->region_addrs). */
static int add_regions(mockapi *m, const mockapi_config *cfg, char *err, size_t errlen)
{
    if (cfg->regions > 0 && cfg->nregion_addrs > 0) {
        snprintf(err, errlen, "config: regions and region_addrs cannot be combined (give the "
                              "number of regions, or every address)");
        return MOCKAPI_EINVAL;
    }
    if (cfg->regions > MK_MAX_REGIONS || cfg->nregion_addrs > MK_MAX_REGIONS - 1) {
        snprintf(err, errlen, "config: at most %d regions (regions 1..%d, or up to %d region_addrs); "
                              "%zu asked for",
                 MK_MAX_REGIONS, MK_MAX_REGIONS, MK_MAX_REGIONS - 1,
                 cfg->regions > 0 ? (size_t)cfg->regions : cfg->nregion_addrs + 1);
        return MOCKAPI_EINVAL;
    }
    if (cfg->nregion_addrs > 0 && !cfg->region_addrs) {
        snprintf(err, errlen, "config: region_addrs is NULL with nregion_addrs %zu", cfg->nregion_addrs);
        return MOCKAPI_EINVAL;
    }
    mk_listener *first = &m->listeners[0];
    int base = port_of(first);
    m->nregions = 1;
    m->regions_on = cfg->regions > 0 || cfg->nregion_addrs > 0;
    if (cfg->regions > 0 && base > 0 && base + (int)cfg->regions - 1 > 65535) {
        snprintf(err, errlen, "addr \"%s\": %u regions on consecutive ports from %d would pass port "
                              "65535 (use a lower port, or port 0 for free ports)",
                 cfg->addr, cfg->regions, base);
        return MOCKAPI_EINVAL;
    }
    for (unsigned i = 1; i < cfg->regions; i++) {
        mk_listener *l = &m->listeners[i];
        *l = *first;
        atomic_init(&l->port, 0);
        atomic_init(&l->down, false);
        l->region = (int)i;
        set_port(l, base > 0 ? base + (int)i : 0);
        m->nregions++;
    }
    if (cfg->nregion_addrs > 0) {
        m->region_addrs = calloc(cfg->nregion_addrs + 1, sizeof *m->region_addrs);
        if (!m->region_addrs) {
            snprintf(err, errlen, "out of memory");
            return MOCKAPI_ENOMEM;
        }
    }
    for (size_t i = 0; i < cfg->nregion_addrs; i++) {
        char what[48];
        int region = (int)i + 1;
        snprintf(what, sizeof what, "addr (region %d)", region);
        const char *a = cfg->region_addrs[i];
        if (!a || !*a) {
            snprintf(err, errlen, "%s: empty; give host:port, [ipv6]:port or :port", what);
            return MOCKAPI_EINVAL;
        }
        mk_listener *l = &m->listeners[region];
        int rc = parse_addr(what, a, MK_LISTEN_HTTP, l, err, errlen);
        if (rc != MOCKAPI_OK)
            return rc;
        l->region = region;
        /* the same address twice: said now, not as a bind error at start */
        for (int j = 0; j < region; j++)
            if (port_of(l) != 0 && strcmp(m->listeners[j].shown, l->shown) == 0) {
                snprintf(err, errlen, "%s \"%s\": region %d has that address already", what, a, j);
                return MOCKAPI_EINVAL;
            }
        if (!(m->region_addrs[i] = strdup(a))) {
            snprintf(err, errlen, "out of memory");
            return MOCKAPI_ENOMEM;
        }
        m->nregions++;
    }
    m->nlisteners = m->nregions;
    return MOCKAPI_OK;
}

/* Frees what create set up before the state object, and m itself. */
static void release_config(mockapi *m)
{
    for (size_t i = 0; i < m->nflag_faults; i++)
        free(m->flag_faults[i]);
    free(m->flag_faults);
    if (m->region_addrs)
        for (char **a = m->region_addrs; *a; a++)
            free(*a);
    free(m->region_addrs);
    mk_tls_job_free(m->tls_job);
    free(m->addr);
    free(m->tls_addr);
    free(m->fixtures_dir);
    free(m->key_file);
    free(m->allow_hosts);
    if (m->bootstrap_tokens)
        sodium_memzero(m->bootstrap_tokens, strlen(m->bootstrap_tokens));
    free(m->bootstrap_tokens);
    free(m);
}

int mockapi_fault_check(const char *rule, char *errbuf, size_t errlen)
{
    char err[512] = "";
    if (!rule) {
        mk_api_set_err(errbuf, errlen, "NULL rule");
        return MOCKAPI_EINVAL;
    }
    if (mk_faults_flag(NULL, rule, err, sizeof err) != 0) {
        mk_api_set_err(errbuf, errlen, "%s", err);
        return MOCKAPI_EINVAL;
    }
    return MOCKAPI_OK;
}

int mockapi_create(const mockapi_config *cfg_in, mockapi **out, char *errbuf, size_t errlen)
{
    if (!out) {
        mk_api_set_err(errbuf, errlen, "out must not be NULL");
        return MOCKAPI_EINVAL;
    }
    mockapi_config cfg;
    if (cfg_in)
        cfg = *cfg_in;
    else
        mockapi_config_init(&cfg);
    if (!cfg.addr || !*cfg.addr)
        cfg.addr = "127.0.0.1:0";
    if (cfg.max_body_bytes == 0 || cfg.max_decoded_bytes == 0 || cfg.max_header_bytes < 1024 ||
        cfg.request_timeout_ms == 0 || cfg.threads == 0 || cfg.threads > 10000) {
        mk_api_set_err(errbuf, errlen, "config: max_body_bytes, max_decoded_bytes and request_timeout_ms "
                                "must be > 0, max_header_bytes >= 1024, threads 1..10000");
        return MOCKAPI_EINVAL;
    }
    if (cfg.sse_keepalive_ms == 0)
        cfg.sse_keepalive_ms = 15000;
    if (cfg.sse_queue_max == 0)
        cfg.sse_queue_max = 16;
    if (cfg.sse_max_clients == 0)
        cfg.sse_max_clients = 1024;
    if (cfg.journal_max_bytes == 0)
        cfg.journal_max_bytes = 64u << 20;
    if (cfg.session_journal_bytes == 0)
        cfg.session_journal_bytes = 4u << 20;
    if (cfg.max_sessions == 0)
        cfg.max_sessions = 256;
    if (cfg.sessions_max_bytes == 0)
        cfg.sessions_max_bytes = (size_t)1 << 30;
    if (cfg.max_sessions > MK_SESSIONS_MAX || cfg.sessions < MOCKAPI_SESSIONS_ON ||
        cfg.sessions > MOCKAPI_SESSIONS_REQUIRED) {
        mk_api_set_err(errbuf, errlen, "config: max_sessions must be 1..%d and sessions a mockapi_sessions_mode",
                MK_SESSIONS_MAX);
        return MOCKAPI_EINVAL;
    }
    if (cfg.max_buffered_bytes == 0)
        cfg.max_buffered_bytes = 64u << 20;

    mockapi *m = calloc(1, sizeof *m);
    if (!m) {
        mk_api_set_err(errbuf, errlen, "out of memory");
        return MOCKAPI_ENOMEM;
    }
    char err[512] = "";
    int rc = parse_addr("addr", cfg.addr, MK_LISTEN_HTTP, &m->listeners[0], err, sizeof err);
    m->nlisteners = 1;
    if (rc == MOCKAPI_OK)
        rc = add_regions(m, &cfg, err, sizeof err);
    if (rc == MOCKAPI_OK && cfg.tls_addr && *cfg.tls_addr) {
        rc = parse_addr("tls_addr", cfg.tls_addr, MK_LISTEN_TLS, &m->listeners[m->nlisteners], err,
                        sizeof err);
        m->listeners[m->nlisteners++].region = -1;
    }
    if (rc == MOCKAPI_OK && cfg.allow_hosts && mk_guard_hosts_check(cfg.allow_hosts, err, sizeof err) != 0)
        rc = MOCKAPI_EINVAL;
    if (rc == MOCKAPI_OK && cfg.profile != MOCKAPI_PROFILE_REFERENCE && cfg.profile != MOCKAPI_PROFILE_STRICT) {
        snprintf(err, sizeof err, "profile: %d is neither MOCKAPI_PROFILE_REFERENCE nor MOCKAPI_PROFILE_STRICT",
                 (int)cfg.profile);
        rc = MOCKAPI_EINVAL;
    }
    if (rc == MOCKAPI_OK && cfg.bootstrap_tokens && mk_strict_tokens_check(cfg.bootstrap_tokens, err, sizeof err) != 0)
        rc = MOCKAPI_EINVAL;
    if (rc == MOCKAPI_OK && (cfg.tls_ca_dir || cfg.tls_sans) && !(cfg.tls_addr && *cfg.tls_addr)) {
        snprintf(err, sizeof err, "%s: needs a TLS listener (tls_addr is not set)",
                 cfg.tls_ca_dir ? "tls_ca_dir" : "tls_sans");
        rc = MOCKAPI_EINVAL;
    }
    if (rc == MOCKAPI_OK && cfg.tls_ca_dir && !*cfg.tls_ca_dir) {
        snprintf(err, sizeof err, "tls_ca_dir: empty path; give a folder, or NULL for a throwaway CA");
        rc = MOCKAPI_EINVAL;
    }
    if (rc != MOCKAPI_OK)
        goto fail_early;
    if (cfg.admin_token) {
        size_t tl = strlen(cfg.admin_token), ok = 0;
        while (ok < tl && cfg.admin_token[ok] > 0x20 && cfg.admin_token[ok] < 0x7f)
            ok++;
        if (tl == 0 || tl > 1024 || ok != tl) {
            rc = MOCKAPI_EINVAL;
            snprintf(err, sizeof err, "admin_token: must be 1 to 1024 visible ASCII characters "
                                      "(no spaces or control characters)");
            goto fail_early;
        }
        /* only the hash is kept: the token itself never lives in m */
        m->has_admin = true;
        crypto_hash_sha256(m->admin_hash, (const unsigned char *)cfg.admin_token, tl);
        cfg.admin_token = NULL;
    }

    int oom = 0;
    m->addr = dup_or_null(cfg.addr, &oom);
    m->tls_addr = dup_or_null(cfg.tls_addr, &oom);
    m->fixtures_dir = dup_or_null(cfg.fixtures_dir, &oom);
    m->key_file = dup_or_null(cfg.signing_key_file, &oom);
    m->allow_hosts = dup_or_null(cfg.allow_hosts, &oom);
    m->bootstrap_tokens = dup_or_null(cfg.bootstrap_tokens, &oom);
    if (oom) {
        rc = MOCKAPI_ENOMEM;
        snprintf(err, sizeof err, "out of memory");
        goto fail_early;
    }
    m->cfg = cfg;
    m->cfg.addr = m->addr;
    m->cfg.tls_addr = m->tls_addr;
    m->cfg.fixtures_dir = m->fixtures_dir;
    m->cfg.signing_key_file = m->key_file;
    m->cfg.allow_hosts = m->allow_hosts;
    m->cfg.bootstrap_tokens = m->bootstrap_tokens;
    m->cfg.tls_ca_dir = NULL; /* used below, during create, and not kept */
    m->cfg.tls_sans = NULL;
    m->cfg.region_addrs = (const char *const *)m->region_addrs;

    if (m->tls_addr && (rc = mk_tls_job_new(&m->tls_job)) != MOCKAPI_OK) {
        snprintf(err, sizeof err, "out of memory");
        goto fail_early;
    }
    if (m->tls_job) { /* the folder's CA is read (or made) now, so its problems are start-up errors */
        char warn[600];
        rc = mk_tls_job_configure(m->tls_job, cfg.tls_ca_dir, cfg.tls_sans, err, sizeof err, warn, sizeof warn);
        if (rc != MOCKAPI_OK)
            goto fail_early;
        if (*warn)
            mk_log(m, "warning: %s", warn);
    }
    rc = mk_keys_init(&m->keys, m->key_file, err, sizeof err);
    if (rc != MOCKAPI_OK)
        goto fail_early;
    rc = mk_fixtures_load(&m->fx, m->fixtures_dir, m->keys.pk_b64, err, sizeof err);
    if (rc != MOCKAPI_OK)
        goto fail_early;
    if (mk_sessions_init(m) != 0) {
        mk_fixtures_dispose(&m->fx);
        rc = MOCKAPI_ENOMEM;
        snprintf(err, sizeof err, "out of memory");
        goto fail_early;
    }
    m->cfg.faults = NULL; /* copied into flag_faults, for the sessions made later */
    m->cfg.nfaults = 0;
    if (cfg.nfaults && !(m->flag_faults = calloc(cfg.nfaults, sizeof *m->flag_faults)))
        rc = MOCKAPI_ENOMEM;
    for (size_t i = 0; rc == MOCKAPI_OK && i < cfg.nfaults; i++) {
        char why[400];
        if (!cfg.faults) { /* said as region_addrs says it, not as "faults[0]: NULL rule" */
            rc = MOCKAPI_EINVAL;
            snprintf(err, sizeof err, "config: faults is NULL with nfaults %zu", cfg.nfaults);
        } else if (!cfg.faults[i] || mk_faults_flag(&m->def->state.faults, cfg.faults[i], why, sizeof why) != 0) {
            rc = MOCKAPI_EINVAL;
            snprintf(err, sizeof err, "faults[%zu]: %s", i, cfg.faults[i] ? why : "NULL rule");
        } else if (!(m->flag_faults[m->nflag_faults++] = strdup(cfg.faults[i]))) {
            rc = MOCKAPI_ENOMEM;
        }
    }
    if (rc != MOCKAPI_OK) {
        if (rc == MOCKAPI_ENOMEM)
            snprintf(err, sizeof err, "out of memory");
        mk_sessions_dispose(m);
        mk_fixtures_dispose(&m->fx);
        goto fail_early;
    }
    for (int i = 0; i < m->nlisteners && !m->has_admin; i++) {
        const mk_listener *l = &m->listeners[i];
        if (l->loopback)
            continue;
        if (l->kind == MK_LISTEN_TLS)
            mk_log(m, "warning: the TLS listener %s is not bound to loopback and no admin token is "
                      "set: its /test/ routes are off (403); set an admin token (-admin-token) to use them",
                   l->shown);
        else
            mk_log(m, "warning: the plain listener %s is not bound to loopback and no admin token is "
                      "set: anyone who reaches it can reset the mock, inject signed events and read "
                      "every captured request through /test/ (set -admin-token)",
                   l->shown);
    }
    *out = m;
    return MOCKAPI_OK;

fail_early:
    mk_api_set_err(errbuf, errlen, "%s", err);
    release_config(m);
    return rc;
}

static int start(mockapi *m, bool tls_background, char *errbuf, size_t errlen)
{
    if (!m) {
        mk_api_set_err(errbuf, errlen, "NULL instance");
        return MOCKAPI_EINVAL;
    }
    if (m->http) {
        mk_api_set_err(errbuf, errlen, "already started");
        return MOCKAPI_ESTATE;
    }
    char err[512] = "";
    int rc = mk_http_start(m, tls_background, err, sizeof err);
    if (rc != MOCKAPI_OK)
        mk_api_set_err(errbuf, errlen, "%s", err);
    return rc;
}

int mockapi_start(mockapi *m, char *errbuf, size_t errlen)
{
    return start(m, false, errbuf, errlen);
}

int mockapi_start_async(mockapi *m, char *errbuf, size_t errlen)
{
    return start(m, true, errbuf, errlen);
}

int mockapi_wait_started(mockapi *m, char *errbuf, size_t errlen)
{
    if (!m) {
        mk_api_set_err(errbuf, errlen, "NULL instance");
        return MOCKAPI_EINVAL;
    }
    if (!m->http) {
        mk_api_set_err(errbuf, errlen, "not started");
        return MOCKAPI_ESTATE;
    }
    char err[512] = "";
    int rc = mk_http_wait_tls(m, err, sizeof err);
    if (rc != MOCKAPI_OK)
        mk_api_set_err(errbuf, errlen, "%s", err);
    return rc;
}

void mockapi_stop(mockapi *m)
{
    if (m)
        mk_http_stop(m);
}

void mockapi_free(mockapi *m)
{
    if (!m)
        return;
    mockapi_stop(m);
    mk_sessions_dispose(m);
    mk_fixtures_dispose(&m->fx);
    release_config(m);
}

int mockapi_decrypt_secret(const void *nsk, size_t nsk_len, const char *ciphertext_b64,
                           const char *nonce_b64, char **plaintext, size_t *len)
{
    if (!nsk || !ciphertext_b64 || !nonce_b64 || !plaintext)
        return MOCKAPI_EINVAL;
    size_t clen = strlen(ciphertext_b64), nlen = strlen(nonce_b64);
    unsigned char *ct = malloc(clen / 4 * 3 + 3), nonce[16];
    char *pt = NULL;
    int rc = MOCKAPI_ECRYPTO;
    if (!ct)
        return MOCKAPI_ENOMEM;
    long ctn = mk_b64_decode(ciphertext_b64, clen, ct);
    long nn = nlen <= 16 ? mk_b64_decode(nonce_b64, nlen, nonce) : -1;
    if (nsk_len != 32 || ctn < 16 || nn != 12)
        goto out;
    pt = malloc((size_t)ctn - 16 + 1);
    if (!pt) {
        rc = MOCKAPI_ENOMEM;
        goto out;
    }
    if (mk_gcm_open(nsk, nonce, ct, (size_t)ctn, (unsigned char *)pt) != 0)
        goto out;
    pt[ctn - 16] = '\0';
    *plaintext = pt;
    if (len)
        *len = (size_t)ctn - 16;
    pt = NULL;
    rc = MOCKAPI_OK;
out:
    free(pt);
    free(ct);
    return rc;
}

/* The certificates, waiting for them if they are still being made. */
static const mk_tls *tls_of(const mockapi *m, char *err, size_t errlen)
{
    return m && m->tls_job ? mk_tls_job_get(m->tls_job, err, errlen) : NULL;
}

const char *mockapi_tls_ca_pem(const mockapi *m)
{
    const mk_tls *t = tls_of(m, NULL, 0);
    return t ? t->ca_pem : NULL;
}

int mockapi_write_tls_ca(const mockapi *m, const char *path, char *errbuf, size_t errlen)
{
    if (!m || !path) {
        mk_api_set_err(errbuf, errlen, "NULL argument");
        return MOCKAPI_EINVAL;
    }
    if (!m->tls_job) {
        mk_api_set_err(errbuf, errlen, "no TLS listener is configured");
        return MOCKAPI_ENOTFOUND;
    }
    char why[256] = "";
    const mk_tls *t = tls_of(m, why, sizeof why);
    if (!t) {
        mk_api_set_err(errbuf, errlen, "TLS certificates: %s", why);
        return MOCKAPI_ECRYPTO;
    }
    FILE *fp = fopen(path, "w");
    if (!fp) {
        char eb[128];
        mk_api_set_err(errbuf, errlen, "%s: %s", path, strerror_r(errno, eb, sizeof eb));
        return MOCKAPI_EIO;
    }
    int bad = fputs(t->ca_pem, fp) < 0;
    int werr = bad ? errno : 0;
    if (fclose(fp) != 0 && !bad) { /* a full disk shows only here, when the buffer is flushed */
        bad = 1;
        werr = errno;
    }
    if (bad) {
        char eb[128];
        mk_api_set_err(errbuf, errlen, "%s: %s", path, werr ? strerror_r(werr, eb, sizeof eb) : "write failed");
        return MOCKAPI_EIO;
    }
    return MOCKAPI_OK;
}

static const mk_listener *first_of(const mockapi *m, mockapi_listener_kind kind)
{
    if (!m)
        return NULL;
    for (int i = 0; i < m->nlisteners; i++)
        if ((int)m->listeners[i].kind == (int)kind && m->listeners[i].port > 0)
            return &m->listeners[i];
    return NULL;
}

int mockapi_port(const mockapi *m, mockapi_listener_kind kind)
{
    const mk_listener *l = first_of(m, kind);
    return l ? l->port : 0;
}

int mockapi_addr(const mockapi *m, mockapi_listener_kind kind, char *buf, size_t len)
{
    const mk_listener *l = first_of(m, kind);
    if (!l)
        return MOCKAPI_ENOTFOUND;
    int n = snprintf(buf, len, "%s:%d", l->host, l->port);
    return (n < 0 || (size_t)n >= len) ? MOCKAPI_EINVAL : n;
}

int mockapi_base_url(const mockapi *m, mockapi_listener_kind kind, char *buf, size_t len)
{
    const mk_listener *l = first_of(m, kind);
    if (!l)
        return MOCKAPI_ENOTFOUND;
    const char *host = l->host;
    if (l->wildcard)
        host = "127.0.0.1";
    int n = snprintf(buf, len, "%s://%s:%d", kind == MOCKAPI_LISTENER_TLS ? "https" : "http", host,
                     l->port);
    return (n < 0 || (size_t)n >= len) ? MOCKAPI_EINVAL : n;
}

/* ---- regions ------------------------------------------------------------ */

static const mk_listener *region_of(const mockapi *m, int region)
{
    if (!m || !m->regions_on || region < 0 || region >= m->nregions)
        return NULL;
    return &m->listeners[region];
}

int mockapi_region_count(const mockapi *m)
{
    return m && m->regions_on ? m->nregions : 0;
}

int mockapi_region_port(const mockapi *m, int region)
{
    const mk_listener *l = region_of(m, region);
    return l ? atomic_load(&l->port) : 0;
}

int mockapi_region_addr(const mockapi *m, int region, char *buf, size_t len)
{
    const mk_listener *l = region_of(m, region);
    int port = l ? atomic_load(&l->port) : 0;
    if (port == 0)
        return MOCKAPI_ENOTFOUND;
    int n = snprintf(buf, len, "%s:%d", l->host, port);
    return (n < 0 || (size_t)n >= len) ? MOCKAPI_EINVAL : n;
}

int mockapi_region_url(const mockapi *m, int region, char *buf, size_t len)
{
    const mk_listener *l = region_of(m, region);
    int port = l ? atomic_load(&l->port) : 0;
    if (port == 0)
        return MOCKAPI_ENOTFOUND;
    int n = snprintf(buf, len, "http://%s:%d", l->wildcard ? "127.0.0.1" : l->host, port);
    return (n < 0 || (size_t)n >= len) ? MOCKAPI_EINVAL : n;
}

int mockapi_region_is_up(const mockapi *m, int region)
{
    const mk_listener *l = region_of(m, region);
    if (!l)
        return MOCKAPI_ENOTFOUND;
    /* before start and after stop nothing accepts: 0, not the last state */
    return m->region_ctl && !atomic_load(&l->down);
}

static int region_set(mockapi *m, int region, bool up, char *errbuf, size_t errlen)
{
    if (!m) {
        mk_api_set_err(errbuf, errlen, "NULL instance");
        return MOCKAPI_EINVAL;
    }
    if (!region_of(m, region)) {
        if (!m->regions_on)
            mk_api_set_err(errbuf, errlen, "regions are off (set regions or region_addrs in the config)");
        else
            mk_api_set_err(errbuf, errlen, "no region %d: the regions are 0 to %d", region, m->nregions - 1);
        return MOCKAPI_ENOTFOUND;
    }
    if (!m->region_ctl) {
        mk_api_set_err(errbuf, errlen, "not started");
        return MOCKAPI_ESTATE;
    }
    char err[256] = "";
    int rc = m->region_ctl(m, region, up, err, sizeof err);
    if (rc != MOCKAPI_OK)
        mk_api_set_err(errbuf, errlen, "%s", err);
    return rc;
}

int mockapi_region_down(mockapi *m, int region, char *errbuf, size_t errlen)
{
    return region_set(m, region, false, errbuf, errlen);
}

int mockapi_region_up(mockapi *m, int region, char *errbuf, size_t errlen)
{
    return region_set(m, region, true, errbuf, errlen);
}

const char *mockapi_counter_name(mockapi_counter c)
{
    return ((int)c >= 0 && c < MOCKAPI_COUNTER_COUNT) ? mockapi_counter_names[c] : NULL;
}

int mockapi_counter_by_name(const char *name)
{
    if (name)
        for (int i = 0; i < MOCKAPI_COUNTER_COUNT; i++)
            if (strcmp(mockapi_counter_names[i], name) == 0)
                return i;
    return MOCKAPI_ENOTFOUND;
}

const char *mockapi_nsk(const mockapi *m)
{
    (void)m;
    return MK_NSK;
}

const char *mockapi_bearer_token(const mockapi *m)
{
    (void)m;
    return MK_BEARER_TOKEN;
}

const char *mockapi_signing_public_key(const mockapi *m)
{
    return m ? m->keys.pk_b64 : NULL;
}

void mockapi_free_buf(void *p)
{
    free(p);
}
