/* run.c: the `run` command: `mockapi run [-n N] [run flags] [serve flags]
 * -- CMD [ARGS...]` starts N isolated servers, runs CMD against them, checks
 * the --assert files with mockassert and tears the servers down (README
 * "Running tests against N instances: mockapi run").
 *
 * Each instance is a process of its own (this very binary, /proc/self/exe,
 * exec'd as a server), so each has its own state, ports and log. Readiness
 * is pushed, not polled: every instance gets `-ready-fd` on a pipe and
 * writes its readiness line there once every listener accepts (serve.c);
 * end-of-file without a line means it died, and its exit status and the
 * last lines of its stderr (a file in run's temporary folder) say why.
 * Unless the flags (or their environment variables) say otherwise, every
 * instance listens on 127.0.0.1:0 (plain and TLS) and shares one
 * -tls-ca-dir in that temporary folder, so one CA file verifies them all.
 *
 * Signals: SIGINT, SIGTERM and SIGCHLD are blocked and read from a
 * signalfd, so every wait (readiness, CMD, mockassert, teardown) is one
 * poll with a deadline; SIGINT/SIGTERM are forwarded to CMD's process
 * group (CMD runs in its own, and gets the terminal when run has it, as a
 * shell gives a job). Instances run in process groups of their own too: a
 * ^C at the terminal reaches CMD, not the servers CMD is still using.
 *
 * Exit statuses: see run.h and run_usage_text. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "flags.h"
#include "run.h"
#include "serve.h"
#include "suggest.h"

enum {
    RUN_MAX = 32,           /* instances at most */
    RUN_MAX_ASSERTS = 64,   /* --assert files at most */
    RUN_EXIT_NOT_READY = 125, /* an instance never became ready (as env(1)/timeout(1) use 125) */
    RUN_STOP_MS = 5000,     /* SIGTERM -> SIGKILL at teardown */
    RUN_HEALTH_MS = 2000,   /* one GET /test/health when deciding to reuse */
    RUN_LOG_LINES = 10,     /* lines of a failed instance's stderr shown */
};

static const char run_usage_text[] =
    "usage: mockapi run [-n N] [--ready-file F] [--assert [K:]FILE]... [--keep-on-failure]\n"
    "                   [--timeout DURATION] [serve flags] -- CMD [ARGS...]\n"
    "\n"
    "Starts N mockapi servers (separate processes, each with its own state, on\n"
    "127.0.0.1 port 0, plain and TLS, sharing one CA), waits until each is ready\n"
    "(pushed readiness, no polling), runs CMD with their addresses in the\n"
    "environment, then mockassert on each --assert file, and stops the servers.\n"
    "\n"
    "CMD's environment:\n"
    "  MOCKAPI_URL            instance 0's http://host:port\n"
    "  MOCKAPI_URL_<k>        instance k's (k from 0)\n"
    "  MOCKAPI_TLS_URL_<k>    instance k's https://host:port (unset without TLS)\n"
    "  MOCKAPI_CA             the CA file (PEM) that verifies every instance's TLS\n"
    "  MOCKAPI_INSTANCES      N\n"
    "  MOCKAPI_READY_FILE     F, when --ready-file is given\n"
    "\n"
    "flags:\n"
    "  -n N                   instances, 1 to 32 (default 1)\n"
    "  --ready-file F         write one JSON file naming every instance (atomically);\n"
    "                         when F already names instances that all answer\n"
    "                         GET /test/health, reuse them and stop none\n"
    "  --assert [K:]FILE      after CMD, mockassert FILE against instance 0, or\n"
    "                         instance K (repeatable, at most 64)\n"
    "  --keep-on-failure      when the exit status is not 0, leave the instances\n"
    "                         up (their pids and pages are printed) and F in place\n"
    "  --timeout DURATION     how long the instances may take to be ready: ms, s,\n"
    "                         m, h, or several (1m30s)   (default 30s)\n"
    "  serve flags            any flag of `mockapi -h` but -ready-file, -ready-fd\n"
    "                         and -check, given to every instance\n"
    "  -h, --help             this text\n"
    "\n"
    "exit status: CMD's when not 0, else the first failing mockassert's (1 an\n"
    "expectation failed, 2 a bad file, 3 untrusted), else 0; 2 usage error, or an\n"
    "instance refused its flags (its message printed); 125 an instance did not\n"
    "become ready (it failed to start, e.g. a port taken, or the timeout passed;\n"
    "its last log lines printed); 126 CMD not executable, 127 CMD not found;\n"
    "128+N CMD ended by signal N.\n";

void run_usage(FILE *f)
{
    fputs(run_usage_text, f);
}

/* ---- flags -------------------------------------------------------------------- */

typedef struct run_assert {
    const char *file;
    unsigned instance;
} run_assert;

typedef struct run_opts {
    unsigned n;
    const char *ready_file;
    run_assert asserts[RUN_MAX_ASSERTS];
    int nasserts;
    bool keep;
    unsigned long long timeout_ms;
    char **serve; /* the serve flags, as given (argv's) */
    int nserve;
    bool has_addr, has_tls, tls_off, has_cadir;
    const char *admin_token;
    char **cmd;
} run_opts;

static const char *const run_flag_names[] = {"n", "ready-file", "assert", "keep-on-failure", "timeout"};
enum { N_RUN_FLAGS = sizeof run_flag_names / sizeof run_flag_names[0] };

/* The serve command's flag names, read from its usage text (serve_usage),
 * so that this list cannot drift from the flags serve accepts: every flag
 * line there starts with two spaces and "-name". */
static int serve_flag_names(const char **names, int cap, char *store, size_t storecap)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return 0;
    serve_usage(f);
    fclose(f);
    int n = 0;
    size_t w = 0;
    for (char *line = text; line && *line && n < cap;) {
        char *nl = strchr(line, '\n');
        if (strncmp(line, "  -", 3) == 0 && line[3] >= 'a' && line[3] <= 'z') {
            size_t l = strspn(line + 3, "abcdefghijklmnopqrstuvwxyz-");
            if (w + l + 1 <= storecap) {
                memcpy(store + w, line + 3, l);
                store[w + l] = '\0';
                names[n++] = store + w;
                w += l + 1;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    return n;
}

static int usage_error(void)
{
    fputs("(mockapi run -h for the flags)\n", stderr);
    return CLI_EXIT_USAGE;
}

/* -1 to go on, else the exit status (message printed). */
static int run_parse(int argc, char **argv, int first, run_opts *o)
{
    static const char *snames[96];
    static char sstore[4096];
    int nsnames = serve_flag_names(snames, 96, sstore, sizeof sstore);
    memset(o, 0, sizeof *o);
    o->n = 1;
    o->timeout_ms = 30000;
    o->serve = calloc((size_t)argc + 1, sizeof *o->serve);
    if (!o->serve) {
        fprintf(stderr, "mockapi run: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    int i;
    for (i = first; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            break;
        if (strcmp(a, "-h") == 0 || strcmp(a, "-help") == 0 || strcmp(a, "--help") == 0) {
            run_usage(stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(a, "-version") == 0 || strcmp(a, "--version") == 0) {
            puts("mockapi " MOCKAPI_VERSION);
            return CLI_EXIT_OK;
        }
        if (a[0] != '-') {
            fprintf(stderr, "mockapi run: unexpected argument \"%s\": the command comes after --, as in "
                            "mockapi run -n 2 -- sh test.sh\n", a);
            return usage_error();
        }
        const char *name = a + (a[1] == '-' ? 2 : 1);
        if (!*name || *name == '-' || *name == '=') {
            fprintf(stderr, "mockapi run: bad flag syntax: %s\n", a);
            return usage_error();
        }
        const char *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        char nm[64];
        snprintf(nm, sizeof nm, "%.*s", (int)(nl < sizeof nm ? nl : sizeof nm - 1), name);
        int rk = -1, sk = -1;
        for (int k = 0; k < N_RUN_FLAGS; k++)
            if (strlen(run_flag_names[k]) == nl && strncmp(run_flag_names[k], name, nl) == 0)
                rk = k;
        for (int k = 0; k < nsnames && rk < 0; k++)
            if (strlen(snames[k]) == nl && strncmp(snames[k], name, nl) == 0)
                sk = k;
        if (rk < 0 && sk < 0) {
            const char *cand[128];
            int nc = 0;
            for (int k = 0; k < N_RUN_FLAGS; k++)
                cand[nc++] = run_flag_names[k];
            for (int k = 0; k < nsnames && nc < 128; k++)
                cand[nc++] = snames[k];
            const char *near = mk_suggest(nm, cand, (size_t)nc);
            bool near_run = false;
            for (int k = 0; near && k < N_RUN_FLAGS; k++)
                near_run |= near == run_flag_names[k];
            fprintf(stderr, "mockapi run: flag provided but not defined: %s", a);
            if (near)
                fprintf(stderr, " (did you mean %s%s?)", near_run && strlen(near) > 1 ? "--" : "-", near);
            fputc('\n', stderr);
            return usage_error();
        }
        if (rk == 3) { /* --keep-on-failure: the one flag without a value */
            if (eq) {
                fprintf(stderr, "mockapi run: --keep-on-failure takes no value (got \"%s\")\n", eq + 1);
                return usage_error();
            }
            o->keep = true;
            continue;
        }
        const char *v;
        if (eq)
            v = eq + 1;
        else if (i + 1 < argc)
            v = argv[++i];
        else {
            fprintf(stderr, "mockapi run: flag needs an argument: %s\n", a);
            return usage_error();
        }
        if (sk >= 0) {
            if (strcmp(nm, "ready-fd") == 0 || strcmp(nm, "check") == 0 || strcmp(nm, "check-timeout") == 0) {
                fprintf(stderr, "mockapi run: -%s is not for run: %s\n", nm,
                        nm[0] == 'r' ? "run gives every instance a -ready-fd of its own (use --ready-file F "
                                       "for one file naming them all)"
                                     : "run starts servers; `mockapi -check URL` probes one");
                return usage_error();
            }
            o->serve[o->nserve++] = argv[eq ? i : i - 1];
            if (!eq)
                o->serve[o->nserve++] = argv[i];
            if (strcmp(nm, "addr") == 0 || strcmp(nm, "regions") == 0)
                o->has_addr |= strcmp(nm, "addr") == 0;
            if (strcmp(nm, "tls-addr") == 0) {
                o->has_tls = true;
                o->tls_off = !*v || strcmp(v, "off") == 0;
            }
            if (strcmp(nm, "tls-ca-dir") == 0)
                o->has_cadir = true;
            if (strcmp(nm, "admin-token") == 0)
                o->admin_token = v;
            continue;
        }
        unsigned long long num;
        switch (rk) {
        case 0:
            if (cli_parse_number("run -n", v, 1, RUN_MAX, &num) != 0)
                return usage_error();
            o->n = (unsigned)num;
            break;
        case 1:
            if (!*v) {
                fprintf(stderr, "mockapi run: --ready-file: empty value; give a file name\n");
                return usage_error();
            }
            o->ready_file = v;
            break;
        case 2: {
            if (o->nasserts >= RUN_MAX_ASSERTS) {
                fprintf(stderr, "mockapi run: --assert given more than %d times\n", RUN_MAX_ASSERTS);
                return usage_error();
            }
            run_assert *ra = &o->asserts[o->nasserts++];
            size_t d = strspn(v, "0123456789");
            ra->file = v;
            ra->instance = 0;
            if (d > 0 && d <= 2 && v[d] == ':') { /* K:FILE (a file named "1:x" is ./1:x) */
                ra->instance = (unsigned)atoi(v);
                ra->file = v + d + 1;
            }
            if (!*ra->file) {
                fprintf(stderr, "mockapi run: --assert \"%s\": no file name\n", v);
                return usage_error();
            }
            break;
        }
        case 4:
            if (cli_parse_duration("run --timeout", v, 86400000ULL, &o->timeout_ms) != 0)
                return usage_error();
            break;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "mockapi run: no command: give it after --, as in mockapi run -n 2 -- sh test.sh\n");
        return usage_error();
    }
    if (i + 1 >= argc || !argv[i + 1][0]) {
        fprintf(stderr, "mockapi run: no command after --: give the command to run, as in mockapi run -- sh test.sh\n");
        return usage_error();
    }
    o->cmd = argv + i + 1;
    for (int k = 0; k < o->nasserts; k++)
        if (o->asserts[k].instance >= o->n) {
            fprintf(stderr, "mockapi run: --assert %u:%s: there %s only %u instance%s (0 to %u); give -n %u or more\n",
                    o->asserts[k].instance, o->asserts[k].file, o->n == 1 ? "is" : "are", o->n,
                    o->n == 1 ? "" : "s", o->n - 1, o->asserts[k].instance + 1);
            return usage_error();
        }
    /* the environment counts as the flag, as it does for serve */
    const char *e;
    if (!o->has_addr && (e = getenv("MOCKAPI_LISTEN_ADDR")) && *e)
        o->has_addr = true;
    if (!o->has_tls && (e = getenv("MOCKAPI_TLS_LISTEN_ADDR"))) {
        o->has_tls = true;
        o->tls_off = !*e || strcmp(e, "off") == 0;
    }
    if (!o->has_cadir && (e = getenv("MOCKAPI_TLS_CA_DIR")) && *e)
        o->has_cadir = true;
    if (!o->admin_token && (e = getenv("MOCKAPI_ADMIN_TOKEN")) && *e)
        o->admin_token = e;
    return -1;
}

/* ---- processes ------------------------------------------------------------------ */

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct inst {
    pid_t pid;
    int rfd;          /* the ready pipe's read end; -1 once read */
    char line[16384]; /* the readiness line, without its newline */
    size_t len;
    bool ready, reaped;
    int status;       /* wait status once reaped */
    char log[PATH_MAX];
    json_t *j;        /* the line, parsed */
} inst;

static sigset_t orig_mask; /* restored in every child before exec */
static int sigfd = -1;

/* Drains the signalfd; returns the last SIGINT/SIGTERM read, or 0. */
static int drain_signals(void)
{
    struct signalfd_siginfo si;
    int got = 0;
    while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si)
        if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)
            got = (int)si.ssi_signo;
    return got;
}

static int wait_code(int st)
{
    return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
}

/* Reaps every instance still running within ms (nothing sent). */
static void reap_all(inst *in, unsigned n, long long ms)
{
    long long deadline = mono_ms() + ms;
    for (;;) {
        bool all = true;
        for (unsigned k = 0; k < n; k++) {
            if (in[k].reaped || in[k].pid <= 0)
                continue;
            pid_t r = waitpid(in[k].pid, &in[k].status, WNOHANG);
            if (r == in[k].pid || (r < 0 && errno == ECHILD))
                in[k].reaped = true;
            else
                all = false;
        }
        long long left = deadline - mono_ms();
        if (all || left <= 0)
            return;
        struct pollfd p = {.fd = sigfd, .events = POLLIN};
        if (poll(&p, 1, (int)left) > 0)
            drain_signals();
    }
}

/* SIGTERM, RUN_STOP_MS to exit, then SIGKILL. */
static void stop_all(inst *in, unsigned n)
{
    for (unsigned k = 0; k < n; k++)
        if (in[k].pid > 0 && !in[k].reaped)
            kill(in[k].pid, SIGTERM);
    reap_all(in, n, RUN_STOP_MS);
    for (unsigned k = 0; k < n; k++)
        if (in[k].pid > 0 && !in[k].reaped) {
            fprintf(stderr, "mockapi run: instance %u (pid %ld) did not stop within %d ms of SIGTERM: killed\n", k,
                    (long)in[k].pid, RUN_STOP_MS);
            kill(in[k].pid, SIGKILL);
            waitpid(in[k].pid, &in[k].status, 0);
            in[k].reaped = true;
        }
}

/* Removes run's temporary folder: files, and the CA folder's files. */
static void remove_tree(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[PATH_MAX];
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p)
            continue;
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode) && depth < 2)
            remove_tree(p, depth + 1);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* Prints the last RUN_LOG_LINES lines of an instance's stderr; with
 * errors_only, its "mockapi: " lines (a refused flag's message comes before
 * the usage text, which would fill the tail). */
static void print_log(const inst *in, bool errors_only)
{
    FILE *f = fopen(in->log, "r");
    if (!f)
        return;
    char *lines[RUN_LOG_LINES] = {0};
    unsigned count = 0;
    char *l = NULL;
    size_t cap = 0;
    while (getline(&l, &cap, f) > 0) {
        if (errors_only && strncmp(l, "mockapi: ", 9) != 0)
            continue;
        free(lines[count % RUN_LOG_LINES]);
        lines[count % RUN_LOG_LINES] = strdup(l);
        count++;
    }
    free(l);
    fclose(f);
    unsigned from = count > RUN_LOG_LINES ? count - RUN_LOG_LINES : 0;
    for (unsigned k = from; k < count; k++) {
        const char *s = lines[k % RUN_LOG_LINES];
        if (s)
            fprintf(stderr, "  | %s%s", s, s[strlen(s) - 1] == '\n' ? "" : "\n");
    }
    for (unsigned k = 0; k < RUN_LOG_LINES; k++)
        free(lines[k]);
}

/* This binary's path, for exec'ing instances and finding mockassert. */
static int self_path(char *buf, size_t cap)
{
    ssize_t l = readlink("/proc/self/exe", buf, cap - 1);
    if (l <= 0)
        return -1;
    buf[l] = '\0';
    return 0;
}

/* Starts instance k. 0, or -1 (message printed). */
static int start_instance(inst *in, unsigned k, const run_opts *o, const char *self, const char *tmp,
                          int devnull)
{
    int p[2];
    char eb[128];
    char fdnum[16], cadir[PATH_MAX];
    if (snprintf(in->log, sizeof in->log, "%s/instance-%u.log", tmp, k) >= (int)sizeof in->log ||
        snprintf(cadir, sizeof cadir, "%s/ca", tmp) >= (int)sizeof cadir) {
        fprintf(stderr, "mockapi run: the temporary folder's name is too long: %s\n", tmp);
        return -1;
    }
    int lfd = open(in->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (lfd < 0 || pipe2(p, O_CLOEXEC) != 0) {
        fprintf(stderr, "mockapi run: instance %u: %s\n", k, strerror_r(errno, eb, sizeof eb));
        if (lfd >= 0)
            close(lfd);
        return -1;
    }
    snprintf(fdnum, sizeof fdnum, "%d", p[1]);
    const char **argv = calloc((size_t)o->nserve + 12, sizeof *argv);
    if (!argv) {
        fprintf(stderr, "mockapi run: instance %u: out of memory\n", k);
        close(lfd);
        close(p[0]);
        close(p[1]);
        return -1;
    }
    int a = 0;
    argv[a++] = "mockapi";
    for (int i = 0; i < o->nserve; i++)
        argv[a++] = o->serve[i];
    if (!o->has_addr) {
        argv[a++] = "-addr";
        argv[a++] = "127.0.0.1:0";
    }
    if (!o->has_tls) {
        argv[a++] = "-tls-addr";
        argv[a++] = "127.0.0.1:0";
    }
    if (!o->tls_off && !o->has_cadir) {
        argv[a++] = "-tls-ca-dir";
        argv[a++] = cadir;
    }
    argv[a++] = "-ready-fd";
    argv[a++] = fdnum;
    argv[a] = NULL;
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "mockapi run: instance %u: fork: %s\n", k, strerror_r(errno, eb, sizeof eb));
        free(argv);
        close(lfd);
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        dup2(devnull, 0);
        dup2(devnull, 1); /* its MOCKAPI_ADDR= lines: the readiness line says it all */
        dup2(lfd, 2);
        fcntl(p[1], F_SETFD, 0); /* the one descriptor the server inherits */
        sigprocmask(SIG_SETMASK, &orig_mask, NULL);
        execv(self, (char *const *)argv);
        dprintf(2, "mockapi run: cannot execute %s: %s\n", self, strerror(errno));
        _exit(126);
    }
    setpgid(pid, pid); /* either side may win the race; both set the same */
    free(argv);
    close(lfd);
    close(p[1]);
    in->pid = pid;
    in->rfd = p[0];
    return 0;
}

/* Waits for every instance's line. 0 when all are ready; else the exit
 * status, with the message printed (the instances are left to the caller). */
static int await_ready(inst *in, unsigned n, unsigned long long timeout_ms)
{
    long long deadline = mono_ms() + (long long)timeout_ms;
    unsigned pending = n;
    while (pending > 0) {
        struct pollfd p[RUN_MAX + 1];
        unsigned idx[RUN_MAX];
        nfds_t np = 0;
        for (unsigned k = 0; k < n; k++)
            if (in[k].rfd >= 0) {
                idx[np] = k;
                p[np++] = (struct pollfd){.fd = in[k].rfd, .events = POLLIN};
            }
        p[np] = (struct pollfd){.fd = sigfd, .events = POLLIN};
        long long left = deadline - mono_ms();
        int r = left > 0 ? poll(p, np + 1, (int)(left > INT_MAX ? INT_MAX : left)) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            for (unsigned k = 0; k < n; k++)
                if (!in[k].ready) {
                    fprintf(stderr, "mockapi run: instance %u (pid %ld) not ready within %llu ms (--timeout); "
                                    "the last lines of its stderr:\n", k, (long)in[k].pid, timeout_ms);
                    print_log(&in[k], false);
                    break;
                }
            return RUN_EXIT_NOT_READY;
        }
        if (p[np].revents) {
            int sig = drain_signals();
            if (sig) {
                fprintf(stderr, "mockapi run: %s while starting the instances: stopping them\n",
                        sig == SIGINT ? "SIGINT" : "SIGTERM");
                return 128 + sig;
            }
        }
        for (nfds_t q = 0; q < np; q++) {
            if (!p[q].revents)
                continue;
            inst *it = &in[idx[q]];
            ssize_t got = read(it->rfd, it->line + it->len, sizeof it->line - 1 - it->len);
            if (got < 0 && errno == EINTR)
                continue;
            if (got > 0)
                it->len += (size_t)got;
            char *nl = memchr(it->line, '\n', it->len);
            if (nl || got <= 0 || it->len >= sizeof it->line - 1) {
                close(it->rfd);
                it->rfd = -1;
                pending--;
                json_error_t je;
                if (nl) {
                    *nl = '\0';
                    it->len = (size_t)(nl - it->line);
                    it->j = json_loadb(it->line, it->len, 0, &je);
                }
                if (nl && json_is_object(it->j) && json_string_value(json_object_get(it->j, "url"))) {
                    it->ready = true;
                    continue;
                }
                unsigned k = idx[q];
                if (nl) {
                    fprintf(stderr, "mockapi run: instance %u (pid %ld) wrote a readiness line run cannot "
                                    "read: %.200s\n", k, (long)it->pid, it->line);
                    return RUN_EXIT_NOT_READY;
                }
                /* end of file without a line: it exited (or closed the pipe) */
                reap_all(it, 1, RUN_STOP_MS);
                int code = it->reaped ? wait_code(it->status) : -1;
                if (code == CLI_EXIT_USAGE) {
                    fprintf(stderr, "mockapi run: instance %u refused its flags (exit 2):\n", k);
                    print_log(it, true);
                    return CLI_EXIT_USAGE;
                }
                if (code >= 0)
                    fprintf(stderr, "mockapi run: instance %u (pid %ld) exited with status %d before it was ready; "
                                    "the last lines of its stderr:\n", k, (long)it->pid, code);
                else
                    fprintf(stderr, "mockapi run: instance %u (pid %ld) closed its readiness pipe without a line; "
                                    "the last lines of its stderr:\n", k, (long)it->pid);
                print_log(it, false);
                return RUN_EXIT_NOT_READY;
            }
        }
    }
    return 0;
}

/* ---- the ready file --------------------------------------------------------------- */

/* Reads F's instances (a JSON array, new reference) or NULL. */
static json_t *read_ready_file(const char *f, char *why, size_t wcap)
{
    json_error_t je;
    json_t *j = json_load_file(f, 0, &je);
    if (!j) {
        snprintf(why, wcap, "%s", je.text);
        return NULL;
    }
    json_t *a = json_object_get(j, "instances");
    if (!json_is_array(a) || json_array_size(a) == 0) {
        snprintf(why, wcap, "no \"instances\" array");
        json_decref(j);
        return NULL;
    }
    json_incref(a);
    json_decref(j);
    return a;
}

/* True when every instance of a answers GET /test/health (200, or 401 from
 * a server with an admin token, as `mockapi wait` counts it). */
static bool all_healthy(json_t *a, char *why, size_t wcap)
{
    size_t k;
    json_t *v;
    json_array_foreach(a, k, v)
    {
        const char *u = json_string_value(json_object_get(v, "url"));
        if (!u) {
            snprintf(why, wcap, "instance %zu has no \"url\"", k);
            return false;
        }
        char h[600], err[256] = "";
        int status = 0;
        snprintf(h, sizeof h, "%s/test/health", u);
        if (mockapi_check(h, RUN_HEALTH_MS, &status, err, sizeof err) != 0) {
            snprintf(why, wcap, "instance %zu (%s) does not answer: %s", k, u, err);
            return false;
        }
        if (status != 200 && status != 401) {
            snprintf(why, wcap, "instance %zu (%s): /test/health answered %d", k, u, status);
            return false;
        }
    }
    return true;
}

/* Sets CMD's environment from the instances' lines (also clears what an
 * outer run may have left for indexes past ours). */
static void export_env(json_t *a, const char *ready_file)
{
    char name[64], num[16];
    size_t n = json_array_size(a);
    for (size_t k = 0; k < RUN_MAX; k++) {
        json_t *v = k < n ? json_array_get(a, k) : NULL;
        const char *u = json_string_value(json_object_get(v, "url"));
        const char *t = json_string_value(json_object_get(v, "tls_url"));
        snprintf(name, sizeof name, "MOCKAPI_URL_%zu", k);
        if (u)
            setenv(name, u, 1);
        else
            unsetenv(name);
        snprintf(name, sizeof name, "MOCKAPI_TLS_URL_%zu", k);
        if (t)
            setenv(name, t, 1);
        else
            unsetenv(name);
    }
    json_t *v0 = json_array_get(a, 0);
    setenv("MOCKAPI_URL", json_string_value(json_object_get(v0, "url")), 1);
    const char *ca = json_string_value(json_object_get(v0, "ca"));
    if (ca)
        setenv("MOCKAPI_CA", ca, 1);
    else
        unsetenv("MOCKAPI_CA");
    snprintf(num, sizeof num, "%zu", n);
    setenv("MOCKAPI_INSTANCES", num, 1);
    if (ready_file)
        setenv("MOCKAPI_READY_FILE", ready_file, 1);
    else
        unsetenv("MOCKAPI_READY_FILE");
}

/* ---- CMD and mockassert -------------------------------------------------------------- */

/* Runs argv (PATH searched) in a process group of its own, forwarding
 * SIGINT/SIGTERM to the group, handing it the terminal when run holds it.
 * Returns its status as a shell reports it (126/127 when it cannot be
 * executed, message printed); *sig the signal forwarded, if any. */
static int run_child(char *const *argv, int *sig)
{
    int ep[2];
    char eb[128];
    if (pipe2(ep, O_CLOEXEC) != 0) {
        fprintf(stderr, "mockapi run: pipe: %s\n", strerror_r(errno, eb, sizeof eb));
        return 126;
    }
    bool tty = isatty(0) && tcgetpgrp(0) == getpgrp();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "mockapi run: fork: %s\n", strerror_r(errno, eb, sizeof eb));
        close(ep[0]);
        close(ep[1]);
        return 126;
    }
    if (pid == 0) {
        setpgid(0, 0);
        if (tty)
            tcsetpgrp(0, getpid()); /* SIGTTOU is blocked here until the mask is restored */
        sigprocmask(SIG_SETMASK, &orig_mask, NULL);
        execvp(argv[0], argv);
        int e = errno;
        ssize_t w = write(ep[1], &e, sizeof e);
        (void)w;
        _exit(e == ENOENT ? 127 : 126);
    }
    setpgid(pid, pid);
    if (tty)
        tcsetpgrp(0, pid);
    close(ep[1]);
    int e = 0;
    ssize_t got;
    while ((got = read(ep[0], &e, sizeof e)) < 0 && errno == EINTR)
        ;
    close(ep[0]);
    int st = 0;
    if (got == (ssize_t)sizeof e) { /* exec failed: the child says why */
        waitpid(pid, &st, 0);
        if (tty)
            tcsetpgrp(0, getpgrp());
        fprintf(stderr, "mockapi run: %s: %s\n", argv[0], strerror_r(e, eb, sizeof eb));
        return e == ENOENT ? 127 : 126;
    }
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            break;
        struct pollfd p = {.fd = sigfd, .events = POLLIN};
        if (poll(&p, 1, -1) > 0) {
            int s = drain_signals();
            if (s) {
                *sig = s;
                kill(-pid, s);
            }
        }
    }
    if (tty)
        tcsetpgrp(0, getpgrp());
    return wait_code(st);
}

/* mockassert: next to this binary when it is there, else from PATH. */
static void mockassert_path(char *buf, size_t cap, const char *self)
{
    const char *slash = strrchr(self, '/');
    if (slash && (size_t)(slash - self) + 12 < cap) {
        if (snprintf(buf, cap, "%.*s/mockassert", (int)(slash - self), self) < (int)cap && access(buf, X_OK) == 0)
            return;
    }
    snprintf(buf, cap, "mockassert");
}

/* ---- the command ------------------------------------------------------------------------ */

int run_main(int argc, char **argv, int first)
{
    run_opts o;
    int rc = run_parse(argc, argv, first, &o);
    if (rc >= 0) {
        free(o.serve);
        return rc;
    }
    char self[PATH_MAX], eb[128];
    if (self_path(self, sizeof self) != 0) {
        fprintf(stderr, "mockapi run: cannot find this binary (/proc/self/exe): %s\n", strerror_r(errno, eb, sizeof eb));
        free(o.serve);
        return CLI_EXIT_FAIL;
    }
    /* an instance must not take these from run's environment: each gets
     * its own -ready-fd, and the file is run's */
    unsetenv("MOCKAPI_READY_FILE");
    unsetenv("MOCKAPI_READY_FD");

    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &orig_mask);
    sigfd = signalfd(-1, &block, SFD_NONBLOCK | SFD_CLOEXEC);
    sigaddset(&block, SIGTTOU); /* handing the terminal back from the background */
    sigprocmask(SIG_BLOCK, &block, NULL);
    if (sigfd < 0) {
        fprintf(stderr, "mockapi run: signalfd: %s\n", strerror_r(errno, eb, sizeof eb));
        free(o.serve);
        return CLI_EXIT_FAIL;
    }

    /* Reuse: F names instances that all answer */
    json_t *reuse = NULL;
    if (o.ready_file && access(o.ready_file, F_OK) == 0) {
        char why[512] = "";
        json_t *a = read_ready_file(o.ready_file, why, sizeof why);
        if (a && all_healthy(a, why, sizeof why)) {
            if (json_array_size(a) != o.n) {
                fprintf(stderr, "mockapi run: %s names %zu running instance%s but -n %u was asked: use them "
                                "with -n %zu, or stop them (their pids are in the file) or give another --ready-file\n",
                        o.ready_file, json_array_size(a), json_array_size(a) == 1 ? "" : "s", o.n,
                        json_array_size(a));
                json_decref(a);
                free(o.serve);
                return CLI_EXIT_USAGE;
            }
            reuse = a;
        } else {
            fprintf(stderr, "mockapi run: %s is stale (%s): starting new instances\n", o.ready_file, why);
            json_decref(a);
        }
    }

    inst *in = NULL;
    char tmp[PATH_MAX] = "", rtmp[PATH_MAX] = "";
    int rtmp_fd = -1, sig = 0;
    json_t *arr = reuse;
    struct stat placed = {0};
    bool placed_ok = false;
    if (reuse) {
        fprintf(stderr, "mockapi run: reusing %zu instance%s from %s\n", json_array_size(reuse),
                json_array_size(reuse) == 1 ? "" : "s", o.ready_file);
    } else {
        in = calloc(o.n, sizeof *in);
        const char *td = getenv("TMPDIR");
        errno = ENAMETOOLONG;
        if (!in || snprintf(tmp, sizeof tmp, "%s/mockapi-run.XXXXXX", td && *td ? td : "/tmp") >= (int)sizeof tmp ||
            !mkdtemp(tmp)) {
            fprintf(stderr, "mockapi run: cannot make a temporary folder %s: %s\n", tmp,
                    strerror_r(errno, eb, sizeof eb));
            free(in);
            free(o.serve);
            return CLI_EXIT_FAIL;
        }
        /* the ready file's temporary name first: a folder we cannot write is
         * a usage error before anything starts */
        if (o.ready_file) {
            rtmp_fd = -1;
            errno = ENAMETOOLONG;
            if (snprintf(rtmp, sizeof rtmp, "%s.%ld.tmp", o.ready_file, (long)getpid()) < (int)sizeof rtmp)
                rtmp_fd = open(rtmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
            if (rtmp_fd < 0) {
                fprintf(stderr, "mockapi run: --ready-file: cannot write %s: %s\n", rtmp,
                        strerror_r(errno, eb, sizeof eb));
                remove_tree(tmp, 0);
                free(in);
                free(o.serve);
                return CLI_EXIT_USAGE;
            }
        }
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        for (unsigned k = 0; k < o.n; k++) {
            in[k].rfd = -1;
            if (start_instance(&in[k], k, &o, self, tmp, devnull) != 0) {
                rc = CLI_EXIT_FAIL;
                break;
            }
        }
        if (devnull >= 0)
            close(devnull);
        if (rc < 0)
            rc = await_ready(in, o.n, o.timeout_ms);
        if (rc == 0) {
            /* one file: every instance's line as it wrote it, and instance
             * 0's url on top so `mockapi wait --ready-file F` reads it too */
            arr = json_array();
            for (unsigned k = 0; k < o.n; k++)
                json_array_append(arr, in[k].j);
            if (rtmp_fd >= 0) {
                FILE *f = fdopen(rtmp_fd, "w");
                int bad = !f;
                if (f) {
                    fputs("{\"url\":", f);
                    json_dumpf(json_object_get(in[0].j, "url"), f, JSON_ENCODE_ANY);
                    fputs(",\"instances\":[", f);
                    for (unsigned k = 0; k < o.n; k++)
                        fprintf(f, "%s%s", k ? "," : "", in[k].line);
                    fputs("]}\n", f);
                    bad = ferror(f) | (fstat(fileno(f), &placed) != 0);
                    bad |= fclose(f) != 0;
                } else {
                    close(rtmp_fd);
                }
                rtmp_fd = -1;
                if (bad || rename(rtmp, o.ready_file) != 0) {
                    fprintf(stderr, "mockapi run: --ready-file: cannot write %s: %s\n", o.ready_file,
                            strerror_r(errno, eb, sizeof eb));
                    unlink(rtmp);
                    rc = CLI_EXIT_FAIL;
                } else {
                    placed_ok = true;
                }
            }
        }
        if (rc != 0) {
            if (rc > 128)
                sig = rc - 128;
            if (rtmp_fd >= 0) {
                close(rtmp_fd);
                unlink(rtmp);
            }
            stop_all(in, o.n);
            remove_tree(tmp, 0);
            goto out;
        }
    }

    export_env(arr, o.ready_file);
    rc = run_child(o.cmd, &sig);
    bool cmd_started = rc != 126 && rc != 127; /* (a command's own 126/127 skips the asserts too) */
    int arc = 0;
    if (!sig && cmd_started) {
        char ma[PATH_MAX];
        mockassert_path(ma, sizeof ma, self);
        for (int k = 0; k < o.nasserts && !sig; k++) {
            const char *url = json_string_value(json_object_get(json_array_get(arr, o.asserts[k].instance), "url"));
            char *av[8];
            int a = 0;
            av[a++] = ma;
            av[a++] = "--server";
            av[a++] = (char *)url;
            if (o.admin_token) {
                av[a++] = "--admin-token";
                av[a++] = (char *)o.admin_token;
            }
            av[a++] = (char *)o.asserts[k].file;
            av[a] = NULL;
            int r = run_child(av, &sig);
            if (r != 0 && arc == 0)
                arc = r;
        }
    }
    if (rc == 0)
        rc = arc;
    if (sig && rc == 0)
        rc = 128 + sig;

    if (reuse)
        goto out; /* not ours to stop */
    if (rc != 0 && o.keep) {
        fprintf(stderr, "mockapi run: exit status %d; --keep-on-failure: leaving %u instance%s up:\n", rc, o.n,
                o.n == 1 ? "" : "s");
        for (unsigned k = 0; k < o.n; k++)
            fprintf(stderr, "  instance %u: pid %ld, page %s, log %s\n", k, (long)in[k].pid,
                    json_string_value(json_object_get(in[k].j, "page")), in[k].log);
        fprintf(stderr, "  stop them with: kill");
        for (unsigned k = 0; k < o.n; k++)
            fprintf(stderr, " %ld", (long)in[k].pid);
        fprintf(stderr, "; then remove %s%s%s\n", tmp, placed_ok ? " and " : "", placed_ok ? o.ready_file : "");
        goto out;
    }
    stop_all(in, o.n);
    remove_tree(tmp, 0);
    struct stat now;
    if (placed_ok && lstat(o.ready_file, &now) == 0 && now.st_dev == placed.st_dev && now.st_ino == placed.st_ino)
        unlink(o.ready_file); /* still ours: a later run may have put its own there */

out:
    if (in)
        for (unsigned k = 0; k < o.n; k++) {
            json_decref(in[k].j);
            if (in[k].rfd >= 0)
                close(in[k].rfd);
        }
    if (arr != reuse)
        json_decref(arr);
    json_decref(reuse);
    free(in);
    free(o.serve);
    close(sigfd);
    return rc;
}
