/* certs.c: throwaway CA and server certificate with mbedTLS 2.28 or 3.6;
 * see certs.h. mbedTLS 2.28 has no setter for subjectAltName or
 * extendedKeyUsage, so those extensions are written as raw DER (on 3.6 too,
 * so both write the same certificates). */
#include "certs.h"

#include <mbedtls/version.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crt.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#include <psa/crypto.h>
#endif
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "mockapi.h"

/* SEQUENCE { dNSName "mock-api", dNSName "localhost", iPAddress 127.0.0.1,
 * iPAddress ::1 } */
static const unsigned char san_der[] = {
    0x30, 0x2d,
    0x82, 0x08, 'm', 'o', 'c', 'k', '-', 'a', 'p', 'i',
    0x82, 0x09, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't',
    0x87, 0x04, 127, 0, 0, 1,
    0x87, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
};
/* SEQUENCE { id-kp-serverAuth } */
static const unsigned char eku_server_der[] = {0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01,
                                               0x05, 0x05, 0x07, 0x03, 0x01};

typedef struct gen {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
} gen;

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
 * private field, so there a fresh key is as cheap. */
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

static void validity(char nb[16], char na[16])
{
    time_t now = time(NULL), a = now - 3600, b = now + 24 * 3600;
    struct tm tm;
    gmtime_r(&a, &tm);
    strftime(nb, 16, "%Y%m%d%H%M%S", &tm);
    gmtime_r(&b, &tm);
    strftime(na, 16, "%Y%m%d%H%M%S", &tm);
}

/* Writes one certificate as PEM into out (cap bytes). */
static int make_cert(gen *g, mbedtls_pk_context *subject_key, mbedtls_pk_context *issuer_key,
                     const char *subject, const char *issuer, int is_ca, char *out, size_t cap)
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
    validity(nb, na);
    mbedtls_x509write_crt_set_version(&c, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&c, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&c, subject_key);
    mbedtls_x509write_crt_set_issuer_key(&c, issuer_key);
    if (rc == 0) rc = mbedtls_x509write_crt_set_subject_name(&c, subject);
    if (rc == 0) rc = mbedtls_x509write_crt_set_issuer_name(&c, issuer);
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
    if (rc == 0) rc = mbedtls_x509write_crt_set_basic_constraints(&c, is_ca, is_ca ? 0 : -1);
    if (rc == 0) rc = mbedtls_x509write_crt_set_subject_key_identifier(&c);
    if (rc == 0) rc = mbedtls_x509write_crt_set_authority_key_identifier(&c);
    if (is_ca) {
        if (rc == 0)
            rc = mbedtls_x509write_crt_set_key_usage(&c, MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN);
    } else {
        if (rc == 0)
            rc = mbedtls_x509write_crt_set_key_usage(&c, MBEDTLS_X509_KU_DIGITAL_SIGNATURE | MBEDTLS_X509_KU_KEY_ENCIPHERMENT);
        if (rc == 0)
            rc = mbedtls_x509write_crt_set_extension(&c, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                                     MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0,
                                                     san_der, sizeof san_der);
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

static void mk_tls_dispose(mk_tls *t);

/* Generates a fresh CA and leaf. Returns a MOCKAPI_E* code (reason in err). */
static int mk_tls_make(mk_tls *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    gen g;
    mbedtls_pk_context ca_key, leaf_key;
    mbedtls_entropy_init(&g.entropy);
    mbedtls_ctr_drbg_init(&g.drbg);
    mbedtls_pk_init(&ca_key);
    mbedtls_pk_init(&leaf_key);
    enum { CAP = 4096 };
    char *ca = calloc(1, CAP), *leaf = calloc(1, CAP), *key = calloc(1, CAP);
    int rc = (!ca || !leaf || !key) ? -1 : 0;
    const char *step = "memory";
    if (rc == 0 && mk_tls_crypto_init() != 0) {
        step = "PSA crypto initialisation";
        rc = -1;
    }
    if (rc == 0) {
        step = "random seed";
        rc = mbedtls_ctr_drbg_seed(&g.drbg, mbedtls_entropy_func, &g.entropy,
                                   (const unsigned char *)"mockapi-tls", 11);
    }
    if (rc == 0) { step = "CA key"; rc = new_key(&g, &ca_key); }
    if (rc == 0) { step = "server key"; rc = new_key_like(&g, &leaf_key, &ca_key); }
    if (rc == 0) {
        step = "CA certificate";
        rc = make_cert(&g, &ca_key, &ca_key, "CN=mockapi throwaway CA,O=plexd-e2e-mock",
                       "CN=mockapi throwaway CA,O=plexd-e2e-mock", 1, ca, CAP);
    }
    if (rc == 0) {
        step = "server certificate";
        rc = make_cert(&g, &leaf_key, &ca_key, "O=plexd-e2e-mock",
                       "CN=mockapi throwaway CA,O=plexd-e2e-mock", 0, leaf, CAP);
    }
    if (rc == 0) {
        step = "server key PEM";
        rc = mbedtls_pk_write_key_pem(&leaf_key, (unsigned char *)key, CAP);
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
        mbedtls_platform_zeroize(key, CAP);
    free(ca);
    free(leaf);
    free(key);
    mbedtls_pk_free(&ca_key);
    mbedtls_pk_free(&leaf_key);
    mbedtls_ctr_drbg_free(&g.drbg);
    mbedtls_entropy_free(&g.entropy);
    if (rc != 0) {
        mk_tls_dispose(t);
        snprintf(err, errlen, "TLS %s generation failed (mbedTLS -0x%04x)", step, (unsigned)-rc);
        return MOCKAPI_ECRYPTO;
    }
    return MOCKAPI_OK;
}

static void mk_tls_dispose(mk_tls *t)
{
    if (t->chain_pem)
        mbedtls_platform_zeroize(t->chain_pem, strlen(t->chain_pem));
    free(t->chain_pem);
    free(t->ca_pem);
    t->chain_pem = t->ca_pem = NULL;
}

struct mk_tls_job {
    pthread_mutex_t lock; /* held while the certificates are made */
    bool done;
    int rc;
    char err[256];
    mk_tls tls;
};

int mk_tls_job_new(mk_tls_job **out)
{
    mk_tls_job *j = calloc(1, sizeof *j);
    if (!j)
        return MOCKAPI_ENOMEM;
    pthread_mutex_init(&j->lock, NULL);
    *out = j;
    return MOCKAPI_OK;
}

const mk_tls *mk_tls_job_get(mk_tls_job *j, char *err, size_t errlen)
{
    pthread_mutex_lock(&j->lock);
    if (!j->done) {
        j->rc = mk_tls_make(&j->tls, j->err, sizeof j->err);
        j->done = true;
    }
    pthread_mutex_unlock(&j->lock);
    if (j->rc != MOCKAPI_OK) {
        if (err && errlen)
            snprintf(err, errlen, "%s", j->err);
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
