/* serve.c: the `serve` command, what `mockapi [flags]` does. A thin shell
 * over libmockapi: start, print the addresses on stdout, signal readiness,
 * wait for a stop signal; or, with -check, probe a URL and exit.
 *
 * Every start-up error is reported on stderr before MOCKAPI_ADDR= is
 * printed: the addresses are bound, the fixtures read, the -tls-ca-out
 * file opened and the -ready-file's temporary file made first; only the
 * TLS keys are made (and then the bound TLS socket set listening) after
 * that line.
 *
 * Readiness (README "Readiness"): once every listener accepts and the CA
 * file is written, one JSON line goes to -ready-file (a temporary file in
 * the same folder, renamed into place, so a reader sees all of it or
 * nothing), to -ready-fd (then closed), and READY=1 to $NOTIFY_SOCKET.
 *
 * Exit codes: 0 clean stop (SIGINT/SIGTERM) or a healthy -check; 1 start-up
 * failure (a listener cannot be bound, out of memory, the TLS keys, the
 * ready file cannot be put in place) or an unhealthy -check; 2 usage error
 * or invalid configuration (a flag, the fixtures folder or a file in it,
 * the key file, the -tls-ca-out or -ready-file path, -ready-fd, a
 * malformed NOTIFY_SOCKET, a -check URL that cannot be parsed). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "buf.h"
#include "flags.h"
#include "gojson.h"
#include "serve.h"


static void log_stderr(void *user, const char *line)
{
    (void)user;
    if (strncmp(line, "warning: ", 9) == 0)
        fprintf(stderr, "level=WARN msg=\"%s\"\n", line + 9);
    else
        fprintf(stderr, "level=INFO msg=\"%s\"\n", line);
}

static int check(const serve_options *o)
{
    int status = 0;
    char err[256] = "";
    int rc = mockapi_check(o->check_url, o->check_timeout, &status, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "mockapi: check %s: %s\n", o->check_url, err);
        return rc == MOCKAPI_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    }
    if (status >= 400) {
        fprintf(stderr, "mockapi: check %s: status %d\n", o->check_url, status);
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/* ---- readiness -------------------------------------------------------------- */

/* What readiness needs, made before MOCKAPI_ADDR so every error is a
 * start-up error; sent once everything serves. */
typedef struct ready {
    char tmp[PATH_MAX]; /* "F.<pid>.tmp": F's folder, so the rename is atomic */
    int tmp_fd;         /* open on tmp; -1: no -ready-file (or written) */
    bool placed;        /* F is ours (renamed into place): removed at a clean stop */
    dev_t dev;          /* ...if it is still the file we placed */
    ino_t ino;
    /* $NOTIFY_SOCKET, parsed; notify_len 0: not set */
    struct sockaddr_un notify;
    socklen_t notify_len;
} ready;

static int64_t now_us(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Makes the ready file's temporary file (proving the folder writable) and
 * removes a file a previous run left at F, so no reader takes its line for
 * ours; parses NOTIFY_SOCKET. CLI_EXIT_OK, or CLI_EXIT_USAGE with the
 * reason printed (nothing left behind). */
static int ready_prepare(ready *r, const serve_options *o)
{
    char eb[128];
    r->tmp_fd = -1;
    r->placed = false;
    r->notify_len = 0;
    /* The notification protocol (sd_notify(3)): one datagram on an AF_UNIX
     * socket; '@' starts an abstract name. Sent by hand: Debian's
     * libsystemd-dev ships no libsystemd.a for our static link, and one
     * sendto is all sd_notify does for READY=1. Malformed is refused now:
     * the supervisor would wait for a READY=1 that never comes. */
    const char *ns = getenv("NOTIFY_SOCKET");
    if (ns && *ns) {
        size_t l = strlen(ns);
        if ((ns[0] != '/' && ns[0] != '@') || l < 2 || l >= sizeof r->notify.sun_path) {
            fprintf(stderr, "mockapi: NOTIFY_SOCKET \"%s\": give an absolute path or an @abstract socket name "
                            "(2 to %zu bytes)\n", ns, sizeof r->notify.sun_path - 1);
            return CLI_EXIT_USAGE;
        }
        memset(&r->notify, 0, sizeof r->notify);
        r->notify.sun_family = AF_UNIX;
        memcpy(r->notify.sun_path, ns, l);
        if (ns[0] == '@')
            r->notify.sun_path[0] = '\0'; /* abstract: the length says where the name ends */
        r->notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + l + (ns[0] == '/'));
    }
    if (!o->ready_file)
        return CLI_EXIT_OK;
    const char *f = o->ready_file;
    struct stat st;
    if (lstat(f, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
        fprintf(stderr, "mockapi: %s: %s exists and is not a regular file\n", o->ready_file_label, f);
        return CLI_EXIT_USAGE;
    }
    if ((size_t)snprintf(r->tmp, sizeof r->tmp, "%s.%ld.tmp", f, (long)getpid()) >= sizeof r->tmp) {
        fprintf(stderr, "mockapi: %s: %s: file name too long\n", o->ready_file_label, f);
        return CLI_EXIT_USAGE;
    }
    /* O_NOFOLLOW: in a shared folder, a link planted at our name is refused */
    r->tmp_fd = open(r->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (r->tmp_fd < 0) {
        fprintf(stderr, "mockapi: %s: cannot write %s: %s\n", o->ready_file_label, r->tmp,
                strerror_r(errno, eb, sizeof eb));
        return CLI_EXIT_USAGE;
    }
    if (unlink(f) != 0 && errno != ENOENT) {
        fprintf(stderr, "mockapi: %s: cannot remove the previous %s: %s\n", o->ready_file_label, f,
                strerror_r(errno, eb, sizeof eb));
        close(r->tmp_fd);
        unlink(r->tmp);
        r->tmp_fd = -1;
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* Undoes ready_prepare when the start fails after it. */
static void ready_discard(ready *r)
{
    if (r->tmp_fd >= 0) {
        close(r->tmp_fd);
        unlink(r->tmp);
        r->tmp_fd = -1;
    }
}

/* The CA file a client verifies the TLS listener with, absolute, into buf;
 * NULL when there is none (no -tls-ca-out, no -tls-ca-dir, or TLS off). The
 * one place that knows where the CA file is. */
static const char *ready_ca_path(const serve_options *o, char *buf)
{
    char dir_ca[PATH_MAX];
    const char *p = o->tls_ca_out;
    if (!p && o->cfg.tls_ca_dir && o->cfg.tls_addr && *o->cfg.tls_addr) { /* -tls-ca-dir: its ca.pem */
        snprintf(dir_ca, sizeof dir_ca, "%s/ca.pem", o->cfg.tls_ca_dir);
        p = dir_ca;
    }
    if (!p)
        return NULL;
    if (!realpath(p, buf))
        snprintf(buf, PATH_MAX, "%s", p);
    return buf;
}

/* The readiness line (README "Readiness"), without its newline. */
static void ready_line(mockapi *m, const serve_options *o, mk_buf *b)
{
    char url[160], addr[128], ca[PATH_MAX];
    mockapi_base_url(m, MOCKAPI_LISTENER_HTTP, url, sizeof url);
    mockapi_addr(m, MOCKAPI_LISTENER_HTTP, addr, sizeof addr);
    mk_buf_printf(b, "{\"pid\":%ld,\"version\":", (long)getpid());
    gj_write_string(b, MOCKAPI_VERSION, strlen(MOCKAPI_VERSION));
    mk_buf_puts(b, ",\"url\":");
    gj_write_string(b, url, strlen(url));
    mk_buf_puts(b, ",\"addr\":");
    gj_write_string(b, addr, strlen(addr));
    mk_buf_puts(b, ",\"regions\":[");
    for (int i = 0; i < mockapi_region_count(m); i++) {
        char ru[160];
        if (mockapi_region_url(m, i, ru, sizeof ru) > 0) {
            mk_buf_puts(b, i ? "," : "");
            gj_write_string(b, ru, strlen(ru));
        }
    }
    mk_buf_puts(b, "],\"tls_url\":");
    char tu[160], ta[128];
    if (mockapi_base_url(m, MOCKAPI_LISTENER_TLS, tu, sizeof tu) > 0 &&
        mockapi_addr(m, MOCKAPI_LISTENER_TLS, ta, sizeof ta) > 0) {
        gj_write_string(b, tu, strlen(tu));
        mk_buf_puts(b, ",\"tls_addr\":");
        gj_write_string(b, ta, strlen(ta));
    } else {
        mk_buf_puts(b, "null,\"tls_addr\":null");
    }
    const char *cp = ready_ca_path(o, ca);
    mk_buf_puts(b, ",\"ca\":");
    if (cp)
        gj_write_string(b, cp, strlen(cp));
    else
        mk_buf_puts(b, "null");
    mk_buf_puts(b, ",\"page\":");
    size_t ul = strlen(url);
    if (ul + 6 < sizeof url)
        memcpy(url + ul, "/test/", 7);
    gj_write_string(b, url, strlen(url));
    mk_buf_putc(b, '}');
}

/* Writes all of p[0..n) to fd: 0, or -1 with errno set. */
static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Sends readiness everywhere it was asked for, then logs how long after
 * the listeners were bound (bound_mono_us, bound_unix_us) it went out.
 * The ready file is the launcher's only signal, so failing to place it is
 * fatal (CLI_EXIT_FAIL, message printed, nothing left behind); the fd and
 * the notify socket are only warned about: a launcher that closed its end
 * of a pipe is not waiting, and sd_notify's failures are not fatal either. */
static int ready_signal(ready *r, mockapi *m, const serve_options *o, int64_t bound_mono_us,
                        int64_t bound_unix_us)
{
    if (r->tmp_fd < 0 && o->ready_fd < 0 && !r->notify_len)
        return CLI_EXIT_OK;
    char eb[128];
    mk_buf line;
    mk_buf_init(&line, 0);
    ready_line(m, o, &line);
    if (mk_buf_putc(&line, '\n') != 0 || line.err) {
        fprintf(stderr, "mockapi: readiness: out of memory\n");
        mk_buf_free(&line);
        ready_discard(r);
        return CLI_EXIT_FAIL;
    }
    if (r->tmp_fd >= 0) {
        /* No fsync: readers are on this machine, and after a crash the
         * server the line names is gone anyway. */
        struct stat st;
        int bad = write_all(r->tmp_fd, line.data, line.len) != 0 || fstat(r->tmp_fd, &st) != 0;
        int werr = errno;
        if (close(r->tmp_fd) != 0 && !bad) {
            bad = 1;
            werr = errno;
        }
        r->tmp_fd = -1;
        if (!bad && rename(r->tmp, o->ready_file) != 0) {
            bad = 1;
            werr = errno;
        }
        if (bad) {
            fprintf(stderr, "mockapi: %s: cannot write %s: %s\n", o->ready_file_label, o->ready_file,
                    strerror_r(werr, eb, sizeof eb));
            unlink(r->tmp);
            mk_buf_free(&line);
            return CLI_EXIT_FAIL;
        }
        r->placed = true;
        r->dev = st.st_dev;
        r->ino = st.st_ino;
    }
    if (o->ready_fd >= 0) {
        if (write_all(o->ready_fd, line.data, line.len) != 0)
            fprintf(stderr, "level=WARN msg=\"%s: cannot write the readiness line to descriptor %d: %s\"\n",
                    o->ready_fd_label, o->ready_fd, strerror_r(errno, eb, sizeof eb));
        close(o->ready_fd);
    }
    if (r->notify_len) {
        char msg[200], addr[128];
        mockapi_addr(m, MOCKAPI_LISTENER_HTTP, addr, sizeof addr);
        int n = snprintf(msg, sizeof msg, "READY=1\nSTATUS=serving on %s\n", addr);
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (const struct sockaddr *)&r->notify,
                             r->notify_len) != n)
            fprintf(stderr, "level=WARN msg=\"NOTIFY_SOCKET %s: cannot send READY=1: %s\"\n",
                    getenv("NOTIFY_SOCKET"), strerror_r(errno, eb, sizeof eb));
        if (fd >= 0)
            close(fd);
    }
    mk_buf_free(&line);
    fprintf(stderr, "level=INFO msg=\"ready\" after_bind_us=%lld bound_unix_us=%lld\n",
            (long long)(now_us(CLOCK_MONOTONIC) - bound_mono_us), (long long)bound_unix_us);
    return CLI_EXIT_OK;
}

/* At a clean stop: removes the ready file if it is still the one we
 * placed (a later run may have put its own there), so that its existence
 * keeps meaning "a server is up". */
static void ready_withdraw(ready *r, const serve_options *o)
{
    struct stat st;
    if (r->placed && lstat(o->ready_file, &st) == 0 && st.st_dev == r->dev && st.st_ino == r->ino)
        unlink(o->ready_file);
    r->placed = false;
}

static int serve(serve_options *o)
{
    o->cfg.log = log_stderr;

    /* Two malloc arenas instead of glibc's 8 per core: per-thread arenas
     * keep freed memory resident after a load (measured with the former
     * 64-worker transport in bench/run.sh's memory run: +1.10 MiB -> +0.93
     * MiB) at no measurable cost in throughput. Process policy, so it lives here, not in the
     * library; it must run before any thread exists. */
    mallopt(M_ARENA_MAX, 2);

    /* Block the stop signals before any thread exists, so every server
     * thread inherits the mask and sigwait below is the one place that
     * receives them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    mockapi *m = NULL;
    char err[512] = "";
    int rc = mockapi_create(&o->cfg, &m, err, sizeof err);
    if (rc != MOCKAPI_OK) {
        fprintf(stderr, "mockapi: %s\n", err);
        return rc == MOCKAPI_ENOMEM ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
    }
    /* Every event stream holds a descriptor: lift the soft limit to the hard
     * one (commonly 1024 -> 1048576) so the stream cap, not the limit, rules. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* Every listener is bound here (a taken port fails now); the plain ones
     * accept at once, the TLS ones listen once their keys are made (on
     * another CPU meanwhile). */
    rc = mockapi_start_async(m, err, sizeof err);
    if (rc != MOCKAPI_OK) {
        fprintf(stderr, "mockapi: %s\n", err);
        mockapi_free(m);
        return CLI_EXIT_FAIL;
    }
    int64_t bound_mono_us = now_us(CLOCK_MONOTONIC), bound_unix_us = now_us(CLOCK_REALTIME);
    ready rd;
    if ((rc = ready_prepare(&rd, o)) != CLI_EXIT_OK) {
        mockapi_free(m);
        return rc;
    }
    /* The CA file is opened before the first line, so a missing folder or
     * an unwritable path is a start-up error; it is filled once the keys
     * exist, before MOCKAPI_TLS_ADDR. */
    FILE *ca = NULL;
    if (o->tls_ca_out && !(ca = fopen(o->tls_ca_out, "w"))) {
        char eb[128];
        fprintf(stderr, "mockapi: %s: cannot write %s: %s\n", o->tls_ca_out_label, o->tls_ca_out,
                strerror_r(errno, eb, sizeof eb));
        ready_discard(&rd);
        mockapi_free(m);
        return CLI_EXIT_USAGE;
    }
    /* Only a regular file is removed if the write fails below: the path may
     * name a device (/dev/full, /dev/stdout) or a link to one, which an
     * unlink would delete from /dev when we run as root. */
    struct stat ca_st;
    bool ca_regular = ca && fstat(fileno(ca), &ca_st) == 0 && S_ISREG(ca_st.st_mode);
    char addr[128];
    mockapi_addr(m, MOCKAPI_LISTENER_HTTP, addr, sizeof addr);
    printf("MOCKAPI_ADDR=%s\n", addr);
    /* regions: every one, region 0 (the line above) included, so a script
     * can loop over 0..N-1; all are accepting already */
    for (int i = 0; i < mockapi_region_count(m); i++)
        if (mockapi_region_addr(m, i, addr, sizeof addr) > 0)
            printf("MOCKAPI_REGION_%d=%s\n", i, addr);
    fflush(stdout);
    /* Without TLS, ready now: every listener accepts. With TLS, once its
     * keys are made (~2 ms of CPU on another thread, at nice 19): the TLS
     * socket listens only then, the library publishes its port then, and
     * the -tls-ca-out file is written just after. So the TLS listener is
     * the last one bound, and its listen (when mockapi_wait_started
     * returns) is the bind time readiness is measured from. (Measured by
     * tests/ready.sh: ~0.1 ms after the last bind, with or without TLS.) */
    bool early = !o->cfg.tls_addr;
    if (early && (rc = ready_signal(&rd, m, o, bound_mono_us, bound_unix_us)) != CLI_EXIT_OK) {
        mockapi_free(m); /* (no CA file without TLS) */
        return rc;
    }
    rc = mockapi_wait_started(m, err, sizeof err);
    if (!early) { /* the TLS listener has just started listening */
        bound_mono_us = now_us(CLOCK_MONOTONIC);
        bound_unix_us = now_us(CLOCK_REALTIME);
    }
    const char *pem = rc == MOCKAPI_OK && ca ? mockapi_tls_ca_pem(m) : NULL;
    if (rc == MOCKAPI_OK && ca) {
        int bad = !pem || fputs(pem, ca) < 0;
        int werr = bad ? errno : 0;
        if (fclose(ca) != 0 && !bad) {
            bad = 1;
            werr = errno;
        }
        ca = NULL;
        if (bad) {
            char eb[128];
            snprintf(err, sizeof err, "%s: cannot write %s: %s", o->tls_ca_out_label, o->tls_ca_out,
                     !pem ? "no CA" : werr ? strerror_r(werr, eb, sizeof eb) : "write failed");
            rc = MOCKAPI_EIO;
        }
    }
    if (rc != MOCKAPI_OK) { /* after the first line: only the keys, the CA write (or, rarely, the TLS
                             * listen: a port another process bound meanwhile) can fail here */
        fprintf(stderr, "mockapi: %s\n", err);
        if (ca)
            fclose(ca);
        if (o->tls_ca_out && ca_regular)
            unlink(o->tls_ca_out); /* no half-written or empty CA left behind */
        ready_discard(&rd);
        mockapi_free(m);
        return CLI_EXIT_FAIL;
    }
    if (mockapi_addr(m, MOCKAPI_LISTENER_TLS, addr, sizeof addr) > 0) {
        printf("MOCKAPI_TLS_ADDR=%s\n", addr);
        fprintf(stderr, "level=INFO msg=\"TLS server started\" addr=%s\n", addr);
    }
    fflush(stdout);
    /* with TLS: every listener accepts and the CA file is complete */
    if (!early && (rc = ready_signal(&rd, m, o, bound_mono_us, bound_unix_us)) != CLI_EXIT_OK) {
        mockapi_free(m);
        return rc;
    }

    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "level=INFO msg=\"shutting down\" signal=%s\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    ready_withdraw(&rd, o);
    mockapi_free(m);
    return CLI_EXIT_OK;
}

int serve_main(int argc, char **argv, int first)
{
    serve_options o;
    int rc = serve_parse_flags(argc, argv, first, &o);
    if (rc >= 0)
        return rc;
    return o.check_url ? check(&o) : serve(&o);
}
