/* main.c: the mockassert command line: arguments, the commands (run, lint,
 * snapshot, wait, reset) wired from the modules, and the documented exit
 * codes:
 *   0 every expectation met (lint: the files are valid; snapshot: written)
 *   1 an expectation failed (snapshot: a key had nothing captured)
 *   2 usage error, an invalid expectation file (with line and column), or
 *     an output file that cannot be written
 *   3 the verdict cannot be trusted: the server is unreachable or answered
 *     something unexpected, or the journal evicted entries an expectation
 *     needed (also: out of memory)
 * Results go to stdout, diagnostics to stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "mockapi.h" /* MOCKAPI_VERSION: one version for both binaries */
#include "eval.h"
#include "report.h"
#include "session_id.h"
#include "snapshot.h"
#include "spec.h"

#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_UNTRUSTED 3

static const char usage[] =
    "usage: mockassert [run] [options] FILE...     check expectation files against a running mockapi\n"
    "       mockassert lint FILE...                check expectation files without a server\n"
    "       mockassert snapshot [options] KEY...   write the captured bodies as a starting expectation file\n"
    "       mockassert wait [options]              wait until the server answers GET /test/assertions\n"
    "       mockassert reset [options]             POST /test/reset: counters, captures and journal cleared\n"
    "\n"
    "options:\n"
    "  --server URL        the mockapi to ask: http://host:port, https://host:port, or host:port (as\n"
    "                      printed in MOCKAPI_ADDR=). Default: $MOCKAPI_URL, else $MOCKAPI_ADDR,\n"
    "                      else the files' server: key\n"
    "  --cacert FILE       CA certificate (PEM) to verify an https server (mockapi -tls-ca-out FILE)\n"
    "  --insecure          do not verify the https server's certificate (not the default)\n"
    "  --admin-token T     sent as Authorization: Bearer T on every request (mockapi -admin-token).\n"
    "                      Default: $MOCKAPI_ADMIN_TOKEN\n"
    "  --session ID        that session only: X-Mockapi-Session: ID on every request (ID: 1 to 64 of\n"
    "                      A-Z a-z 0-9 _ . -). Default: the files' session: key, else the default session\n"
    "  --format FMT        text (default), json, or github: GitHub Actions ::error annotations, one per\n"
    "                      failed expectation, followed by the text report\n"
    "  --junit FILE        also write the results as JUnit XML to FILE\n"
    "  --color WHEN        auto (default: on a terminal unless NO_COLOR is set), always, never\n"
    "  --no-color          the same as --color=never\n"
    "  -q, --quiet         text: print only what failed, and the closing line\n"
    "  --nearest N         journal entries shown per failure (default 5; 0 shows none)\n"
    "  --timeout T         per HTTP request, waits aside (default 10000 ms); wait: the whole wait\n"
    "                      (default 30s). Milliseconds, or a duration such as 30s or 500ms\n"
    "  -o, --output FILE   snapshot: write to FILE instead of stdout\n"
    "  -h, --help          this text\n"
    "  --version           the version\n"
    "\n"
    "FILE may be - for stdin. Options may also be written --opt=value.\n"
    "\n"
    "exit status:\n"
    "  0  every expectation was met (lint: valid; snapshot: every key had a capture)\n"
    "  1  an expectation failed (snapshot: a key had nothing captured)\n"
    "  2  usage error, invalid expectation file (reported as file:line:col), or an unwritable output file\n"
    "  3  the verdict cannot be trusted: server unreachable or unexpected answer, or the journal\n"
    "     evicted entries an expectation needed (wait: timed out or refused; reset: not 204)\n"
    "\n"
    "The file format is described in assert/README.md.\n";

typedef struct {
    const char *cmd;
    const char *server;
    const char *cacert;
    int insecure;
    const char *admin_token;
    const char *session; /* --session, checked */
    int json;
    int github;
    int timeout_given;
    const char *junit;
    int color; /* -1 auto, 0 never, 1 always */
    int quiet;
    long nearest;
    long timeout_ms;
    const char *output;
    const char **args;
    size_t nargs;
} options;

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mockassert: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n(see mockassert --help)\n", stderr);
    return EXIT_USAGE;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Returns -1 to continue, or an exit status. */
static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->cmd = "run";
    o->color = -1;
    o->nearest = 5;
    o->timeout_ms = 10000;
    o->args = calloc((size_t)argc + 1, sizeof *o->args);
    if (!o->args)
        ma_oom();
    int i = 1;
    if (i < argc && (!strcmp(argv[i], "run") || !strcmp(argv[i], "lint") || !strcmp(argv[i], "snapshot") ||
                     !strcmp(argv[i], "wait") || !strcmp(argv[i], "reset")))
        o->cmd = argv[i++];
    int only_args = 0;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (only_args || a[0] != '-' || !strcmp(a, "-")) {
            o->args[o->nargs++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_args = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return EXIT_OK;
        }
        if (!strcmp(a, "--version")) {
            puts("mockassert " MOCKAPI_VERSION);
            return EXIT_OK;
        }
        /* --name=value or --name value */
        char name[32];
        const char *val = NULL;
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        if (nlen >= sizeof name)
            return usage_error("unknown option %s", a);
        memcpy(name, a, nlen);
        name[nlen] = '\0';
        if (eq)
            val = eq + 1;
        static const char *const flags[] = {"--insecure", "--no-color", "-q", "--quiet"};
        int is_flag = 0;
        for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
            is_flag |= !strcmp(name, flags[k]);
        int color_bare = !strcmp(name, "--color") && !val &&
                         (i + 1 >= argc || (strcmp(argv[i + 1], "auto") && strcmp(argv[i + 1], "always") &&
                                            strcmp(argv[i + 1], "never")));
        if (is_flag) {
            if (val)
                return usage_error("%s takes no value", name);
        } else if (color_bare) {
            val = "always";
        } else if (!val) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", name);
            val = argv[++i];
        }
        if (!strcmp(name, "--server"))
            o->server = val;
        else if (!strcmp(name, "--cacert"))
            o->cacert = val;
        else if (!strcmp(name, "--insecure"))
            o->insecure = 1;
        else if (!strcmp(name, "--admin-token"))
            o->admin_token = val;
        else if (!strcmp(name, "--session")) {
            char why[96];
            if (ma_session_id_check(val, strlen(val), NULL, why, sizeof why) < 0)
                return usage_error("--session \"%s\": %s%s", val, MA_SESSION_ID_RULE, why);
            o->session = val;
        } else if (!strcmp(name, "--format")) {
            o->json = !strcmp(val, "json");
            o->github = !strcmp(val, "github");
            if (!o->json && !o->github && strcmp(val, "text"))
                return usage_error("--format is text, json or github, not %s", val);
        } else if (!strcmp(name, "--junit"))
            o->junit = val;
        else if (!strcmp(name, "--color")) {
            if (!strcmp(val, "auto"))
                o->color = -1;
            else if (!strcmp(val, "always"))
                o->color = 1;
            else if (!strcmp(val, "never"))
                o->color = 0;
            else
                return usage_error("--color is auto, always or never, not %s", val);
        } else if (!strcmp(name, "--no-color"))
            o->color = 0;
        else if (!strcmp(name, "-q") || !strcmp(name, "--quiet"))
            o->quiet = 1;
        else if (!strcmp(name, "--nearest")) {
            if (parse_long(val, 0, 1000, &o->nearest) < 0)
                return usage_error("--nearest needs a number from 0 to 1000, not %s", val);
        } else if (!strcmp(name, "--timeout")) {
            /* bare digits stay milliseconds (as before); a unit makes it a duration */
            int64_t ns = 0;
            const char *why;
            if (parse_long(val, 1, 3600000, &o->timeout_ms) < 0) {
                if (ma_parse_duration(val, &ns, &why) < 0 || ns < 1000000 || ns > 3600000LL * 1000000)
                    return usage_error("--timeout needs milliseconds or a duration (1ms to 1h), not %s", val);
                o->timeout_ms = (long)(ns / 1000000);
            }
            o->timeout_given = 1;
        } else if (!strcmp(name, "-o") || !strcmp(name, "--output"))
            o->output = val;
        else
            return usage_error("unknown option %s", name);
    }
    if (!o->admin_token) {
        const char *t = getenv("MOCKAPI_ADMIN_TOKEN");
        if (t && *t)
            o->admin_token = t;
    }
    if (!strcmp(o->cmd, "wait") || !strcmp(o->cmd, "reset")) {
        if (o->nargs)
            return usage_error("%s takes no FILE or KEY (%s)", o->cmd, o->args[0]);
        return -1;
    }
    if (o->nargs == 0)
        return usage_error("%s", !strcmp(o->cmd, "snapshot") ? "snapshot needs at least one capture KEY"
                                                             : "no expectation FILE given");
    return -1;
}

static int want_color(const options *o)
{
    if (o->color >= 0)
        return o->color;
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc)
        return 0;
    const char *term = getenv("TERM");
    if (term && !strcmp(term, "dumb"))
        return 0;
    return isatty(STDOUT_FILENO);
}

/* The server URL: --server, $MOCKAPI_URL, $MOCKAPI_ADDR (host:port, as the
 * binary prints it), the files' server: key (which must then agree). -1
 * with *url set, or an exit status. */
static int resolve_server(const options *o, ma_spec **specs, size_t n, char **url)
{
    const char *raw = o->server, *from = "--server";
    const char *env = getenv("MOCKAPI_URL");
    if (!raw && env && *env) {
        raw = env;
        from = "MOCKAPI_URL";
    }
    const char *addr = getenv("MOCKAPI_ADDR");
    if (!raw && addr && *addr) {
        raw = addr;
        from = "MOCKAPI_ADDR";
    }
    if (!raw) {
        for (size_t i = 0; i < n; i++) {
            if (!specs[i]->server)
                continue;
            if (!raw) {
                raw = specs[i]->server;
                from = specs[i]->file;
            } else if (strcmp(specs[i]->server, raw) != 0) {
                fprintf(stderr, "mockassert: %s and %s name different servers; choose one with --server\n", from,
                        specs[i]->file);
                return EXIT_USAGE;
            }
        }
    }
    if (!raw) {
        fputs("mockassert: no server: give --server URL, set MOCKAPI_URL or MOCKAPI_ADDR, or put server: in the file\n", stderr);
        return EXIT_USAGE;
    }
    const char *why;
    *url = ma_server_url(raw, &why);
    if (!*url) {
        fprintf(stderr, "mockassert: %s: bad server address \"%s\": %s\n", from, raw, why);
        return EXIT_USAGE;
    }
    return -1;
}

/* The session every request names: --session, else the files' session:
 * key (files that name one must name the same), else none (NULL: the
 * server's default session). -1 with *session set (borrowed), or an exit
 * status. */
static int resolve_session(const options *o, ma_spec **specs, size_t n, const char **session)
{
    *session = o->session;
    if (*session)
        return -1;
    const char *from = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!specs[i]->session)
            continue;
        if (!*session) {
            *session = specs[i]->session;
            from = specs[i]->file;
        } else if (strcmp(specs[i]->session, *session) != 0) {
            fprintf(stderr, "mockassert: %s and %s name different sessions (%s, %s); choose one with --session\n",
                    from, specs[i]->file, *session, specs[i]->session);
            return EXIT_USAGE;
        }
    }
    return -1;
}

static int source_get(void *ctx, const char *pq, long extra_ms, long *status, char **body, size_t *len, char *err,
                      size_t errlen)
{
    return ma_client_get(ctx, pq, extra_ms, status, body, len, err, errlen);
}

static int source_stream(void *ctx, const char *pq, long *status, char **body, size_t *len,
                         int (*sink)(void *arg, const char *p, size_t n), void *arg, char *err, size_t errlen)
{
    return ma_client_get_stream(ctx, pq, status, body, len, sink, arg, err, errlen);
}

static ma_client *connect_client(const options *o, const char *url, const char *session, int *rc)
{
    char err[256];
    if (o->cacert && access(o->cacert, R_OK) != 0) {
        fprintf(stderr, "mockassert: --cacert %s: cannot read the file\n", o->cacert);
        *rc = EXIT_USAGE;
        return NULL;
    }
    ma_client_opts co = {url, o->cacert, o->insecure, o->timeout_ms, o->admin_token, session};
    ma_client *c = ma_client_new(&co, err, sizeof err);
    if (!c) {
        fprintf(stderr, "mockassert: %s\n", err);
        *rc = EXIT_UNTRUSTED;
    }
    return c;
}

/* The server (resolve_server) and a client for it, naming the session
 * (resolve_session) on every request: -1 with *url and *client set (the
 * caller frees both) and *session (borrowed: o's or a spec's; may be
 * NULL), else the exit status. */
static int open_server(const options *o, ma_spec **specs, size_t nspecs, char **url, ma_client **client,
                       const char **session)
{
    int rc = resolve_session(o, specs, nspecs, session);
    if (rc >= 0)
        return rc;
    rc = resolve_server(o, specs, nspecs, url);
    if (rc >= 0)
        return rc;
    if (!(*client = connect_client(o, *url, *session, &rc))) {
        free(*url);
        *url = NULL;
        return rc;
    }
    return -1;
}

static void print_error(const ma_error *e, void *arg)
{
    ma_error_print(arg, e);
}

/* Every file, and every error in each (not only the first). */
static int load_all(const options *o, ma_spec ***specs_out)
{
    ma_spec **specs = calloc(o->nargs, sizeof *specs);
    if (!specs)
        ma_oom();
    int bad = 0;
    for (size_t i = 0; i < o->nargs; i++) {
        if (ma_spec_load_each(o->args[i], &specs[i], print_error, stderr) < 0)
            bad = 1;
    }
    *specs_out = specs;
    return bad ? EXIT_USAGE : -1;
}

static void free_all(ma_spec **specs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ma_spec_free(specs[i]);
    free(specs);
}

static int cmd_lint(const options *o)
{
    ma_spec **specs = NULL;
    int rc = load_all(o, &specs);
    for (size_t i = 0; i < o->nargs; i++) {
        if (!specs[i])
            continue;
        const char *why;
        char *u = specs[i]->server ? ma_server_url(specs[i]->server, &why) : NULL;
        if (specs[i]->server && !u) {
            fprintf(stderr, "%s: error: bad server address \"%s\": %s\n", specs[i]->file, specs[i]->server, why);
            rc = EXIT_USAGE;
            continue;
        }
        free(u);
        printf("%s: ok, %zu expectation%s\n", specs[i]->file, specs[i]->n, specs[i]->n == 1 ? "" : "s");
    }
    free_all(specs, o->nargs);
    return rc < 0 ? EXIT_OK : rc;
}

static int cmd_run(const options *o)
{
    int64_t t0 = ma_now_ns();
    ma_spec **specs = NULL;
    char *url = NULL;
    ma_client *client = NULL;
    ma_evaluator *ev = NULL;
    ma_result *results = NULL;
    size_t nres = 0;
    int rc = load_all(o, &specs);
    if (rc >= 0)
        goto out;
    const char *session = NULL;
    if ((rc = open_server(o, specs, o->nargs, &url, &client, &session)) >= 0)
        goto out;
    ma_eval_opts eo = {{client, source_get, source_stream}, (size_t)o->nearest, t0, url};
    ev = ma_eval_new(&eo);
    size_t total = 0;
    for (size_t i = 0; i < o->nargs; i++) {
        total += specs[i]->n;
        ma_eval_prepare(ev, specs[i]->v, specs[i]->n); /* the journal is read once, for all of them */
    }
    results = calloc(total ? total : 1, sizeof *results);
    if (!results)
        ma_oom();
    for (size_t i = 0; i < o->nargs; i++)
        for (size_t k = 0; k < specs[i]->n; k++)
            ma_eval_run(ev, &specs[i]->v[k], specs[i]->file, &results[nres++]);
    size_t passed, failed, untrusted;
    ma_report_counts(results, nres, &passed, &failed, &untrusted);
    rc = untrusted ? EXIT_UNTRUSTED : failed ? EXIT_FAILED : EXIT_OK;
    /* the JUnit file first: its failure changes the exit status, which the
     * JSON report states */
    if (o->junit) {
        char err[300];
        if (ma_report_junit(o->junit, results, nres, (double)(ma_now_ns() - t0) / 1e9, session, err, sizeof err) <
            0) {
            fprintf(stderr, "mockassert: --junit %s\n", err);
            if (rc == EXIT_OK || rc == EXIT_FAILED)
                rc = EXIT_USAGE;
        }
    }
    ma_report_opts ro = {want_color(o), o->quiet, url, session};
    if (o->github)
        ma_report_github(stdout, results, nres);
    if (o->json)
        ma_report_json(stdout, results, nres, rc, &ro);
    else
        ma_report_text(stdout, results, nres, &ro);
    if (fflush(stdout) != 0 && rc == EXIT_OK)
        rc = EXIT_USAGE;
out:
    for (size_t i = 0; i < nres; i++)
        ma_result_free(&results[i]);
    free(results);
    ma_eval_free(ev);
    ma_client_free(client);
    free(url);
    free_all(specs, o->nargs);
    return rc;
}

static int cmd_snapshot(const options *o)
{
    for (size_t i = 0; i < o->nargs; i++) {
        int ok = 0;
        for (size_t k = 0; k < MA_NKEYS; k++)
            ok |= !strcmp(o->args[i], ma_capture_keys[k]);
        if (!ok) {
            const char *s = ma_suggest(o->args[i], ma_capture_keys, MA_NKEYS);
            fprintf(stderr, "mockassert: unknown capture key \"%s\"%s%s%s\n", o->args[i], s ? " (did you mean " : "",
                    s ? s : "", s ? "?)" : "");
            return EXIT_USAGE;
        }
    }
    char *url = NULL;
    ma_client *client = NULL;
    const char *session = NULL;
    int rc = open_server(o, NULL, 0, &url, &client, &session);
    if (rc >= 0)
        return rc;
    ma_capture *caps = calloc(o->nargs, sizeof *caps);
    char **bodies = calloc(o->nargs, sizeof *bodies);
    if (!caps || !bodies)
        ma_oom();
    rc = EXIT_OK;
    char *who = NULL; /* not a mockapi: no file, a 404 there says nothing */
    if (ma_identify(&(ma_source){client, source_get, NULL}, url, NULL, &who) < 0) {
        fprintf(stderr, "mockassert: %s\n", who);
        free(who);
        rc = EXIT_UNTRUSTED;
    }
    for (size_t i = 0; i < o->nargs && rc != EXIT_UNTRUSTED; i++) {
        char pq[128], req[160], err[512], *problem;
        long st = 0;
        size_t len = 0;
        snprintf(pq, sizeof pq, "/test/last-request/%s", o->args[i]);
        snprintf(req, sizeof req, "GET %s", pq);
        caps[i].key = o->args[i];
        if (ma_client_get(client, pq, 0, &st, &bodies[i], &len, err, sizeof err) < 0) {
            fprintf(stderr, "mockassert: server unreachable: %s\n", err);
            rc = EXIT_UNTRUSTED;
        } else if (st == 200) {
            caps[i].found = 1;
            caps[i].body = bodies[i];
            caps[i].len = len;
        } else if (st == 404 && ma_is_no_capture(bodies[i], len)) {
            fprintf(stderr, "mockassert: nothing captured under %s\n", o->args[i]);
            rc = EXIT_FAILED;
        } else if ((problem = ma_session_problem(st, bodies[i], len, url, req))) {
            fprintf(stderr, "mockassert: %s\n", problem); /* it ended since */
            free(problem);
            rc = EXIT_UNTRUSTED;
        } else {
            fprintf(stderr, "mockassert: GET %s answered HTTP %ld\n", pq, st);
            rc = EXIT_UNTRUSTED;
        }
    }
    if (rc != EXIT_UNTRUSTED) {
        ma_buf out = {0};
        /* the comment names the session, the file does not: its id is usually one run's */
        char *source = session ? ma_xasprintf("%s, session %s", url, session) : ma_xstrdup(url);
        ma_snapshot_write(&out, caps, o->nargs, source);
        free(source);
        char *masked = ma_mask(ma_buf_str(&out));
        FILE *f = o->output ? fopen(o->output, "wb") : stdout;
        if (!f) {
            fprintf(stderr, "mockassert: -o %s: cannot open for writing\n", o->output);
            rc = EXIT_USAGE;
        } else {
            fputs(masked, f);
            if ((f == stdout ? fflush(f) : fclose(f)) != 0) {
                fprintf(stderr, "mockassert: write failed\n");
                rc = EXIT_USAGE;
            }
        }
        free(masked);
        ma_buf_free(&out);
    }
    for (size_t i = 0; i < o->nargs; i++)
        free(bodies[i]);
    free(bodies);
    free(caps);
    ma_client_free(client);
    free(url);
    return rc;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* wait: GET /test/assertions until it answers 200 or the deadline passes.
 * Only what a starting server does (refused, reset, timed out) is retried,
 * with a doubling pause capped at 500 ms; any HTTP answer but 200 is final:
 * waiting will not change a wrong URL or a missing admin token. */
static int cmd_wait(const options *o)
{
    long total_ms = o->timeout_given ? o->timeout_ms : 30000;
    options per = *o;
    per.timeout_ms = total_ms < 2000 ? total_ms : 2000; /* one attempt never eats the whole wait */
    char *url = NULL;
    ma_client *client = NULL;
    const char *session = NULL;
    int rc = open_server(&per, NULL, 0, &url, &client, &session);
    if (rc >= 0)
        return rc;
    int64_t deadline = ma_now_ns() + (int64_t)total_ms * 1000000;
    long pause = 20;
    int attempts = 0;
    char err[512] = "";
    rc = EXIT_UNTRUSTED;
    for (;;) {
        long st = 0;
        char *body = NULL;
        size_t len = 0;
        int retry = 0;
        attempts++;
        int r = ma_client_request(client, "GET", "/test/assertions", 0, &st, &body, &len, &retry, err, sizeof err);
        /* an unknown session or none where one is required: final, like any answer */
        char *problem = r == 0 ? ma_session_problem(st, body, len, url, "GET /test/assertions") : NULL;
        free(body);
        if (r == 0 && st == 200) {
            rc = EXIT_OK;
            break;
        }
        if (problem) {
            fprintf(stderr, "mockassert: wait: %s\n", problem);
            free(problem);
            break;
        }
        if (r == 0) {
            fprintf(stderr, "mockassert: wait: GET %s/test/assertions answered HTTP %ld%s\n", url, st,
                    st == 401 ? " (the server wants an admin token: --admin-token or MOCKAPI_ADMIN_TOKEN)" : "");
            break;
        }
        if (!retry) {
            fprintf(stderr, "mockassert: wait: %s\n", err);
            break;
        }
        int64_t left_ms = (deadline - ma_now_ns()) / 1000000;
        if (left_ms <= 0) {
            fprintf(stderr, "mockassert: wait: no answer from %s after %ld ms (%d attempts); last: %s\n", url,
                    total_ms, attempts, err);
            break;
        }
        sleep_ms(pause < left_ms ? pause : (long)left_ms);
        pause = pause * 2 > 500 ? 500 : pause * 2;
    }
    ma_client_free(client);
    free(url);
    return rc;
}

/* reset: POST /test/reset; 204 is the only success. */
static int cmd_reset(const options *o)
{
    char *url = NULL;
    ma_client *client = NULL;
    const char *session = NULL;
    int rc = open_server(o, NULL, 0, &url, &client, &session);
    if (rc >= 0)
        return rc;
    long st = 0;
    char *problem = NULL;
    char *body = NULL, err[512];
    size_t len = 0;
    if (ma_client_request(client, "POST", "/test/reset", 0, &st, &body, &len, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "mockassert: reset: server unreachable: %s\n", err);
        rc = EXIT_UNTRUSTED;
    } else if ((problem = ma_session_problem(st, body, len, url, "POST /test/reset"))) {
        fprintf(stderr, "mockassert: reset: %s\n", problem);
        free(problem);
        rc = EXIT_UNTRUSTED;
    } else if (st != 204) {
        fprintf(stderr, "mockassert: reset: POST %s/test/reset answered HTTP %ld%s\n", url, st,
                st == 401 ? " (the server wants an admin token: --admin-token or MOCKAPI_ADMIN_TOKEN)" : "");
        rc = EXIT_UNTRUSTED;
    } else
        rc = EXIT_OK;
    free(body);
    ma_client_free(client);
    free(url);
    return rc;
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc < 0) {
        if (!strcmp(o.cmd, "lint"))
            rc = cmd_lint(&o);
        else if (!strcmp(o.cmd, "snapshot"))
            rc = cmd_snapshot(&o);
        else if (!strcmp(o.cmd, "wait"))
            rc = cmd_wait(&o);
        else if (!strcmp(o.cmd, "reset"))
            rc = cmd_reset(&o);
        else
            rc = cmd_run(&o);
    }
    free(o.args);
    return rc;
}
