/* certs.c: the CA (throwaway, or kept in a folder) and the server
 * certificate with mbedTLS 2.28 or 3.6; see certs.h. mbedTLS 2.28 has no setter for subjectAltName or
 * extendedKeyUsage, so those extensions are written as raw DER (on 3.6 too,
 * so both write the same certificates). */
#include "certs.h"

#include <mbedtls/version.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crt.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#include <psa/crypto.h>
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mockapi.h"

/* The leaf's subjectAltNames before any extra: the reference's two DNS
 * names, then the loopback IP literals. */
static const char *const default_names[] = {"mock-api", "localhost", "127.0.0.1", "::1"};
/* SEQUENCE { id-kp-serverAuth } */
static const unsigned char eku_server_der[] = {0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01,
                                               0x05, 0x05, 0x07, 0x03, 0x01};

/* The CA's name, ours or the folder's (whatever its subject says). */
static const char throwaway_ca_name[] = "CN=mockapi throwaway CA,O=plexd-e2e-mock";

enum {
    LEAF_SECONDS = 24 * 3600,             /* a leaf: now-1h .. now+24h, as the reference */
    CA_DIR_DAYS = 3650,                   /* a CA kept in a folder: ten years */
    PEM_CAP = 16384,                      /* a leaf with 16 long SANs fits */
    FILE_CAP = 65536,                     /* ca.pem, ca-key.pem: larger is refused */
};

typedef struct gen {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
} gen;

/* A message into a caller's buffer, cut to fit (paths make its length
 * unknowable) */
__attribute__((format(printf, 3, 4))) static void say(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

static int new_key(gen *g, mbedtls_pk_context *k)
{
    mbedtls_pk_init(k);
    if (mbedtls_pk_setup(k, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0)
        return -1;
    return mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*k), mbedtls_ctr_drbg_random,
                               &g->drbg);
}

/* A second key on the same curve, computed with the group of `like`: on
 * mbedTLS 2.28 the group caches its precomputed multiples of the generator,
 * which a fresh group would compute again (a large part of the cost of a
 * key). mbedTLS 3 ships that table as static data and makes the group a
 * private field, so there a fresh key is as cheap. `like` must be a P-256
 * EC key (a folder's CA key may be anything: the caller checks). */
static int new_key_like(gen *g, mbedtls_pk_context *k, mbedtls_pk_context *like)
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    (void)like;
    return new_key(g, k);
#else
    mbedtls_pk_init(k);
    if (mbedtls_pk_setup(k, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0)
        return -1;
    mbedtls_ecp_keypair *kp = mbedtls_pk_ec(*k);
    int rc = mbedtls_ecp_group_load(&kp->grp, MBEDTLS_ECP_DP_SECP256R1);
    if (rc == 0)
        rc = mbedtls_ecp_gen_keypair(&mbedtls_pk_ec(*like)->grp, &kp->d, &kp->Q,
                                     mbedtls_ctr_drbg_random, &g->drbg);
    return rc;
#endif
}

/* Whether new_key_like may borrow k's group (on mbedTLS 3 it borrows
 * nothing, so any key will do). */
static bool is_p256(mbedtls_pk_context *k)
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    (void)k;
    return true;
#else
    return mbedtls_pk_get_type(k) == MBEDTLS_PK_ECKEY && mbedtls_pk_ec(*k)->grp.id == MBEDTLS_ECP_DP_SECP256R1;
#endif
}

static void x509_time(time_t t, char out[16])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y%m%d%H%M%S", &tm);
}

/* "2036-12-06 21:15:40 UTC", for messages */
static void shown_time(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static time_t from_x509(const mbedtls_x509_time *x)
{
    struct tm tm = {.tm_year = x->year - 1900, .tm_mon = x->mon - 1, .tm_mday = x->day,
                    .tm_hour = x->hour, .tm_min = x->min, .tm_sec = x->sec};
    return timegm(&tm);
}

typedef struct cert_spec {
    const char *subject, *issuer;
    int is_ca;
    time_t not_before, not_after;
    const unsigned char *san; /* DER, leaf only */
    size_t san_len;
} cert_spec;

/* Writes one certificate as PEM into out (cap bytes). */
static int make_cert(gen *g, mbedtls_pk_context *subject_key, mbedtls_pk_context *issuer_key,
                     const cert_spec *s, char *out, size_t cap)
{
    mbedtls_x509write_cert c;
    mbedtls_x509write_crt_init(&c);
    unsigned char sb[16];
    char nb[16], na[16];
    int rc = mbedtls_ctr_drbg_random(&g->drbg, sb, sizeof sb);
    sb[0] &= 0x7f; /* a positive serial of up to 127 bits */
#if MBEDTLS_VERSION_NUMBER < 0x03000000
    mbedtls_mpi serial;
    mbedtls_mpi_init(&serial);
    if (rc == 0)
        rc = mbedtls_mpi_read_binary(&serial, sb, sizeof sb);
#endif
    x509_time(s->not_before, nb);
    x509_time(s->not_after, na);
    mbedtls_x509write_crt_set_version(&c, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&c, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&c, subject_key);
    mbedtls_x509write_crt_set_issuer_key(&c, issuer_key);
    if (rc == 0) rc = mbedtls_x509write_crt_set_subject_name(&c, s->subject);
    if (rc == 0) rc = mbedtls_x509write_crt_set_issuer_name(&c, s->issuer);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    /* set_serial (an mpi) is deprecated in 3.x. set_serial_raw writes the
     * bytes as given (plus a 0x00 if the first has its top bit set), so drop
     * the leading zero bytes an mpi would not write: the same DER INTEGER. */
    size_t skip = 0;
    while (skip + 1 < sizeof sb && sb[skip] == 0)
        skip++;
    if (rc == 0) rc = mbedtls_x509write_crt_set_serial_raw(&c, sb + skip, sizeof sb - skip);
#else
    if (rc == 0) rc = mbedtls_x509write_crt_set_serial(&c, &serial);
#endif
    if (rc == 0) rc = mbedtls_x509write_crt_set_validity(&c, nb, na);
    if (rc == 0) rc = mbedtls_x509write_crt_set_basic_constraints(&c, s->is_ca, s->is_ca ? 0 : -1);
    if (rc == 0) rc = mbedtls_x509write_crt_set_subject_key_identifier(&c);
    if (rc == 0) rc = mbedtls_x509write_crt_set_authority_key_identifier(&c);
    if (s->is_ca) {
        if (rc == 0)
            rc = mbedtls_x509write_crt_set_key_usage(&c, MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN);
    } else {
        if (rc == 0)
            rc = mbedtls_x509write_crt_set_key_usage(&c, MBEDTLS_X509_KU_DIGITAL_SIGNATURE | MBEDTLS_X509_KU_KEY_ENCIPHERMENT);
        if (rc == 0)
            rc = mbedtls_x509write_crt_set_extension(&c, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                                     MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0,
                                                     s->san, s->san_len);
        if (rc == 0)
            rc = mbedtls_x509write_crt_set_extension(&c, MBEDTLS_OID_EXTENDED_KEY_USAGE,
                                                     MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0,
                                                     eku_server_der, sizeof eku_server_der);
    }
    if (rc == 0)
        rc = mbedtls_x509write_crt_pem(&c, (unsigned char *)out, cap, mbedtls_ctr_drbg_random, &g->drbg);
#if MBEDTLS_VERSION_NUMBER < 0x03000000
    mbedtls_mpi_free(&serial);
#endif
    mbedtls_x509write_crt_free(&c);
    return rc;
}

/* ---- subjectAltNames ------------------------------------------------------ */

static bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Parses an IP literal (the n bytes at s; IPv6 may be in brackets) into
 * ip; returns its length (4 or 16), 0 when s is no IP literal, or -1 when
 * it is bracketed but not IPv6 (why says so). */
static int parse_ip(const char *s, size_t n, unsigned char ip[16], char *why, size_t whylen)
{
    char b[64];
    bool bracketed = n >= 2 && s[0] == '[' && s[n - 1] == ']';
    if (bracketed) {
        s++;
        n -= 2;
    }
    if (n >= sizeof b) {
        if (bracketed)
            say(why, whylen, "not an IPv6 address inside [ ]");
        return bracketed ? -1 : 0;
    }
    memcpy(b, s, n);
    b[n] = '\0';
    if (!bracketed && inet_pton(AF_INET, b, ip) == 1)
        return 4;
    if (inet_pton(AF_INET6, b, ip) == 1)
        return 16;
    if (bracketed) {
        say(why, whylen, "not an IPv6 address inside [ ]");
        return -1;
    }
    return 0;
}

int mk_tls_san_check(const char *s, size_t n, char *why, size_t whylen)
{
    unsigned char ip[16];
    int iplen = parse_ip(s, n, ip, why, whylen);
    if (iplen != 0)
        return iplen > 0 ? 0 : -1;
    if (n == 0) {
        say(why, whylen, "empty; give a DNS name or an IP address");
        return -1;
    }
    if (n > 253) {
        say(why, whylen, "%zu bytes; a DNS name has at most 253", n);
        return -1;
    }
    if (memchr(s, ':', n)) {
        say(why, whylen, "has ':' but is not an IPv6 address (give a DNS name or an IP address, no port)");
        return -1;
    }
    size_t i = 0, label = 0;
    bool all_digits = true; /* of the last label */
    while (i <= n) {
        size_t l = 0;
        all_digits = true;
        while (i + l < n && s[i + l] != '.') {
            unsigned char c = (unsigned char)s[i + l];
            if (!is_alnum(c) && c != '-' && c != '*') {
                if (c > 0x20 && c < 0x7f)
                    say(why, whylen, "'%c' is not allowed in a DNS name (letters, digits, '-' and '.') "
                                          "and it is not an IP address", c);
                else
                    say(why, whylen, "byte 0x%02x is not allowed in a DNS name (letters, digits, '-' and '.') "
                                          "and it is not an IP address", c);
                return -1;
            }
            if (c < '0' || c > '9')
                all_digits = false;
            l++;
        }
        if (l == 0) {
            say(why, whylen, "has an empty label (a dot at an end, or two in a row)");
            return -1;
        }
        if (l > 63) {
            say(why, whylen, "has a label of %zu bytes; at most 63", l);
            return -1;
        }
        if (s[i] == '-' || s[i + l - 1] == '-') {
            say(why, whylen, "has a label that starts or ends with '-'");
            return -1;
        }
        if (memchr(s + i, '*', l) && (label != 0 || l != 1 || i + l >= n)) {
            say(why, whylen, "'*' only as the whole leftmost label of a longer name (*.example.test)");
            return -1;
        }
        label++;
        i += l + 1;
    }
    if (all_digits) {
        say(why, whylen, "ends in a number, as an IPv4 address, but is not one");
        return -1;
    }
    return 0;
}

static size_t der_len_size(size_t n)
{
    return n < 0x80 ? 1 : n < 0x100 ? 2 : 3;
}

static unsigned char *der_put_len(unsigned char *p, size_t n)
{
    if (n >= 0x100) {
        *p++ = 0x82;
        *p++ = (unsigned char)(n >> 8);
    } else if (n >= 0x80) {
        *p++ = 0x81;
    }
    *p++ = (unsigned char)n;
    return p;
}

typedef struct san_name {
    unsigned char tag; /* 0x82 dNSName, 0x87 iPAddress */
    const unsigned char *v;
    size_t n;
    unsigned char ip[16];
} san_name;

static bool san_same(const san_name *a, const san_name *b)
{
    return a->tag == b->tag && a->n == b->n &&
           (a->tag == 0x87 ? memcmp(a->v, b->v, a->n) == 0 : strncasecmp((const char *)a->v, (const char *)b->v, a->n) == 0);
}

/* The subjectAltName extension's value: the default names, then those of
 * sans (',' separated; NULL: none) that are not among them. */
static int san_build(const char *sans, unsigned char **out, size_t *outlen, char *err, size_t errlen)
{
    enum { NDEF = sizeof default_names / sizeof default_names[0] };
    san_name names[NDEF + MK_TLS_MAX_SANS];
    size_t count = 0, extra = 0;
    for (size_t i = 0; i < NDEF + 1; i++) {
        const char *list = i < NDEF ? default_names[i] : sans;
        for (const char *p = list; p;) {
            size_t n = i < NDEF ? strlen(p) : strcspn(p, ",");
            char why[200];
            if (mk_tls_san_check(p, n, why, sizeof why) != 0) {
                say(err, errlen, "tls_sans \"%.*s\": %s", (int)(n > 260 ? 260 : n), p, why);
                return MOCKAPI_EINVAL;
            }
            if (i == NDEF && ++extra > MK_TLS_MAX_SANS) {
                say(err, errlen, "tls_sans: more than %d names", MK_TLS_MAX_SANS);
                return MOCKAPI_EINVAL;
            }
            san_name *e = &names[count];
            int iplen = parse_ip(p, n, e->ip, why, sizeof why);
            *e = (san_name){.tag = iplen > 0 ? 0x87 : 0x82, .v = (const unsigned char *)p, .n = n};
            if (iplen > 0) {
                parse_ip(p, n, e->ip, why, sizeof why);
                e->v = e->ip;
                e->n = (size_t)iplen;
            }
            bool dup = false;
            for (size_t k = 0; k < count && !dup; k++)
                dup = san_same(&names[k], e);
            if (!dup)
                count++;
            if (i < NDEF || p[n] != ',')
                break;
            p += n + 1;
        }
    }
    size_t body = 0;
    for (size_t i = 0; i < count; i++)
        body += 1 + der_len_size(names[i].n) + names[i].n;
    size_t total = 1 + der_len_size(body) + body;
    unsigned char *der = malloc(total), *w = der;
    if (!der) {
        say(err, errlen, "out of memory");
        return MOCKAPI_ENOMEM;
    }
    *w++ = 0x30;
    w = der_put_len(w, body);
    for (size_t i = 0; i < count; i++) {
        *w++ = names[i].tag;
        w = der_put_len(w, names[i].n);
        memcpy(w, names[i].v, names[i].n);
        w += names[i].n;
    }
    *out = der;
    *outlen = total;
    return MOCKAPI_OK;
}

/* ---- the job ---------------------------------------------------------------- */

static void mk_tls_dispose(mk_tls *t);

struct mk_tls_job {
    pthread_mutex_t lock; /* held while the certificates are made */
    bool done;
    int rc;
    char err[512];
    mk_tls tls;
    /* what mk_tls_job_configure set; read under lock by mk_tls_make */
    unsigned char *san; /* NULL: the defaults */
    size_t san_len;
    bool have_ca;       /* a folder's CA: the fields below */
    mbedtls_pk_context ca_key;
    char *ca_pem;       /* its certificate, PEM */
    char ca_name[512];  /* its subject, the leaf's issuer */
    time_t ca_end;      /* its notAfter: no leaf outlives it */
    char ca_path[4200]; /* DIR/ca.pem, for messages */
};

static int seed(gen *g)
{
    mbedtls_entropy_init(&g->entropy);
    mbedtls_ctr_drbg_init(&g->drbg);
    if (mk_tls_crypto_init() != 0)
        return -1;
    return mbedtls_ctr_drbg_seed(&g->drbg, mbedtls_entropy_func, &g->entropy,
                                 (const unsigned char *)"mockapi-tls", 11);
}

static void unseed(gen *g)
{
    mbedtls_ctr_drbg_free(&g->drbg);
    mbedtls_entropy_free(&g->entropy);
}

/* The leaf checked against the folder's CA, as a client will: an issuer
 * name the round trip through text changed, or a CA that cannot sign,
 * shows here rather than in every client. */
static int verify_leaf(const char *leaf_pem, const char *ca_pem, char *why, size_t whylen)
{
    mbedtls_x509_crt leaf, ca;
    mbedtls_x509_crt_init(&leaf);
    mbedtls_x509_crt_init(&ca);
    uint32_t flags = 0;
    int rc = mbedtls_x509_crt_parse(&leaf, (const unsigned char *)leaf_pem, strlen(leaf_pem) + 1);
    if (rc == 0)
        rc = mbedtls_x509_crt_parse(&ca, (const unsigned char *)ca_pem, strlen(ca_pem) + 1);
    if (rc == 0)
        rc = mbedtls_x509_crt_verify(&leaf, &ca, NULL, NULL, &flags, NULL, NULL);
    if (rc != 0) {
        char info[256] = "";
        if (flags)
            mbedtls_x509_crt_verify_info(info, sizeof info, "", flags);
        size_t l = strlen(info);
        while (l && (info[l - 1] == '\n' || info[l - 1] == ' '))
            info[--l] = '\0';
        for (char *c = info; *c; c++)
            if (*c == '\n')
                *c = ';';
        say(why, whylen, "%s", flags ? info : "cannot parse");
    }
    mbedtls_x509_crt_free(&leaf);
    mbedtls_x509_crt_free(&ca);
    return rc;
}

/* Makes the leaf (and the CA, without a folder's). Returns a MOCKAPI_E*
 * code (reason in err). */
static int mk_tls_make(mk_tls_job *j, mk_tls *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    gen g;
    mbedtls_pk_context own_ca, leaf_key;
    mbedtls_pk_init(&own_ca);
    mbedtls_pk_init(&leaf_key);
    mbedtls_pk_context *ca_key = j->have_ca ? &j->ca_key : &own_ca;
    char *ca = calloc(1, PEM_CAP), *leaf = calloc(1, PEM_CAP), *key = calloc(1, PEM_CAP);
    unsigned char *san = j->san;
    size_t san_len = j->san_len;
    int rc = (!ca || !leaf || !key) ? -1 : 0;
    const char *step = "memory";
    char why[300] = "";
    time_t now = time(NULL);
    if (rc == 0 && !san && san_build(NULL, &san, &san_len, why, sizeof why) != MOCKAPI_OK)
        rc = -1;
    if (rc == 0) {
        step = "random seed";
        rc = seed(&g);
    } else {
        mbedtls_entropy_init(&g.entropy);
        mbedtls_ctr_drbg_init(&g.drbg);
    }
    if (!j->have_ca) {
        if (rc == 0) { step = "CA key"; rc = new_key(&g, &own_ca); }
        if (rc == 0) {
            step = "CA certificate";
            cert_spec cs = {.subject = throwaway_ca_name, .issuer = throwaway_ca_name, .is_ca = 1,
                            .not_before = now - 3600, .not_after = now + LEAF_SECONDS};
            rc = make_cert(&g, &own_ca, &own_ca, &cs, ca, PEM_CAP);
        }
    } else if (rc == 0) {
        snprintf(ca, PEM_CAP, "%s", j->ca_pem);
    }
    if (rc == 0) {
        step = "server key";
        rc = is_p256(ca_key) ? new_key_like(&g, &leaf_key, ca_key) : new_key(&g, &leaf_key);
    }
    if (rc == 0) {
        step = "server certificate";
        time_t end = now + LEAF_SECONDS;
        cert_spec ls = {.subject = "O=plexd-e2e-mock", .issuer = j->have_ca ? j->ca_name : throwaway_ca_name,
                        .not_before = now - 3600, .not_after = j->have_ca && j->ca_end < end ? j->ca_end : end,
                        .san = san, .san_len = san_len};
        rc = make_cert(&g, &leaf_key, ca_key, &ls, leaf, PEM_CAP);
    }
    if (rc == 0) {
        step = "server key PEM";
        rc = mbedtls_pk_write_key_pem(&leaf_key, (unsigned char *)key, PEM_CAP);
    }
    if (rc == 0 && j->have_ca && verify_leaf(leaf, ca, why, sizeof why) != 0) {
        say(err, errlen, "the server certificate signed with the CA of %s does not verify against it: %s",
                 j->ca_path, why);
        rc = 1;
    }
    if (rc == 0) {
        size_t n = strlen(key) + strlen(leaf) + strlen(ca) + 1;
        t->chain_pem = malloc(n);
        t->ca_pem = strdup(ca);
        if (!t->chain_pem || !t->ca_pem) {
            step = "memory";
            rc = -1;
        } else {
            snprintf(t->chain_pem, n, "%s%s%s", key, leaf, ca);
        }
    }
    if (key)
        mbedtls_platform_zeroize(key, PEM_CAP);
    free(ca);
    free(leaf);
    free(key);
    if (san != j->san)
        free(san);
    mbedtls_pk_free(&own_ca);
    mbedtls_pk_free(&leaf_key);
    unseed(&g);
    if (rc != 0) {
        mk_tls_dispose(t);
        if (rc != 1)
            say(err, errlen, "TLS %s generation failed (mbedTLS -0x%04x)", step, (unsigned)-rc);
        return MOCKAPI_ECRYPTO;
    }
    return MOCKAPI_OK;
}

/* ---- the CA folder -------------------------------------------------------------- */

/* mkdir -p, each folder made 0700 */
static int make_dirs(const char *dir, char *err, size_t errlen)
{
    char p[4096], eb[128];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) {
        say(err, errlen, "CA folder %s: path too long", dir);
        return MOCKAPI_EINVAL;
    }
    for (char *c = p + 1;; c++) {
        if (*c != '/' && *c != '\0')
            continue;
        char was = *c;
        *c = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            int e = errno;
            if (strcmp(p, dir) == 0)
                say(err, errlen, "CA folder %s: cannot make it: %s", dir, strerror_r(e, eb, sizeof eb));
            else
                say(err, errlen, "CA folder %s: cannot make %s: %s", dir, p, strerror_r(e, eb, sizeof eb));
            return e == ENOTDIR || e == EACCES || e == EROFS ? MOCKAPI_EINVAL : MOCKAPI_EIO;
        }
        *c = was;
        if (was == '\0')
            return MOCKAPI_OK;
    }
}

/* Reads fd whole (at most FILE_CAP bytes) into a NUL-terminated buffer. */
static int read_all(int fd, const char *path, char **out, size_t *len, char *err, size_t errlen)
{
    char *b = malloc(FILE_CAP + 1), eb[128];
    size_t got = 0;
    if (!b) {
        say(err, errlen, "out of memory");
        return MOCKAPI_ENOMEM;
    }
    for (;;) {
        ssize_t r = read(fd, b + got, FILE_CAP + 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            say(err, errlen, "%s: cannot read: %s", path, strerror_r(errno, eb, sizeof eb));
            free(b);
            return MOCKAPI_EIO;
        }
        if (r == 0)
            break;
        got += (size_t)r;
        if (got > FILE_CAP) {
            say(err, errlen, "%s: larger than %d bytes: not a PEM file", path, FILE_CAP);
            free(b);
            return MOCKAPI_EINVAL;
        }
    }
    b[got] = '\0';
    *out = b;
    *len = got;
    return MOCKAPI_OK;
}

/* Writes data to dir/.name.tmp (mode), flushed to disk, then renames it to
 * dir/name: a reader never sees half a file. */
static int write_file(const char *dir, const char *name, const char *data, mode_t mode, char *err, size_t errlen)
{
    char tmp[4200], dst[4200], eb[128];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    unlink(tmp); /* a leftover of a start that died here (we hold the lock) */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        say(err, errlen, "%s: cannot write: %s", dst, strerror_r(errno, eb, sizeof eb));
        return MOCKAPI_EIO;
    }
    size_t n = strlen(data), put = 0;
    int e = 0;
    while (put < n) {
        ssize_t w = write(fd, data + put, n - put);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            e = w < 0 ? errno : EIO;
            break;
        }
        put += (size_t)w;
    }
    if (!e && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (!e && rename(tmp, dst) != 0)
        e = errno;
    if (e) {
        unlink(tmp);
        say(err, errlen, "%s: cannot write: %s", dst, strerror_r(e, eb, sizeof eb));
        return MOCKAPI_EIO;
    }
    return MOCKAPI_OK;
}

/* A new CA in the folder: key first (0600), then the certificate, so a
 * ca.pem never names a key that is not there. */
static int ca_make(mk_tls_job *j, gen *g, const char *dir, char *err, size_t errlen)
{
    char *ca = calloc(1, PEM_CAP), *key = calloc(1, PEM_CAP);
    time_t now = time(NULL);
    cert_spec cs = {.subject = throwaway_ca_name, .issuer = throwaway_ca_name, .is_ca = 1,
                    .not_before = now - 3600, .not_after = now + (time_t)CA_DIR_DAYS * 24 * 3600};
    int rc = !ca || !key ? -1 : new_key(g, &j->ca_key);
    if (rc == 0)
        rc = make_cert(g, &j->ca_key, &j->ca_key, &cs, ca, PEM_CAP);
    if (rc == 0)
        rc = mbedtls_pk_write_key_pem(&j->ca_key, (unsigned char *)key, PEM_CAP);
    if (rc != 0) {
        say(err, errlen, "CA folder %s: making the CA failed (mbedTLS -0x%04x)", dir, (unsigned)-rc);
        rc = MOCKAPI_ECRYPTO;
    } else if ((rc = write_file(dir, "ca-key.pem", key, 0600, err, errlen)) == MOCKAPI_OK) {
        rc = write_file(dir, "ca.pem", ca, 0644, err, errlen);
        if (rc != MOCKAPI_OK) {
            char kp[4200];
            snprintf(kp, sizeof kp, "%s/ca-key.pem", dir);
            unlink(kp); /* ours, made a moment ago under the lock */
        }
    }
    if (rc == MOCKAPI_OK) {
        j->ca_pem = strdup(ca);
        snprintf(j->ca_name, sizeof j->ca_name, "%s", throwaway_ca_name);
        j->ca_end = cs.not_after;
        if (!j->ca_pem) {
            say(err, errlen, "out of memory");
            rc = MOCKAPI_ENOMEM;
        }
    }
    if (key)
        mbedtls_platform_zeroize(key, PEM_CAP);
    free(key);
    free(ca);
    return rc;
}

/* The folder's CA read and checked: ca.pem (a CA certificate, valid now)
 * and ca-key.pem (its key, for the owner's eyes only). */
static int ca_load(mk_tls_job *j, gen *g, const char *dir, int cfd, int kfd, char *err, size_t errlen)
{
    char cp[4200], kp[4200], eb[128];
    snprintf(cp, sizeof cp, "%s/ca.pem", dir);
    snprintf(kp, sizeof kp, "%s/ca-key.pem", dir);
    struct stat st;
    if (fstat(kfd, &st) != 0 || !S_ISREG(st.st_mode)) {
        say(err, errlen, "%s: not a regular file", kp);
        return MOCKAPI_EINVAL;
    }
    if (st.st_mode & 077) {
        say(err, errlen, "%s: permissions %04o are too open: a CA key must not be accessible by group or "
                              "others (chmod 600 %s)", kp, (unsigned)(st.st_mode & 07777), kp);
        return MOCKAPI_EINVAL;
    }
    if (fstat(cfd, &st) != 0 || !S_ISREG(st.st_mode)) {
        say(err, errlen, "%s: not a regular file", cp);
        return MOCKAPI_EINVAL;
    }
    char *cbuf = NULL, *kbuf = NULL;
    size_t clen = 0, klen = 0;
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    int rc = read_all(cfd, cp, &cbuf, &clen, err, errlen);
    if (rc == MOCKAPI_OK)
        rc = read_all(kfd, kp, &kbuf, &klen, err, errlen);
    if (rc != MOCKAPI_OK)
        goto out;
    int mrc = mbedtls_x509_crt_parse(&crt, (const unsigned char *)cbuf, clen + 1);
    if (mrc != 0 || !strstr(cbuf, "-----BEGIN CERTIFICATE-----")) {
        say(err, errlen, "%s: not a PEM certificate%s", cp, mrc > 0 ? " (or not only certificates)" : "");
        rc = MOCKAPI_EINVAL;
        goto out;
    }
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    int is_ca = mbedtls_x509_crt_get_ca_istrue(&crt) == 1;
#else
    int is_ca = crt.ca_istrue;
#endif
    if (!is_ca) {
        say(err, errlen, "%s: not a CA certificate (its basicConstraints do not say CA:TRUE)", cp);
        rc = MOCKAPI_EINVAL;
        goto out;
    }
    char when[32];
    time_t from = from_x509(&crt.valid_from), to = from_x509(&crt.valid_to), now = time(NULL);
    if (from > now) {
        shown_time(from, when);
        say(err, errlen, "%s: not valid before %s (is the clock right?)", cp, when);
        rc = MOCKAPI_EINVAL;
        goto out;
    }
    if (to <= now) {
        shown_time(to, when);
        say(err, errlen, "%s: the CA expired on %s: remove %s and %s to make a new one (clients then "
                              "need the new ca.pem)", cp, when, cp, kp);
        rc = MOCKAPI_EINVAL;
        goto out;
    }
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    mrc = mbedtls_pk_parse_key(&j->ca_key, (const unsigned char *)kbuf, klen + 1, NULL, 0,
                               mbedtls_ctr_drbg_random, &g->drbg);
#else
    (void)g;
    mrc = mbedtls_pk_parse_key(&j->ca_key, (const unsigned char *)kbuf, klen + 1, NULL, 0);
#endif
    if (mrc != 0) {
        say(err, errlen, "%s: not a PEM private key without a passphrase (mbedTLS -0x%04x)", kp,
                 (unsigned)-mrc);
        rc = MOCKAPI_EINVAL;
        goto out;
    }
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    mrc = mbedtls_pk_check_pair(&crt.pk, &j->ca_key, mbedtls_ctr_drbg_random, &g->drbg);
#else
    mrc = mbedtls_pk_check_pair(&crt.pk, &j->ca_key);
#endif
    if (mrc != 0) {
        say(err, errlen, "%s does not match %s: it is another certificate's key (put the CA's own key "
                              "there, or remove both files to make a new CA)", kp, cp);
        rc = MOCKAPI_EINVAL;
        goto out;
    }
    /* the subject as text, for the leaf's issuer: ", " between parts
     * becomes "," (mbedTLS reads a name back without the spaces) */
    char name[sizeof j->ca_name];
    if (mbedtls_x509_dn_gets(name, sizeof name, &crt.subject) < 0) {
        say(err, errlen, "%s: the CA's subject name is too long", cp);
        rc = MOCKAPI_EINVAL;
        goto out;
    }
    size_t w = 0;
    for (size_t r = 0; name[r]; r++) {
        j->ca_name[w++] = name[r];
        if (name[r] == ',' && name[r + 1] == ' ')
            r++;
    }
    j->ca_name[w] = '\0';
    /* served as one certificate, PEM as mbedTLS writes it: the file may
     * hold more (a chain, comments) */
    size_t olen = 0;
    unsigned char *pem = malloc(PEM_CAP);
    mrc = pem ? mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n", crt.raw.p,
                                         crt.raw.len, pem, PEM_CAP, &olen)
              : -1;
    if (mrc != 0) {
        free(pem);
        say(err, errlen, "%s: cannot re-encode the certificate (too large?)", cp);
        rc = MOCKAPI_EINVAL;
        goto out;
    }
    j->ca_pem = (char *)pem;
    j->ca_end = to;
    (void)eb;
out:
    if (kbuf) {
        mbedtls_platform_zeroize(kbuf, klen);
        free(kbuf);
    }
    free(cbuf);
    mbedtls_x509_crt_free(&crt);
    return rc;
}

/* Under the folder's lock: read the CA, or make it when neither file is
 * there. */
static int ca_load_or_make(mk_tls_job *j, gen *g, const char *dir, char *err, size_t errlen)
{
    char cp[4200], kp[4200], eb[128];
    snprintf(cp, sizeof cp, "%s/ca.pem", dir);
    snprintf(kp, sizeof kp, "%s/ca-key.pem", dir);
    int cfd = open(cp, O_RDONLY | O_CLOEXEC), ce = errno;
    int kfd = open(kp, O_RDONLY | O_CLOEXEC), ke = errno;
    int rc;
    if (cfd < 0 && ce == ENOENT && kfd < 0 && ke == ENOENT) {
        rc = ca_make(j, g, dir, err, errlen);
    } else if (cfd >= 0 && kfd < 0 && ke == ENOENT) {
        say(err, errlen, "CA folder %s: ca.pem is there but its key ca-key.pem is not: put the CA's key in "
                              "%s, or remove %s to make a new CA", dir, kp, cp);
        rc = MOCKAPI_EINVAL;
    } else if (kfd >= 0 && cfd < 0 && ce == ENOENT) {
        say(err, errlen, "CA folder %s: ca-key.pem is there but ca.pem is not: put the CA's certificate in "
                              "%s, or remove %s to make a new CA", dir, cp, kp);
        rc = MOCKAPI_EINVAL;
    } else if (cfd < 0 || kfd < 0) {
        say(err, errlen, "%s: cannot open: %s", cfd < 0 ? cp : kp, strerror_r(cfd < 0 ? ce : ke, eb, sizeof eb));
        rc = MOCKAPI_EIO;
    } else {
        rc = ca_load(j, g, dir, cfd, kfd, err, errlen);
    }
    if (cfd >= 0)
        close(cfd);
    if (kfd >= 0)
        close(kfd);
    return rc;
}

static int ca_dir_open(mk_tls_job *j, const char *dir, char *err, size_t errlen)
{
    char eb[128], lp[4200];
    struct stat st;
    if (!*dir) {
        say(err, errlen, "CA folder: empty path");
        return MOCKAPI_EINVAL;
    }
    if (strlen(dir) > 4000) {
        say(err, errlen, "CA folder %.40s...: path too long", dir);
        return MOCKAPI_EINVAL;
    }
    if (stat(dir, &st) != 0) {
        if (errno == ENOTDIR) {
            say(err, errlen, "CA folder %s: a part of the path is a file, not a folder", dir);
            return MOCKAPI_EINVAL;
        }
        if (errno != ENOENT) {
            say(err, errlen, "CA folder %s: %s", dir, strerror_r(errno, eb, sizeof eb));
            return MOCKAPI_EINVAL;
        }
        int rc = make_dirs(dir, err, errlen);
        if (rc != MOCKAPI_OK)
            return rc;
        if (stat(dir, &st) != 0) {
            say(err, errlen, "CA folder %s: %s", dir, strerror_r(errno, eb, sizeof eb));
            return MOCKAPI_EIO;
        }
    }
    if (!S_ISDIR(st.st_mode)) {
        say(err, errlen, "CA folder %s: not a folder (a file of that name is there)", dir);
        return MOCKAPI_EINVAL;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        say(err, errlen, "CA folder %s: not writable: %s", dir, strerror_r(errno, eb, sizeof eb));
        return MOCKAPI_EINVAL;
    }
    snprintf(lp, sizeof lp, "%s/.lock", dir);
    snprintf(j->ca_path, sizeof j->ca_path, "%s/ca.pem", dir);
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        say(err, errlen, "CA folder %s: cannot open the lock file %s: %s", dir, lp, strerror_r(errno, eb, sizeof eb));
        return MOCKAPI_EIO;
    }
    /* Held only while the CA is read or made (milliseconds); it goes with
     * the descriptor, so a start killed meanwhile does not keep it. */
    int lr;
    while ((lr = flock(fd, LOCK_EX)) != 0 && errno == EINTR)
        ;
    if (lr != 0) {
        say(err, errlen, "CA folder %s: cannot lock %s: %s", dir, lp, strerror_r(errno, eb, sizeof eb));
        close(fd);
        return MOCKAPI_EIO;
    }
    gen g;
    int rc;
    if (seed(&g) != 0) {
        say(err, errlen, "CA folder %s: the random generator could not start", dir);
        rc = MOCKAPI_ECRYPTO;
    } else {
        rc = ca_load_or_make(j, &g, dir, err, errlen);
    }
    unseed(&g);
    close(fd); /* releases the lock */
    if (rc != MOCKAPI_OK) {
        mbedtls_pk_free(&j->ca_key);
        mbedtls_pk_init(&j->ca_key);
        free(j->ca_pem);
        j->ca_pem = NULL;
        return rc;
    }
    j->have_ca = true;
    return MOCKAPI_OK;
}

int mk_tls_job_configure(mk_tls_job *j, const char *ca_dir, const char *sans, char *err, size_t errlen,
                         char *warn, size_t warnlen)
{
    if (warn && warnlen)
        warn[0] = '\0';
    if (sans) {
        int rc = san_build(sans, &j->san, &j->san_len, err, errlen);
        if (rc != MOCKAPI_OK)
            return rc;
    }
    if (!ca_dir)
        return MOCKAPI_OK;
    int rc = ca_dir_open(j, ca_dir, err, errlen);
    if (rc == MOCKAPI_OK && j->ca_end < time(NULL) + LEAF_SECONDS && warn && warnlen) {
        char when[32];
        shown_time(j->ca_end, when);
        say(warn, warnlen, "the CA of %s expires on %s and the server certificate with it; remove "
                                "ca.pem and ca-key.pem from that folder to make a new CA", j->ca_path, when);
    }
    return rc;
}

static void mk_tls_dispose(mk_tls *t)
{
    if (t->chain_pem)
        mbedtls_platform_zeroize(t->chain_pem, strlen(t->chain_pem));
    free(t->chain_pem);
    free(t->ca_pem);
    t->chain_pem = t->ca_pem = NULL;
}


int mk_tls_job_new(mk_tls_job **out)
{
    mk_tls_job *j = calloc(1, sizeof *j);
    if (!j)
        return MOCKAPI_ENOMEM;
    pthread_mutex_init(&j->lock, NULL);
    mbedtls_pk_init(&j->ca_key);
    *out = j;
    return MOCKAPI_OK;
}

const mk_tls *mk_tls_job_get(mk_tls_job *j, char *err, size_t errlen)
{
    pthread_mutex_lock(&j->lock);
    if (!j->done) {
        j->rc = mk_tls_make(j, &j->tls, j->err, sizeof j->err);
        j->done = true;
    }
    pthread_mutex_unlock(&j->lock);
    if (j->rc != MOCKAPI_OK) {
        if (err && errlen)
            say(err, errlen, "%s", j->err);
        return NULL;
    }
    return &j->tls;
}

static void *low_run(void *arg)
{
    /* nice 19 for this thread only (Linux: the nice value is per thread);
     * a thread that exits takes it along */
    setpriority(PRIO_PROCESS, (id_t)gettid(), 19);
    mk_tls_job_get(arg, NULL, 0);
    return NULL;
}

void mk_tls_job_get_low(mk_tls_job *j)
{
    pthread_t t;
    if (pthread_create(&t, NULL, low_run, j) == 0)
        pthread_join(t, NULL);
}

void mk_tls_job_free(mk_tls_job *j)
{
    if (!j)
        return;
    mk_tls_dispose(&j->tls);
    free(j->san);
    mbedtls_pk_free(&j->ca_key);
    free(j->ca_pem);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
static pthread_once_t psa_once = PTHREAD_ONCE_INIT;
static int psa_status = -1; /* written once inside psa_once, read after it */

static void psa_start(void)
{
    psa_status = psa_crypto_init() == PSA_SUCCESS ? 0 : -1;
}

int mk_tls_crypto_init(void)
{
    pthread_once(&psa_once, psa_start);
    return psa_status;
}
#else
int mk_tls_crypto_init(void)
{
    return 0;
}
#endif
