/* certs.h: the TLS listener's certificates, made with mbedTLS at start.
 *
 * The reference self-signs one ECDSA P-256 certificate (O=plexd-e2e-mock,
 * SANs mock-api and localhost) and clients skip verification. We sign the
 * same leaf with a throwaway CA made at the same moment, add IP SANs
 * 127.0.0.1 and ::1, and hand the CA out so clients can verify. Both are
 * valid from now-1h to now+24h, like the reference. */
#ifndef MK_TLS_H
#define MK_TLS_H

#include <stddef.h>

typedef struct mk_tls {
    char *ca_pem;    /* the CA certificate (PEM), owned */
    char *chain_pem; /* leaf key + leaf certificate + CA certificate (PEM), owned */
} mk_tls;

/* The certificates are made once, when first needed: key generation takes
 * about 2 ms of CPU, which should not delay the plain listener. A
 * background start makes them on a thread of their own at nice 19 (see
 * mk_tls_job_get_low). */
typedef struct mk_tls_job mk_tls_job;

/* A job with nothing made yet; free it with mk_tls_job_free. Returns
 * MOCKAPI_OK or MOCKAPI_ENOMEM. */
int mk_tls_job_new(mk_tls_job **out);
/* Makes the certificates on first call (others wait meanwhile) and returns
 * them, or NULL with the reason in err. Any thread. */
const mk_tls *mk_tls_job_get(mk_tls_job *j, char *err, size_t errlen);
/* Makes them (if not made yet) on a thread of its own at nice 19 and waits:
 * for a background start, where the plain listener is already serving. */
void mk_tls_job_get_low(mk_tls_job *j);
void mk_tls_job_free(mk_tls_job *j);

/* mbedTLS 3 runs TLS 1.3 (and, depending on its build, hashes and
 * signatures) through PSA Crypto, which must be initialised once per
 * process before use. Does that on mbedTLS 3 (once; any thread); nothing
 * on 2.28. Returns 0, or -1 if PSA Crypto could not start. */
int mk_tls_crypto_init(void);

#endif
