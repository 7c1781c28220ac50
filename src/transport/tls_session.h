/* tls_session.h: non-blocking server-side TLS over a socket an event loop
 * owns (mbedTLS 2.28 and 3.6).
 *
 * No threads, no blocking, no polling inside: every call does what the
 * socket allows at once and says which epoll event to wait for otherwise.
 * One mk_tls_server (certificates, configuration, RNG) is shared by every
 * session of a listener, on any number of loop threads; a session is used
 * by one thread at a time. Nothing here logs: failures come back as codes,
 * and mk_tls_last_error tells the mbedTLS reason for a log line. */
#ifndef MK_TLS_SESSION_H
#define MK_TLS_SESSION_H

#include <stddef.h>

typedef struct mk_tls_server mk_tls_server;   /* shared, read-only after create; any thread */
typedef struct mk_tls_session mk_tls_session; /* one connection; one thread at a time */

/* chain_pem: leaf private key + leaf certificate + CA certificate, PEM, as
 * mk_tls.chain_pem (src/common/certs.h) makes it; borrowed, parsed from
 * memory (no temporary file). Server side, TLS 1.2 and (where the mbedTLS
 * build has it) 1.3, no client authentication; the leaf and the CA are
 * both sent. Returns 0 with *out owned by the caller (free it with
 * mk_tls_server_free after every session), or -1 with the reason in err
 * (*out untouched). Any thread. */
int mk_tls_server_new(mk_tls_server **out, const char *chain_pem, char *err, size_t errlen);
/* Frees s; every session made from it must be freed first. NULL ok. */
void mk_tls_server_free(mk_tls_server *s);

enum { MK_TLS_WANT_READ = -2, MK_TLS_WANT_WRITE = -3, MK_TLS_EOF = 0, MK_TLS_FAIL = -1 };

/* A session on connected, non-blocking socket fd (borrowed: the caller
 * closes it, after mk_tls_session_free). NULL on out-of-memory. */
mk_tls_session *mk_tls_session_new(mk_tls_server *s, int fd);

/* Advances the handshake: 1 done (also on every later call),
 * MK_TLS_WANT_READ / MK_TLS_WANT_WRITE (wait for that epoll event and call
 * again), MK_TLS_FAIL (bad peer, or the peer went away: close; every later
 * call on t fails too). Never blocks, never loops on WANT_*: a silent peer
 * costs one recv per call. */
int mk_tls_handshake(mk_tls_session *t);

/* Reads up to len decrypted bytes: >0 count, MK_TLS_EOF (the peer sent
 * close_notify, closed or reset the TCP connection: not an error worth a
 * log line), MK_TLS_WANT_READ / MK_TLS_WANT_WRITE, MK_TLS_FAIL (protocol
 * error, a failed handshake, or len 0). Before the handshake is done it
 * advances the handshake first (and returns its WANT_* or FAIL). Call it
 * again while mk_tls_pending() > 0: those bytes are decrypted already and
 * epoll will not report them. */
long mk_tls_read(mk_tls_session *t, void *buf, size_t len);

/* Encrypts and sends bytes of buf: >0 count accepted (at most one TLS
 * record, 16 KiB, so possibly less than len), MK_TLS_WANT_WRITE /
 * MK_TLS_WANT_READ, MK_TLS_FAIL (also when the peer went away).
 * After MK_TLS_WANT_WRITE the record holding buf's first bytes is already
 * encrypted and partly sent; the next call must offer the same bytes again
 * (the same buffer, or any buffer beginning with them and at least as long)
 * and then reports them accepted once the record is out. A next call with
 * len shorter than what was taken fails the session (MK_TLS_FAIL), as does
 * len 0. Before the handshake is done it advances the handshake first. */
long mk_tls_write(mk_tls_session *t, const void *buf, size_t len);

/* Decrypted bytes buffered inside mbedTLS that epoll cannot see (read them
 * before waiting for EPOLLIN). */
size_t mk_tls_pending(const mk_tls_session *t);

/* An idle session's memory is mostly mbedTLS's two record buffers (16.7 KB
 * each, all resident: mbedTLS zeroes them at setup), which hold no state
 * between records but an 8-byte sequence number at the start of one. When
 * nothing is buffered in either direction this hands their whole pages
 * after the first back to the kernel (madvise MADV_DONTNEED; they come
 * back zero-filled when a record needs them) and returns the bytes
 * released: ~24.7 KB, leaving ~10 KB resident per idle session on 2.28.
 * Otherwise (data buffered, handshake not done, or trimmed already with no
 * I/O since) it does nothing and returns 0. For a connection the loop
 * parks idle (handshaken and silent, or between keep-alive requests): it
 * costs two system calls and later page faults, so not after every request
 * of a busy connection. */
size_t mk_tls_trim(mk_tls_session *t);

/* The negative mbedTLS error code behind the last MK_TLS_FAIL, with its
 * text (mbedtls_strerror) in buf; 0 and "" if there was none or if the
 * failure was only the peer closing or resetting the connection (a port
 * scan, an aborted client: nothing to log). */
int mk_tls_last_error(const mk_tls_session *t, char *buf, size_t buflen);

/* Sends close_notify if the handshake is done (non-blocking, one try; a
 * pending record goes first if it can), then frees t. NULL ok. Does not
 * close the fd. */
void mk_tls_session_free(mk_tls_session *t);
/* Frees t without a close_notify: the connection is being cut on purpose
 * (a fault, fault.h), and the peer must see nothing more from TLS. NULL ok. */
void mk_tls_session_drop(mk_tls_session *t);

#endif
