/* wait.c: the `wait` command: `mockapi wait --ready-file F [--timeout D]`
 * returns once F exists and names a server that answers, for a script that
 * did not start the server itself (README "Readiness").
 *
 * No polling: an inotify watch on F's folder, added before F is first
 * looked at (so no change between the look and the watch is missed), wakes
 * us when a file is created, renamed into place or closed after writing
 * there; each such event for F's name reads F again. F "names a server
 * that answers" when it is a readiness line (a JSON object with "url") and
 * GET url/test/health answers 200, or 401 (a server with -admin-token; we
 * hold no token, and a 401 from that URL is a live server all the same).
 * The health check rules out a line left by a server that was killed.
 *
 * Exit statuses: 0 ready (the URL printed on stdout), 1 not ready within
 * the timeout (what was seen last on stderr) or the folder went away, 2
 * usage (a flag, F's folder missing). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "flags.h"
#include "wait.h"

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads F and asks the server it names. True when ready (its URL in url);
 * false with what was seen in last. */
static bool try_ready(const char *file, long long deadline, char *url, size_t urlcap, char *last,
                      size_t lastcap)
{
    char buf[65536], eb[128];
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(last, lastcap, errno == ENOENT ? "%s does not exist" : "%s cannot be read: %s", file,
                 strerror_r(errno, eb, sizeof eb));
        return false;
    }
    ssize_t n, got = 0;
    while (got < (ssize_t)sizeof buf && (n = read(fd, buf + got, sizeof buf - (size_t)got)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        got += n;
    }
    close(fd);
    json_error_t je;
    json_t *j = json_loadb(buf, (size_t)got, 0, &je);
    const char *u = json_string_value(json_object_get(j, "url"));
    if (!u) {
        snprintf(last, lastcap, "%s is not a readiness line (%s)", file,
                 got == 0 ? "empty" : !j ? je.text : "no \"url\" string");
        json_decref(j);
        return false;
    }
    snprintf(url, urlcap, "%s", u);
    json_decref(j);
    char health[600], err[256] = "";
    snprintf(health, sizeof health, "%s/test/health", url);
    long long left = deadline - mono_ms();
    int status = 0;
    int rc = mockapi_check(health, (unsigned)(left < 1 ? 1 : left > 5000 ? 5000 : left), &status, err, sizeof err);
    if (rc != 0) {
        snprintf(last, lastcap, "%s names %s, which does not answer: %s", file, url, err);
        return false;
    }
    if (status != 200 && status != 401) {
        snprintf(last, lastcap, "%s names %s, whose /test/health answered %d", file, url, status);
        return false;
    }
    return true;
}

int wait_main(int argc, char **argv, int first)
{
    wait_options w;
    int rc = wait_parse_flags(argc, argv, first, &w);
    if (rc >= 0)
        return rc;

    const char *f = w.ready_file, *slash = strrchr(f, '/');
    const char *base = slash ? slash + 1 : f;
    char dir[PATH_MAX], eb[128];
    if (!*base) {
        fprintf(stderr, "mockapi: wait: --ready-file %s names a folder; give the file a server's -ready-file "
                        "writes\n", f);
        return CLI_EXIT_USAGE;
    }
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == f)
        snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - f) < sizeof dir)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - f), f);
    else {
        fprintf(stderr, "mockapi: wait: --ready-file %s: name too long\n", f);
        return CLI_EXIT_USAGE;
    }

    int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (in < 0) {
        fprintf(stderr, "mockapi: wait: inotify: %s\n", strerror_r(errno, eb, sizeof eb));
        return CLI_EXIT_FAIL;
    }
    if (inotify_add_watch(in, dir, IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF |
                                       IN_ONLYDIR) < 0) {
        int e = errno;
        fprintf(stderr, "mockapi: wait: cannot watch the folder %s of --ready-file: %s\n", dir,
                strerror_r(e, eb, sizeof eb));
        close(in);
        return e == ENOENT || e == ENOTDIR || e == EACCES ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    }

    long long deadline = mono_ms() + (long long)w.timeout_ms;
    char url[512], last[1024];
    bool look = true, gone = false;
    while (!gone) {
        if (look && try_ready(f, deadline, url, sizeof url, last, sizeof last)) {
            close(in);
            printf("%s\n", url);
            return CLI_EXIT_OK;
        }
        long long left = deadline - mono_ms();
        struct pollfd p = {.fd = in, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)(left > INT_MAX ? INT_MAX : left)) <= 0)
            break; /* the deadline (or a signal: the same answer) */
        /* look again only when F's own name changed; the folder gone ends it */
        look = false;
        char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n;
        while ((n = read(in, ev, sizeof ev)) > 0)
            for (char *q = ev; q < ev + n;) {
                const struct inotify_event *e = (const struct inotify_event *)q;
                if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
                    gone = true;
                else if (e->len && strcmp(e->name, base) == 0)
                    look = true;
                q += sizeof *e + e->len;
            }
    }
    close(in);
    if (gone)
        fprintf(stderr, "mockapi: wait: the folder %s was removed or moved; last: %s\n", dir, last);
    else
        fprintf(stderr, "mockapi: wait: not ready within %llu ms; last: %s\n", w.timeout_ms, last);
    return CLI_EXIT_FAIL;
}
