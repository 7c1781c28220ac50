/* certs.h: the TLS listener's certificates, made with mbedTLS at start.
 *
 * The reference self-signs one ECDSA P-256 certificate (O=plexd-e2e-mock,
 * SANs mock-api and localhost) and clients skip verification. We sign the
 * same leaf with a throwaway CA made at the same moment, add IP SANs
 * 127.0.0.1 and ::1, and hand the CA out so clients can verify. Both are
 * valid from now-1h to now+24h, like the reference.
 *
 * With a CA folder (tls_ca_dir) the CA is not thrown away: it is made once
 * in the folder (ca.pem, ca-key.pem; valid ten years) and reused by every
 * later start and by every instance sharing the folder, so N instances and
 * restarts have one trust root; each start still signs its own leaf. */
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

/* At most this many extra subjectAltNames (tls_sans). */
enum { MK_TLS_MAX_SANS = 16 };

/* Checks one extra subjectAltName, the n bytes at s: a DNS name (labels of
 * letters, digits and '-', not starting or ending with '-', 1 to 63 bytes,
 * 253 in all; a leftmost "*" label for a wildcard) or an IP literal (IPv4,
 * IPv6, IPv6 in brackets). Returns 0, or -1 with the reason in why (which
 * does not repeat the name). */
int mk_tls_san_check(const char *s, size_t n, char *why, size_t whylen);

/* Sets what the leaf is made with; call once, before the first
 * mk_tls_job_get. sans: extra subjectAltNames separated by ',' (NULL: none);
 * refused (EINVAL, err names the bad one) when one fails mk_tls_san_check or
 * there are more than MK_TLS_MAX_SANS. ca_dir: the folder holding the CA
 * (NULL: a throwaway CA). The folder is made (0700, parents too) if missing;
 * then, under an exclusive flock on ca_dir/.lock, so that instances starting
 * together make one CA, ca.pem and ca-key.pem are read, or made when neither
 * exists (the key 0600, each written to a temporary name and renamed).
 * Refused, with the path and what to do in err: a ca_dir that is not a
 * folder or not writable (EINVAL), one of the two files without the other,
 * a key readable or writable by group or others, a certificate that is not a
 * CA's, not valid yet or expired, a key that does not match it (EINVAL); an
 * unreadable file or a failed write (EIO); ECRYPTO, ENOMEM. On success, when
 * the CA ends within 24 hours (the leaves it signs end with it), warn holds
 * a sentence to log; otherwise warn is "". */
int mk_tls_job_configure(mk_tls_job *j, const char *ca_dir, const char *sans, char *err, size_t errlen,
                         char *warn, size_t warnlen);

/* mbedTLS 3 runs TLS 1.3 (and, depending on its build, hashes and
 * signatures) through PSA Crypto, which must be initialised once per
 * process before use. Does that on mbedTLS 3 (once; any thread); nothing
 * on 2.28. Returns 0, or -1 if PSA Crypto could not start. */
int mk_tls_crypto_init(void);

#endif
