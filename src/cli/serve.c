/* serve.c: the `serve` command, what `mockapi [flags]` does. A thin shell
 * over libmockapi: start, print the addresses on stdout, wait for a stop
 * signal; or, with -check, probe a URL and exit.
 *
 * Every start-up error is reported on stderr before MOCKAPI_ADDR= is
 * printed: the addresses are bound, the fixtures read and the -tls-ca-out
 * file opened first; only the TLS keys are made after that line.
 *
 * Exit codes: 0 clean stop (SIGINT/SIGTERM) or a healthy -check; 1 start-up
 * failure (a listener cannot be bound, out of memory, the TLS keys) or an
 * unhealthy -check; 2 usage error or invalid configuration (a flag, the
 * fixtures folder or a file in it, the key file, the -tls-ca-out path, a
 * -check URL that cannot be parsed). */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "flags.h"
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
     * accept at once, the TLS ones once their keys are made (on another CPU
     * meanwhile). */
    rc = mockapi_start_async(m, err, sizeof err);
    if (rc != MOCKAPI_OK) {
        fprintf(stderr, "mockapi: %s\n", err);
        mockapi_free(m);
        return CLI_EXIT_FAIL;
    }
    /* The CA file is opened before the first line, so a missing folder or
     * an unwritable path is a start-up error; it is filled once the keys
     * exist, before MOCKAPI_TLS_ADDR. */
    FILE *ca = NULL;
    if (o->tls_ca_out && !(ca = fopen(o->tls_ca_out, "w"))) {
        char eb[128];
        fprintf(stderr, "mockapi: %s: cannot write %s: %s\n", o->tls_ca_out_label, o->tls_ca_out,
                strerror_r(errno, eb, sizeof eb));
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
    rc = mockapi_wait_started(m, err, sizeof err);
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
    if (rc != MOCKAPI_OK) { /* after the first line: only the keys (or the CA write) can fail here */
        fprintf(stderr, "mockapi: %s\n", err);
        if (ca)
            fclose(ca);
        if (o->tls_ca_out && ca_regular)
            unlink(o->tls_ca_out); /* no half-written or empty CA left behind */
        mockapi_free(m);
        return CLI_EXIT_FAIL;
    }
    if (mockapi_addr(m, MOCKAPI_LISTENER_TLS, addr, sizeof addr) > 0) {
        printf("MOCKAPI_TLS_ADDR=%s\n", addr);
        fprintf(stderr, "level=INFO msg=\"TLS server started\" addr=%s\n", addr);
    }
    fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "level=INFO msg=\"shutting down\" signal=%s\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
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
