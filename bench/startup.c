/* startup.c: cold-start timer for bench/run.sh.
 *
 *   startup RUNS -- LABEL CMD [ARG...] [-- LABEL CMD [ARG...]]...
 *
 * For each run and each command (interleaved, so drift on the machine hits
 * every command alike): take CLOCK_MONOTONIC, fork+exec CMD with stdout on a
 * pipe (stderr to /dev/null), read stdout until a "MOCKAPI_ADDR=host:port"
 * line, connect, send "GET /v1/ping", read the status line, take the clock
 * again. Then SIGTERM the server and reap it (SIGKILL after 5 s), timing
 * that too. One untimed warm-up round runs first (page cache, dynamic
 * loader caches). Every wait has a deadline.
 *
 * Prints one line per command:
 *   RESULT LABEL runs=N median_us=.. min_us=.. p90_us=.. max_us=.. mean_us=..
 *          ready_median_us=.. stop_median_us=.. failures=..
 * (ready = exec until the MOCKAPI_ADDR line; stop = SIGTERM until reaped).
 * Exit status 0 when every run of every command succeeded, else 1.
 *
 * Build: gcc -O2 -std=c11 -D_GNU_SOURCE -o build/bench/startup bench/startup.c */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEADLINE_MS 10000
#define MAX_CMDS 8

typedef struct cmd {
    const char *label;
    char **argv;
    double *total_us, *ready_us, *stop_us;
    int ok, failures;
} cmd;

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int ms_left(double deadline_us)
{
    double left = (deadline_us - now_us()) / 1000.0;
    return left <= 0 ? 0 : (int)left + 1;
}

/* Reads the child's stdout until a complete MOCKAPI_ADDR= line; fills
 * host/port. Returns 0 or -1 (EOF, deadline, garbage). */
static int read_addr(int fd, double deadline, char *host, size_t hostlen, int *port)
{
    char buf[4096];
    size_t got = 0;
    for (;;) {
        buf[got] = '\0';
        for (char *line = buf; line && *line;) {
            char *nl = strchr(line, '\n');
            if (!nl)
                break;
            if (strncmp(line, "MOCKAPI_ADDR=", 13) == 0) {
                *nl = '\0';
                char *hp = line + 13;
                char *colon = strrchr(hp, ':');
                if (!colon)
                    return -1;
                *colon = '\0';
                *port = atoi(colon + 1);
                if (hp[0] == '[') { /* [v6] */
                    hp++;
                    char *rb = strchr(hp, ']');
                    if (rb)
                        *rb = '\0';
                }
                snprintf(host, hostlen, "%s", hp);
                return *port > 0 ? 0 : -1;
            }
            line = nl + 1;
        }
        if (got >= sizeof buf - 1)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = ms_left(deadline);
        if (left == 0)
            return -1;
        int r = poll(&p, 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
}

/* Connects, sends GET /v1/ping, reads the status line. Returns the status
 * code, or -1. */
static int ping(const char *host, int port, double deadline)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    int fam;
    if (strchr(host, ':')) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((unsigned short)port);
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
            inet_pton(AF_INET6, "::1", &a6->sin6_addr);
        sl = sizeof *a6;
        fam = AF_INET6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((unsigned short)port);
        /* a wildcard host (0.0.0.0) is reached on loopback */
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1 || a4->sin_addr.s_addr == 0)
            a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof *a4;
        fam = AF_INET;
    }
    int s = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(s, (struct sockaddr *)&ss, sl) != 0) {
        close(s);
        return -1;
    }
    char req[256];
    int rl = snprintf(req, sizeof req,
                      "GET /v1/ping HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: mockapi-bench\r\n"
                      "Connection: close\r\n\r\n", host, port);
    if (write(s, req, (size_t)rl) != rl) {
        close(s);
        return -1;
    }
    char buf[512];
    size_t got = 0;
    int status = -1;
    for (;;) {
        struct pollfd p = {.fd = s, .events = POLLIN};
        int left = ms_left(deadline);
        if (left == 0)
            break;
        int r = poll(&p, 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t n = read(s, buf + got, sizeof buf - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
        if (strstr(buf, "\r\n")) {
            int maj, min;
            if (sscanf(buf, "HTTP/%d.%d %d", &maj, &min, &status) != 3)
                status = -1;
            break;
        }
        if (got >= sizeof buf - 1)
            break;
    }
    close(s);
    return status;
}

/* SIGTERM, then reap within 5 s or SIGKILL. Returns the microseconds it took. */
static double stop_child(pid_t pid)
{
    double t0 = now_us();
    kill(pid, SIGTERM);
    double deadline = t0 + 5e6;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            return now_us() - t0;
        if (now_us() > deadline) {
            fprintf(stderr, "startup: pid %d ignored SIGTERM for 5 s; SIGKILL\n", (int)pid);
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return now_us() - t0;
        }
        struct timespec ts = {0, 200000}; /* 0.2 ms: reaping, not timed work */
        nanosleep(&ts, NULL);
    }
}

/* One timed start. Returns 0 and fills the times, or -1. */
static int run_once(cmd *c, double *total, double *ready, double *stop)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    double t0 = now_us();
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(p[1], 1);
        if (!getenv("STARTUP_STDERR")) { /* STARTUP_STDERR=1 keeps it, for debugging */
            int dn = open("/dev/null", O_WRONLY);
            if (dn >= 0)
                dup2(dn, 2);
        }
        execv(c->argv[0], c->argv);
        fprintf(stderr, "startup: exec %s: %s\n", c->argv[0], strerror(errno));
        _exit(127);
    }
    close(p[1]);
    double deadline = t0 + DEADLINE_MS * 1000.0;
    char host[128];
    int port = 0, rc = -1;
    if (read_addr(p[0], deadline, host, sizeof host, &port) == 0) {
        *ready = now_us() - t0;
        int status = ping(host, port, deadline);
        *total = now_us() - t0;
        if (status == 200)
            rc = 0;
        else
            fprintf(stderr, "startup: %s: ping answered %d\n", c->label, status);
    } else {
        fprintf(stderr, "startup: %s: no MOCKAPI_ADDR line within %d ms\n", c->label, DEADLINE_MS);
    }
    *stop = stop_child(pid);
    close(p[0]);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double q)
{
    if (n == 0)
        return 0;
    int i = (int)(q * (n - 1) + 0.5);
    return v[i];
}

int main(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[2], "--") != 0) {
        fprintf(stderr, "usage: startup RUNS -- LABEL CMD [ARG...] [-- LABEL CMD [ARG...]]...\n");
        return 2;
    }
    int runs = atoi(argv[1]);
    if (runs < 1 || runs > 100000) {
        fprintf(stderr, "startup: bad RUNS\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    cmd cmds[MAX_CMDS];
    int nc = 0;
    for (int i = 2; i < argc;) {
        /* argv[i] is "--" */
        if (i + 2 >= argc || nc == MAX_CMDS) {
            fprintf(stderr, "startup: each -- needs LABEL CMD (at most %d commands)\n", MAX_CMDS);
            return 2;
        }
        int j = i + 3;
        while (j < argc && strcmp(argv[j], "--") != 0)
            j++;
        cmd *c = &cmds[nc++];
        memset(c, 0, sizeof *c);
        c->label = argv[i + 1];
        c->argv = &argv[i + 2];
        c->total_us = calloc((size_t)runs, sizeof(double));
        c->ready_us = calloc((size_t)runs, sizeof(double));
        c->stop_us = calloc((size_t)runs, sizeof(double));
        if (!c->total_us || !c->ready_us || !c->stop_us)
            return 1;
        if (j < argc)
            argv[j] = NULL; /* terminates this command's argv */
        i = j;
    }

    /* untimed warm-up round */
    for (int k = 0; k < nc; k++) {
        double t, r, s;
        if (run_once(&cmds[k], &t, &r, &s) != 0) {
            fprintf(stderr, "startup: %s: warm-up run failed\n", cmds[k].label);
            cmds[k].failures++;
        }
    }
    for (int i = 0; i < runs; i++) {
        for (int k = 0; k < nc; k++) {
            cmd *c = &cmds[k];
            double t, r, s;
            if (run_once(c, &t, &r, &s) == 0) {
                c->total_us[c->ok] = t;
                c->ready_us[c->ok] = r;
                c->stop_us[c->ok] = s;
                c->ok++;
            } else {
                c->failures++;
            }
        }
    }

    int bad = 0;
    for (int k = 0; k < nc; k++) {
        cmd *c = &cmds[k];
        int n = c->ok;
        double mean = 0;
        for (int i = 0; i < n; i++)
            mean += c->total_us[i];
        mean = n ? mean / n : 0;
        qsort(c->total_us, (size_t)n, sizeof(double), cmp_double);
        qsort(c->ready_us, (size_t)n, sizeof(double), cmp_double);
        qsort(c->stop_us, (size_t)n, sizeof(double), cmp_double);
        printf("RESULT %s runs=%d median_us=%.0f min_us=%.0f p90_us=%.0f max_us=%.0f mean_us=%.0f "
               "ready_median_us=%.0f stop_median_us=%.0f failures=%d\n",
               c->label, n, pct(c->total_us, n, 0.5), n ? c->total_us[0] : 0,
               pct(c->total_us, n, 0.9), n ? c->total_us[n - 1] : 0, mean,
               pct(c->ready_us, n, 0.5), pct(c->stop_us, n, 0.5), c->failures);
        if (c->failures || n == 0)
            bad = 1;
    }
    return bad;
}
