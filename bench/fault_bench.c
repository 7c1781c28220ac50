/* fault_bench.c: N requests held open by a fault (bench/run.sh section
 * "faults"). Usage: fault_bench PORT PID N SPEC
 * Against the mockapi at 127.0.0.1:PORT (process PID): resets its journal,
 * counts its threads (/proc/PID/task) and RSS, opens N connections that
 * each send GET /v1/ping with "X-Mockapi-Fault: SPEC" (e.g. "hang"), waits
 * until the server has run all N (GET /test/wait on the journal), counts
 * threads and RSS again, times a fresh GET /v1/ping meanwhile, checks that
 * none of the N got a byte or a close, closes them and prints one line:
 *   RESULT faults spec=SPEC n=N threads_before=T0 threads_held=T1
 *          rss_before_kb=R0 rss_held_kb=R1 growth_kb=G quiet=Q ping_us=P
 * Exit status 0, or 1 when something could not be done (a connect, the
 * wait timed out). Every wait has a deadline. */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int threads_of(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static long rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static int dial(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("fault_bench: connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* One request with Connection: close; returns its status (0: none), reads
 * until the close or 30 s. */
static int request(const char *method, const char *target)
{
    int fd = dial();
    char req[512], buf[4096];
    int rl = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n"
                                       "Content-Length: 0\r\n\r\n", method, target);
    if (send(fd, req, (size_t)rl, 0) != rl) {
        close(fd);
        return 0;
    }
    size_t got = 0;
    long long deadline = now_us() + 30000000LL;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (now_us() < deadline && poll(&p, 1, 1000) >= 0) {
        if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        ssize_t r = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got == sizeof buf - 1)
            got = 64; /* keep the status line, drop the rest */
    }
    close(fd);
    buf[got] = '\0';
    int status = 0;
    return sscanf(buf, "HTTP/1.1 %d", &status) == 1 ? status : 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: fault_bench PORT PID N SPEC\n");
        return 2;
    }
    port = atoi(argv[1]);
    int pid = atoi(argv[2]), n = atoi(argv[3]);
    const char *spec = argv[4];
    if (request("POST", "/test/reset") != 204) {
        fprintf(stderr, "fault_bench: POST /test/reset failed\n");
        return 1;
    }
    int t0 = threads_of(pid);
    long r0 = rss_kb(pid);
    int *fds = calloc((size_t)n, sizeof *fds);
    char req[512];
    int rl = snprintf(req, sizeof req,
                      "GET /v1/ping HTTP/1.1\r\nHost: bench\r\nX-Mockapi-Fault: %s\r\n\r\n", spec);
    for (int i = 0; i < n; i++) {
        fds[i] = dial();
        if (send(fds[i], req, (size_t)rl, 0) != rl) {
            perror("fault_bench: send");
            return 1;
        }
    }
    char wait[160];
    snprintf(wait, sizeof wait, "/test/wait?path=/v1/ping&op=gte&value=%d&timeout_ms=30000", n);
    if (request("GET", wait) != 200) {
        fprintf(stderr, "fault_bench: the server did not run the %d requests in 30 s\n", n);
        return 1;
    }
    int t1 = threads_of(pid);
    long r1 = rss_kb(pid);
    long long p0 = now_us();
    int ping = request("GET", "/v1/ping");
    long long ping_us = now_us() - p0;
    int quiet = 0;
    for (int i = 0; i < n; i++) {
        struct pollfd p = {.fd = fds[i], .events = POLLIN};
        quiet += poll(&p, 1, 0) == 0;
    }
    for (int i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
    printf("RESULT faults spec=%s n=%d threads_before=%d threads_held=%d rss_before_kb=%ld "
           "rss_held_kb=%ld growth_kb=%ld quiet=%d ping_status=%d ping_us=%lld\n",
           spec, n, t0, t1, r0, r1, r1 - r0, quiet, ping, ping_us);
    return 0;
}
