/* flags.c: Go-style flag parsing with environment fallbacks, and the flag
 * table of the default `serve` command.
 *
 * The syntax is Go's flag package's, which the reference mock's users type:
 * `-name value`, `-name=value`, `--name value`, `--name=value`. Unlike Go,
 * every flag takes a value (there are no booleans yet) and no positional
 * argument is accepted. No state outlives a call. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "certs.h"
#include "flags.h"
#include "suggest.h"

/* The known flag nearest to name[0..n) (underscores read as dashes, so
 * Go-ish `-tls_addr` finds `-tls-addr`), or NULL when none is close
 * (suggest.h says how close). */
static const char *nearest_flag(const cli_flag *flags, int nflags, const char *name, size_t n)
{
    char norm[64];
    const char *names[64];
    if (n == 0 || n >= sizeof norm || nflags > 64)
        return NULL;
    for (size_t i = 0; i < n; i++)
        norm[i] = name[i] == '_' ? '-' : name[i];
    norm[n] = '\0';
    for (int j = 0; j < nflags; j++)
        names[j] = flags[j].name;
    return mk_suggest(norm, names, (size_t)nflags);
}

cli_parse_result cli_parse_flags(cli_flag *flags, int n, int argc, char **argv, int first, cli_usage_fn usage)
{
    for (int i = 0; i < n; i++)
        if (flags[i].env && getenv(flags[i].env)) {
            flags[i].value = getenv(flags[i].env);
            flags[i].from_env = true;
            if (flags[i].values && flags[i].max_values > 0) {
                flags[i].values[0] = flags[i].value;
                flags[i].nvalues = 1;
            }
        }

    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "-help") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return CLI_HELP;
        }
        if (strcmp(a, "-version") == 0 || strcmp(a, "--version") == 0) {
            puts("mockapi " MOCKAPI_VERSION); /* the header's one version string */
            return CLI_HELP;
        }
        if (a[0] != '-') {
            fprintf(stderr, "mockapi: unexpected argument \"%s\" (every flag starts with -)\n", a);
            usage(stderr);
            return CLI_BAD_USAGE;
        }
        a += a[1] == '-' ? 2 : 1;
        if (a[0] == '\0' || a[0] == '-' || a[0] == '=') { /* "-", "--", "---x", "-=x": Go's words */
            fprintf(stderr, "mockapi: bad flag syntax: %s\n", argv[i]);
            usage(stderr);
            return CLI_BAD_USAGE;
        }
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        int k = -1;
        for (int j = 0; j < n; j++)
            if (strlen(flags[j].name) == nlen && strncmp(flags[j].name, a, nlen) == 0)
                k = j;
        if (k < 0) {
            const char *near = nearest_flag(flags, n, a, nlen);
            fprintf(stderr, "mockapi: flag provided but not defined: -%.*s", (int)nlen, a);
            if (near)
                fprintf(stderr, " (did you mean -%s?)", near);
            fputc('\n', stderr);
            usage(stderr);
            return CLI_BAD_USAGE;
        }
        if (eq) {
            flags[k].value = eq + 1;
        } else if (i + 1 < argc) {
            flags[k].value = argv[++i];
        } else {
            fprintf(stderr, "mockapi: flag needs an argument: -%s\n", flags[k].name);
            usage(stderr);
            return CLI_BAD_USAGE;
        }
        if (flags[k].values) { /* repeatable: the command line replaces the environment's */
            if (flags[k].from_env)
                flags[k].nvalues = 0;
            if (flags[k].nvalues >= flags[k].max_values) {
                fprintf(stderr, "mockapi: -%s given more than %d times\n", flags[k].name,
                        flags[k].max_values);
                return CLI_BAD_USAGE;
            }
            flags[k].values[flags[k].nvalues++] = flags[k].value;
        }
        flags[k].from_env = false;
    }
    return CLI_PARSED;
}

const char *cli_flag_label(const cli_flag *f, char *buf, size_t len)
{
    if (f->from_env && f->env)
        snprintf(buf, len, "%s (-%s)", f->env, f->name);
    else
        snprintf(buf, len, "-%s", f->name);
    return buf;
}

bool cli_flag_empty(const cli_flag *f, const char *what)
{
    if (!f->value || f->value[0] != '\0')
        return false;
    char lb[96];
    fprintf(stderr, "mockapi: %s: empty value; give %s\n", cli_flag_label(f, lb, sizeof lb), what);
    return true;
}

int cli_parse_number(const char *flag, const char *s, unsigned long long min, unsigned long long max,
                     unsigned long long *out)
{
    const char *why = NULL;
    unsigned long long v = 0;
    /* strtoull accepts "-1" (as a huge value), "+1" and leading blanks; a
     * number here is digits only, within its range. */
    size_t digits = strspn(s, "0123456789");
    if (!*s) {
        fprintf(stderr, "mockapi: %s: empty value; give a whole number from %llu to %llu\n", flag, min, max);
        return -1;
    }
    if (s[0] == '-' && s[1] && strspn(s + 1, "0123456789") == strlen(s + 1))
        why = "is negative";
    else if (digits != strlen(s))
        why = "is not a whole number";
    else {
        errno = 0;
        v = strtoull(s, NULL, 10);
        if (errno == ERANGE || v > max)
            why = "is too large";
        else if (v < min)
            why = "is too small";
    }
    if (why) {
        fprintf(stderr, "mockapi: %s: \"%s\" %s; give a whole number from %llu to %llu\n", flag, s, why,
                min, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- the serve command ---------------------------------------------------- */

static const char serve_usage_head[] =
    "usage: mockapi [flags]\n"
    "       mockapi COMMAND [arguments]\n"
    "\n"
    "A mock of the node-agent control plane (the plexd Central API).\n"
    "Prints MOCKAPI_ADDR=<host:port> (then, with regions, MOCKAPI_REGION_<i>=<host:port>\n"
    "per region, and MOCKAPI_TLS_ADDR=<host:port>) on stdout once it is serving;\n"
    "SIGINT or SIGTERM stop it with exit status 0. Once serving, it writes a JSON\n"
    "line to -ready-file and -ready-fd, and sends READY=1 to $NOTIFY_SOCKET when set.\n"
    "\n"
    "commands (without one, mockapi serves):\n";

static const char serve_usage_flags[] =
    "\n"
    "flags (each also read from the environment variable shown; a flag wins):\n"
    "  -addr ADDR             plain HTTP listener, host:port, [v6]:port or :port\n"
    "                         (:port = all interfaces)   [MOCKAPI_LISTEN_ADDR]\n"
    "                                                    (default 127.0.0.1:0)\n"
    "                         repeat it for regions: one listener each, regions\n"
    "                         0, 1, ... in order (at most 32)\n"
    "  -regions N             N regions (1..32) on the host of -addr: ports\n"
    "                         port, port+1, ... (port 0: a free port each); each\n"
    "                         prints MOCKAPI_REGION_<i>=, every response says\n"
    "                         X-Mockapi-Region                [MOCKAPI_REGIONS]\n"
    "  -tls-addr ADDR         TLS listener, same forms; \"\" or \"off\" disables it\n"
    "                                                    [MOCKAPI_TLS_LISTEN_ADDR]\n"
    "                                                    (default 127.0.0.1:8443)\n"
    "  -admin-token T         every /test/* route (both listeners) needs\n"
    "                         \"Authorization: Bearer T\" or \"X-Mockapi-Admin-Token: T\";\n"
    "                         without it, a TLS listener off loopback serves no\n"
    "                         /test/* route               [MOCKAPI_ADMIN_TOKEN]\n"
    "  -allow-host NAME       a host name browsers may use for the live page\n"
    "                         and /test/* (besides IP addresses and localhost);\n"
    "                         repeat for more (at most 16)  [MOCKAPI_ALLOW_HOST]\n"
    "  -profile P             reference: answer as the reference mock; strict:\n"
    "                         as the production mesh API (problem+json errors,\n"
    "                         node-key auth, body caps, clock skew, key rotation\n"
    "                         and reachability; README \"The strict profile\")\n"
    "                                                    [MOCKAPI_PROFILE] (default reference)\n"
    "  -bootstrap-token T     strict: a token POST /v1/register accepts; repeat\n"
    "                         or separate by ',' (at most 16); without it any\n"
    "                         non-empty token registers [MOCKAPI_BOOTSTRAP_TOKEN]\n"
    "  -check URL             health-check mode: GET URL, exit 0 if the status is below\n"
    "                         400, else 1; starts no server\n"
    "  -check-timeout MS      timeout of -check          [MOCKAPI_CHECK_TIMEOUT_MS] (default 5000)\n"
    "  -fixtures DIR          override embedded fixtures with files of DIR; DIR\n"
    "                         must exist and hold only fixture names\n"
    "                                                    [MOCKAPI_FIXTURES_DIR]\n"
    "  -signing-key-file F    keep the Ed25519 signing key in F (created if missing),\n"
    "                         so it survives restarts    [MOCKAPI_SIGNING_KEY_FILE]\n"
    "  -max-body-bytes N      largest request body (413 beyond)\n"
    "                                                    [MOCKAPI_MAX_BODY_BYTES] (default 1048576)\n"
    "  -max-decoded-bytes N   largest gunzipped body (413 beyond)\n"
    "                                                    [MOCKAPI_MAX_DECODED_BYTES] (default 8388608)\n"
    "  -max-header-bytes N    largest request head       [MOCKAPI_MAX_HEADER_BYTES] (default 16384)\n"
    "  -max-buffered-bytes N  output held for slow clients, all together; past it\n"
    "                         large responses get 503     [MOCKAPI_MAX_BUFFERED_BYTES] (default 67108864)\n"
    "  -request-timeout-ms N  drop a client silent this long mid-request or idle\n"
    "                                                    [MOCKAPI_REQUEST_TIMEOUT_MS] (default 10000)\n"
    "  -threads N             at most N event-loop threads (the loop uses one per\n"
    "                         CPU, at most 4; no connection holds a thread)\n"
    "                                                    [MOCKAPI_THREADS] (default 64)\n"
    "  -sse-keepalive-ms N    SSE keep-alive interval    [MOCKAPI_SSE_KEEPALIVE_MS] (default 15000)\n"
    "  -sse-queue N           events queued per slow stream before the newest are\n"
    "                         dropped (and counted)      [MOCKAPI_SSE_QUEUE] (default 16)\n"
    "  -sse-history N         events kept for Last-Event-ID replay\n"
    "                                                    [MOCKAPI_SSE_HISTORY] (default 64)\n"
    "  -sse-max-clients N     open event streams; more get 503\n"
    "                                                    [MOCKAPI_SSE_MAX_CLIENTS] (default 1024)\n"
    "  -journal-entries N     requests kept in the journal; 0 turns it off\n"
    "                                                    [MOCKAPI_JOURNAL_ENTRIES] (default 10000)\n"
    "  -journal-bytes N       bytes kept in the journal  [MOCKAPI_JOURNAL_BYTES] (default 67108864)\n"
    "  -sessions MODE         on: tests on one server each see only their own\n"
    "                         calls, by session (README \"Sessions\"); off: no\n"
    "                         sessions; required: a request without one gets 428\n"
    "                                                    [MOCKAPI_SESSIONS] (default on)\n"
    "  -max-sessions N        live sessions at most (default apart); more get 429\n"
    "                                                    [MOCKAPI_MAX_SESSIONS] (default 256)\n"
    "  -session-journal-bytes N  journal bytes of each session but default\n"
    "                                                    [MOCKAPI_SESSION_JOURNAL_BYTES] (default 4194304)\n"
    "  -sessions-max-bytes N  bodies all sessions but default keep, together\n"
    "                         (captures, fixtures, event history); past it 507\n"
    "                                                    [MOCKAPI_SESSIONS_MAX_BYTES] (default 1073741824)\n"
    "  -tls-ca-out FILE       write the CA that signed the TLS certificate to FILE\n"
    "                         (PEM) before printing MOCKAPI_TLS_ADDR, so clients\n"
    "                         can verify                 [MOCKAPI_TLS_CA_OUT]\n"
    "  -tls-ca-dir DIR        keep the CA in DIR (ca.pem, ca-key.pem; made once,\n"
    "                         0700/0600), so instances sharing DIR and restarts\n"
    "                         have one trust root        [MOCKAPI_TLS_CA_DIR]\n"
    "  -tls-san NAME          one more DNS name or IP address in the TLS\n"
    "                         certificate; repeat or separate by ',' (at most 16)\n"
    "                                                    [MOCKAPI_TLS_SAN]\n"
    "  -ready-file F          once serving, write one JSON line (pid, version, URLs,\n"
    "                         CA) to F atomically (README \"Readiness\")\n"
    "                                                    [MOCKAPI_READY_FILE]\n"
    "  -ready-fd N            once serving, write that line to descriptor N (3 or\n"
    "                         more, open for writing), then close it\n"
    "                                                    [MOCKAPI_READY_FD]\n"
    "  -fault 'ROUTE: SPEC'   a fault rule for the server's life, repeatable (at most\n"
    "                         64): ROUTE a route name or a path glob, optionally\n"
    "                         after a method ('POST heartbeat: ...'); SPEC as the\n"
    "                         X-Mockapi-Fault header, e.g. 'heartbeat: status=503;\n"
    "                         first=2' (README \"Faults\")  [MOCKAPI_FAULT] (one rule)\n"
    "  -h, --help             this text\n";

void serve_usage(FILE *f)
{
    fputs(serve_usage_head, f);
    cli_print_commands(f);
    fputs(serve_usage_flags, f);
    fputs("  -version, --version    print \"mockapi " MOCKAPI_VERSION "\" and exit\n", f);
}

/* -tls-ca-dir and -tls-san into cfg (after its tls_addr), each SAN checked
 * here so the message names the flag or variable; 0, or -1 when refused. */
static int tls_ca_flags(const cli_flag *o, int dir, int san, mockapi_config *cfg)
{
    char lb[96];
    const int both[] = {dir, san};
    for (int i = 0; i < 2; i++)
        if (o[both[i]].value && !cfg->tls_addr) {
            fprintf(stderr, "mockapi: %s needs a TLS listener (-tls-addr is off)\n",
                    cli_flag_label(&o[both[i]], lb, sizeof lb));
            return -1;
        }
    cfg->tls_ca_dir = o[dir].value;
    if (o[san].nvalues == 0)
        return 0;
    static char joined[MK_TLS_MAX_SANS * 256]; /* the config borrows it; one parse per process */
    size_t w = 0;
    int count = 0;
    for (int i = 0; i < o[san].nvalues; i++) {
        for (const char *h = o[san].values[i];; h++) {
            size_t l = strcspn(h, ",");
            char why[200];
            if (mk_tls_san_check(h, l, why, sizeof why) != 0) {
                fprintf(stderr, "mockapi: %s \"%.*s\": %s\n", cli_flag_label(&o[san], lb, sizeof lb),
                        (int)(l > 260 ? 260 : l), h, why);
                return -1;
            }
            if (++count > MK_TLS_MAX_SANS) {
                fprintf(stderr, "mockapi: %s: more than %d names\n", cli_flag_label(&o[san], lb, sizeof lb),
                        MK_TLS_MAX_SANS);
                return -1;
            }
            w += (size_t)snprintf(joined + w, sizeof joined - w, "%s%.*s", w ? "," : "", (int)l, h);
            h += l;
            if (*h != ',')
                break;
        }
    }
    cfg->tls_sans = joined;
    return 0;
}

enum { O_ADDR, O_TLS, O_CHECK, O_CHECK_TIMEOUT, O_FIXTURES, O_KEYFILE, O_MAXBODY, O_MAXDEC,
       O_MAXHDR, O_TIMEOUT, O_THREADS, O_KEEPALIVE, O_SSEQ, O_SSEHIST, O_SSEMAX, O_CAOUT, O_JENT, O_JBYTES,
       O_ADMIN, O_MAXBUF, O_REGIONS, O_FAULT, O_SESSIONS, O_MAXSESS, O_SJBYTES, O_SMAXBYTES, O_ALLOWHOST,
       O_PROFILE, O_BOOTSTRAP,
       O_CADIR, O_SAN, O_READYFILE, O_READYFD, /* readiness (README "Readiness") */
       O_COUNT };

/* -ready-file and -ready-fd into so (labels borrow static buffers: one
 * parse per process). The descriptor must be open for writing and none of
 * 0, 1, 2: the line would land in the output or the log, not with whoever
 * asked. 0, or -1 with the reason printed. */
static int ready_flags(const cli_flag *file, const cli_flag *fd, serve_options *so)
{
    static char file_label[96], fd_label[96];
    so->ready_file = file->value;
    so->ready_file_label = cli_flag_label(file, file_label, sizeof file_label);
    so->ready_fd = -1;
    so->ready_fd_label = cli_flag_label(fd, fd_label, sizeof fd_label);
    if (!fd->value)
        return 0;
    unsigned long long n;
    if (cli_parse_number(so->ready_fd_label, fd->value, 0, INT_MAX, &n) != 0)
        return -1;
    int fl = n > 2 ? fcntl((int)n, F_GETFL) : 0;
    if (n <= 2)
        fprintf(stderr, "mockapi: %s: %llu is standard %s; give a descriptor opened for the line (3 or more)\n",
                so->ready_fd_label, n, n == 0 ? "input" : n == 1 ? "output" : "error");
    else if (fl < 0)
        fprintf(stderr, "mockapi: %s: %llu is not an open file descriptor\n", so->ready_fd_label, n);
    else if ((fl & O_ACCMODE) == O_RDONLY)
        fprintf(stderr, "mockapi: %s: descriptor %llu is open for reading only\n", so->ready_fd_label, n);
    if (n <= 2 || fl < 0 || (fl & O_ACCMODE) == O_RDONLY)
        return -1;
    so->ready_fd = (int)n;
    return 0;
}

int serve_parse_flags(int argc, char **argv, int first, serve_options *so)
{
    const char *faults[64], *hosts[16], *boots[16], *sans[MK_TLS_MAX_SANS];
    cli_flag o[O_COUNT] = {
        [O_ADDR] = {"addr", "MOCKAPI_LISTEN_ADDR", NULL},
        [O_TLS] = {"tls-addr", "MOCKAPI_TLS_LISTEN_ADDR", NULL},
        [O_CHECK] = {"check", NULL, NULL},
        [O_CHECK_TIMEOUT] = {"check-timeout", "MOCKAPI_CHECK_TIMEOUT_MS", NULL},
        [O_FIXTURES] = {"fixtures", "MOCKAPI_FIXTURES_DIR", NULL},
        [O_KEYFILE] = {"signing-key-file", "MOCKAPI_SIGNING_KEY_FILE", NULL},
        [O_MAXBODY] = {"max-body-bytes", "MOCKAPI_MAX_BODY_BYTES", NULL},
        [O_MAXDEC] = {"max-decoded-bytes", "MOCKAPI_MAX_DECODED_BYTES", NULL},
        [O_MAXHDR] = {"max-header-bytes", "MOCKAPI_MAX_HEADER_BYTES", NULL},
        [O_TIMEOUT] = {"request-timeout-ms", "MOCKAPI_REQUEST_TIMEOUT_MS", NULL},
        [O_THREADS] = {"threads", "MOCKAPI_THREADS", NULL},
        [O_KEEPALIVE] = {"sse-keepalive-ms", "MOCKAPI_SSE_KEEPALIVE_MS", NULL},
        [O_SSEQ] = {"sse-queue", "MOCKAPI_SSE_QUEUE", NULL},
        [O_SSEHIST] = {"sse-history", "MOCKAPI_SSE_HISTORY", NULL},
        [O_SSEMAX] = {"sse-max-clients", "MOCKAPI_SSE_MAX_CLIENTS", NULL},
        [O_CAOUT] = {"tls-ca-out", "MOCKAPI_TLS_CA_OUT", NULL},
        [O_JENT] = {"journal-entries", "MOCKAPI_JOURNAL_ENTRIES", NULL},
        [O_JBYTES] = {"journal-bytes", "MOCKAPI_JOURNAL_BYTES", NULL},
        [O_ADMIN] = {"admin-token", "MOCKAPI_ADMIN_TOKEN", NULL},
        [O_MAXBUF] = {"max-buffered-bytes", "MOCKAPI_MAX_BUFFERED_BYTES", NULL},
        [O_REGIONS] = {"regions", "MOCKAPI_REGIONS", NULL},
        [O_FAULT] = {"fault", "MOCKAPI_FAULT", NULL, .values = faults, .max_values = 64},
        [O_SESSIONS] = {"sessions", "MOCKAPI_SESSIONS", NULL},
        [O_MAXSESS] = {"max-sessions", "MOCKAPI_MAX_SESSIONS", NULL},
        [O_SJBYTES] = {"session-journal-bytes", "MOCKAPI_SESSION_JOURNAL_BYTES", NULL},
        [O_SMAXBYTES] = {"sessions-max-bytes", "MOCKAPI_SESSIONS_MAX_BYTES", NULL},
        [O_ALLOWHOST] = {"allow-host", "MOCKAPI_ALLOW_HOST", NULL, .values = hosts, .max_values = 16},
        [O_PROFILE] = {"profile", "MOCKAPI_PROFILE", NULL},
        [O_BOOTSTRAP] = {"bootstrap-token", "MOCKAPI_BOOTSTRAP_TOKEN", NULL, .values = boots, .max_values = 16},
        [O_CADIR] = {"tls-ca-dir", "MOCKAPI_TLS_CA_DIR", NULL},
        [O_SAN] = {"tls-san", "MOCKAPI_TLS_SAN", NULL, .values = sans, .max_values = MK_TLS_MAX_SANS},
        [O_READYFILE] = {"ready-file", "MOCKAPI_READY_FILE", NULL},
        [O_READYFD] = {"ready-fd", "MOCKAPI_READY_FD", NULL},
    };
    /* -addr repeats: one plain listener (region) each; serve_options borrows them */
    static const char *addrs[CLI_MAX_ADDRS];
    o[O_ADDR].values = addrs;
    o[O_ADDR].max_values = CLI_MAX_ADDRS;
    switch (cli_parse_flags(o, O_COUNT, argc, argv, first, serve_usage)) {
    case CLI_PARSED: break;
    case CLI_HELP: return CLI_EXIT_OK;
    case CLI_BAD_USAGE: return CLI_EXIT_USAGE;
    }

    memset(so, 0, sizeof *so);
    so->ready_fd = -1;
    unsigned long long n;
    char lb[96];
    if (o[O_CHECK].value) {
        if (cli_flag_empty(&o[O_CHECK], "a URL, http://host:port/path or https://host:port/path"))
            return CLI_EXIT_USAGE;
        so->check_url = o[O_CHECK].value;
        so->check_timeout = 5000;
        if (o[O_CHECK_TIMEOUT].value) {
            if (cli_parse_number(cli_flag_label(&o[O_CHECK_TIMEOUT], lb, sizeof lb), o[O_CHECK_TIMEOUT].value,
                                 1, 3600000, &n) != 0)
                return CLI_EXIT_USAGE;
            so->check_timeout = (unsigned)n;
        }
        return -1;
    }

    /* Empty values: an error for every flag but -tls-addr, where "" means off. */
    static const struct { int k; const char *what; } texts[] = {
        {O_ADDR, "host:port, [v6]:port or :port (e.g. 127.0.0.1:0)"},
        {O_FIXTURES, "a folder of fixture files"},
        {O_KEYFILE, "a file name for the signing key"},
        {O_CAOUT, "a file name for the CA (PEM)"},
        {O_CADIR, "a folder for the CA"},
        {O_ADMIN, "a token (visible ASCII, no spaces)"},
        {O_READYFILE, "a file name for the readiness line"},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (cli_flag_empty(&o[texts[i].k], texts[i].what))
            return CLI_EXIT_USAGE;

    mockapi_config *cfg = &so->cfg;
    mockapi_config_init(cfg);
    /* Loopback unless told otherwise: a deliberate difference from the
     * reference (":0" and ":8443", every interface); README says why. */
    cfg->addr = o[O_ADDR].value ? o[O_ADDR].value : "127.0.0.1:0";
    if (o[O_ADDR].nvalues > 1) { /* regions: the first is region 0 */
        for (int i = 0; i < o[O_ADDR].nvalues; i++)
            if (!addrs[i][0]) {
                fprintf(stderr, "mockapi: -addr (region %d): empty value; give host:port, [v6]:port "
                                "or :port (e.g. 127.0.0.1:0)\n", i);
                return CLI_EXIT_USAGE;
            }
        cfg->addr = addrs[0];
        cfg->region_addrs = addrs + 1;
        cfg->nregion_addrs = (size_t)o[O_ADDR].nvalues - 1;
    }
    if (o[O_REGIONS].value) {
        if (cli_parse_number(cli_flag_label(&o[O_REGIONS], lb, sizeof lb), o[O_REGIONS].value, 1,
                             CLI_MAX_ADDRS, &n) != 0)
            return CLI_EXIT_USAGE;
        if (o[O_ADDR].nvalues > 1) {
            fprintf(stderr, "mockapi: %s and a repeated -addr cannot be combined: give -regions N "
                            "with one -addr (N regions on its host), or one -addr per region\n",
                    cli_flag_label(&o[O_REGIONS], lb, sizeof lb));
            return CLI_EXIT_USAGE;
        }
        cfg->regions = (unsigned)n;
    }
    cfg->tls_addr = o[O_TLS].value ? o[O_TLS].value : "127.0.0.1:8443";
    if (strcmp(cfg->tls_addr, "") == 0 || strcmp(cfg->tls_addr, "off") == 0)
        cfg->tls_addr = NULL;
    cfg->admin_token = o[O_ADMIN].value;
    if (cfg->admin_token) { /* the library's rule, checked here so the message names the flag or variable */
        size_t tl = strlen(cfg->admin_token), ok = 0;
        while (ok < tl && cfg->admin_token[ok] > 0x20 && cfg->admin_token[ok] < 0x7f)
            ok++;
        if (tl > 1024 || ok != tl) {
            fprintf(stderr, "mockapi: %s: must be 1 to 1024 visible ASCII characters (no spaces or "
                            "control characters)\n", cli_flag_label(&o[O_ADMIN], lb, sizeof lb));
            return CLI_EXIT_USAGE;
        }
    }
    so->tls_ca_out = o[O_CAOUT].value;
    static char ca_label[96]; /* serve_options borrows it; one parse per process */
    so->tls_ca_out_label = cli_flag_label(&o[O_CAOUT], ca_label, sizeof ca_label);
    if (so->tls_ca_out && !cfg->tls_addr) { /* refused before anything is served */
        fprintf(stderr, "mockapi: %s needs a TLS listener (-tls-addr is off)\n", so->tls_ca_out_label);
        return CLI_EXIT_USAGE;
    }
    if (tls_ca_flags(o, O_CADIR, O_SAN, cfg) != 0 || ready_flags(&o[O_READYFILE], &o[O_READYFD], so) != 0)
        return CLI_EXIT_USAGE;
    cfg->fixtures_dir = o[O_FIXTURES].value;
    cfg->signing_key_file = o[O_KEYFILE].value;
    for (int i = 0; i < o[O_FAULT].nvalues; i++) { /* checked here, so the message names the flag */
        char why[512];
        if (mockapi_fault_check(faults[i], why, sizeof why) != MOCKAPI_OK) {
            fprintf(stderr, "mockapi: %s \"%s\": %s\n", cli_flag_label(&o[O_FAULT], lb, sizeof lb), faults[i],
                    why);
            return CLI_EXIT_USAGE;
        }
        so->faults[i] = faults[i];
    }
    cfg->faults = so->faults;
    cfg->nfaults = (size_t)o[O_FAULT].nvalues;
    if (o[O_ALLOWHOST].nvalues > 0) { /* joined for the library; each checked here, naming the flag */
        static char joined[16 * 254]; /* the config borrows it; one parse per process */
        size_t w = 0;
        int names = 0;
        /* a value may hold several names separated by ',' (the variable
         * cannot repeat); at most 16 names in all, as the library takes */
        for (int i = 0; i < o[O_ALLOWHOST].nvalues; i++) {
            for (const char *h = hosts[i];; h++) {
                size_t l = strcspn(h, ",");
                if (l == 0 || l > 253 ||
                    strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") < l) {
                    fprintf(stderr, "mockapi: %s \"%s\": a host name a browser reaches the mock by (letters, "
                                    "digits, '-' and '.'; repeat the flag or separate names by ',')\n",
                            cli_flag_label(&o[O_ALLOWHOST], lb, sizeof lb), hosts[i]);
                    return CLI_EXIT_USAGE;
                }
                if (++names > 16) {
                    fprintf(stderr, "mockapi: %s: more than 16 names\n", cli_flag_label(&o[O_ALLOWHOST], lb, sizeof lb));
                    return CLI_EXIT_USAGE;
                }
                w += (size_t)snprintf(joined + w, sizeof joined - w, "%s%.*s", w ? "," : "", (int)l, h);
                h += l;
                if (*h != ',')
                    break;
            }
        }
        cfg->allow_hosts = joined;
    }
    if (o[O_PROFILE].value) {
        static const char *const profiles[] = {"reference", "strict"};
        const char *v = o[O_PROFILE].value;
        if (strcmp(v, "reference") != 0 && strcmp(v, "strict") != 0) {
            const char *near = mk_suggest(v, profiles, 2);
            fprintf(stderr, "mockapi: %s \"%s\": must be reference or strict%s%s%s\n",
                    cli_flag_label(&o[O_PROFILE], lb, sizeof lb), v, near ? " (did you mean \"" : "",
                    near ? near : "", near ? "\"?)" : "");
            return CLI_EXIT_USAGE;
        }
        cfg->profile = strcmp(v, "strict") == 0 ? MOCKAPI_PROFILE_STRICT : MOCKAPI_PROFILE_REFERENCE;
    }
    if (o[O_BOOTSTRAP].nvalues > 0) { /* joined for the library, as -allow-host */
        static char joined[16 * 258];
        size_t w = 0;
        int count = 0;
        for (int i = 0; i < o[O_BOOTSTRAP].nvalues; i++) {
            for (const char *t = boots[i];; t++) {
                size_t l = strcspn(t, ",");
                bool ok = l > 0 && l <= 256;
                for (size_t k = 0; ok && k < l; k++)
                    ok = (unsigned char)t[k] > 0x20 && (unsigned char)t[k] < 0x7f;
                if (!ok) { /* the token is a secret: not echoed */
                    fprintf(stderr, "mockapi: %s: a token is 1 to 256 visible ASCII characters, no spaces "
                                    "(repeat the flag or separate tokens by ',')\n",
                            cli_flag_label(&o[O_BOOTSTRAP], lb, sizeof lb));
                    return CLI_EXIT_USAGE;
                }
                if (++count > 16) {
                    fprintf(stderr, "mockapi: %s: more than 16 tokens\n", cli_flag_label(&o[O_BOOTSTRAP], lb, sizeof lb));
                    return CLI_EXIT_USAGE;
                }
                w += (size_t)snprintf(joined + w, sizeof joined - w, "%s%.*s", w ? "," : "", (int)l, t);
                t += l;
                if (*t != ',')
                    break;
            }
        }
        cfg->bootstrap_tokens = joined;
    }
    if (o[O_SESSIONS].value) {
        static const char *const modes[] = {"on", "off", "required"};
        const char *v = o[O_SESSIONS].value;
        int k = strcmp(v, "on") == 0 ? MOCKAPI_SESSIONS_ON : strcmp(v, "off") == 0 ? MOCKAPI_SESSIONS_OFF
                : strcmp(v, "required") == 0 ? MOCKAPI_SESSIONS_REQUIRED : -1;
        if (k < 0) {
            const char *near = mk_suggest(v, modes, 3);
            fprintf(stderr, "mockapi: %s \"%s\": must be on, off or required%s%s%s\n",
                    cli_flag_label(&o[O_SESSIONS], lb, sizeof lb), v, near ? " (did you mean \"" : "",
                    near ? near : "", near ? "\"?)" : "");
            return CLI_EXIT_USAGE;
        }
        cfg->sessions = k;
    }
    /* the library's own bounds, so a value is refused here, naming its flag */
    struct { int k; unsigned long long min, max; } nums[] = {
        {O_MAXBODY, 1, 1ULL << 40}, {O_MAXDEC, 1, 1ULL << 40}, {O_MAXHDR, 1024, 1ULL << 24}, {O_MAXBUF, 65536, 1ULL << 40},
        {O_TIMEOUT, 1, 86400000}, {O_THREADS, 1, 10000}, {O_KEEPALIVE, 1, 86400000},
        {O_SSEQ, 1, 1000000}, {O_SSEHIST, 1, 1000000}, {O_SSEMAX, 1, 1000000},
        {O_JBYTES, 1, 1ULL << 40}, {O_JENT, 0, 100000000}, /* 0 turns the journal off */
        {O_MAXSESS, 1, 100000}, {O_SJBYTES, 1, 1ULL << 40}, {O_SMAXBYTES, 1, 1ULL << 40},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (!o[nums[i].k].value)
            continue;
        if (cli_parse_number(cli_flag_label(&o[nums[i].k], lb, sizeof lb), o[nums[i].k].value, nums[i].min,
                             nums[i].max, &n) != 0)
            return CLI_EXIT_USAGE;
        switch (nums[i].k) {
        case O_MAXBODY: cfg->max_body_bytes = (size_t)n; break;
        case O_MAXDEC: cfg->max_decoded_bytes = (size_t)n; break;
        case O_MAXHDR: cfg->max_header_bytes = (size_t)n; break;
        case O_MAXBUF: cfg->max_buffered_bytes = (size_t)n; break;
        case O_TIMEOUT: cfg->request_timeout_ms = (unsigned)n; break;
        case O_THREADS: cfg->threads = (unsigned)n; break;
        case O_KEEPALIVE: cfg->sse_keepalive_ms = (unsigned)n; break;
        case O_SSEQ: cfg->sse_queue_max = (unsigned)n; break;
        case O_SSEHIST: cfg->sse_history = (unsigned)n; break;
        case O_SSEMAX: cfg->sse_max_clients = (unsigned)n; break;
        case O_JBYTES: cfg->journal_max_bytes = (size_t)n; break;
        case O_JENT: cfg->journal_max_entries = (size_t)n; break;
        case O_MAXSESS: cfg->max_sessions = (unsigned)n; break;
        case O_SJBYTES: cfg->session_journal_bytes = (size_t)n; break;
        case O_SMAXBYTES: cfg->sessions_max_bytes = (size_t)n; break;
        }
    }
    return -1;
}

/* ---- the wait command ------------------------------------------------------ */

static const char wait_usage_text[] =
    "usage: mockapi wait --ready-file F [--timeout DURATION]\n"
    "\n"
    "Waits until F exists and names a server whose GET /test/health answers:\n"
    "the readiness file of `mockapi -ready-file F`, started by someone else.\n"
    "Watches F's folder (inotify; no polling), so it may start before the\n"
    "server. Prints the server's URL on stdout. Exit status: 0 ready, 1 timed\n"
    "out (the message says what it saw last), 2 usage error.\n"
    "\n"
    "flags:\n"
    "  --ready-file F         the file to wait for; its folder must exist\n"
    "                                                    [MOCKAPI_READY_FILE]\n"
    "  --timeout DURATION     give up after DURATION: a number and a unit, ms,\n"
    "                         s, m or h, or several (1m30s)   (default 30s)\n"
    "  -h, --help             this text\n";

void wait_usage(FILE *f)
{
    fputs(wait_usage_text, f);
}

int cli_parse_duration(const char *flag, const char *s, unsigned long long max_ms, unsigned long long *out_ms)
{
    /* Go's time.ParseDuration's forms that make sense for a timeout: whole
     * numbers with a unit each, summed ("1m30s"); no sign, no fraction, so
     * every accepted value is a whole number of milliseconds. */
    static const struct { const char *unit; unsigned long long ms; } units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, /* "ms" before "m" */
    };
    const char *why = NULL, *p = s;
    unsigned long long total = 0;
    if (!*s)
        why = "is empty";
    while (!why && *p) {
        size_t digits = strspn(p, "0123456789");
        if (digits == 0) {
            why = "is not a duration";
            break;
        }
        unsigned long long v = 0;
        for (size_t i = 0; i < digits && !why; i++)
            if (v > (ULLONG_MAX - 9) / 10)
                why = "is too large";
            else
                v = v * 10 + (unsigned long long)(p[i] - '0');
        p += digits;
        size_t k = 0;
        while (k < sizeof units / sizeof units[0] && strncmp(p, units[k].unit, strlen(units[k].unit)) != 0)
            k++;
        if (why)
            break;
        if (k == sizeof units / sizeof units[0]) {
            why = *p ? "has an unknown unit" : "has a number without a unit";
            break;
        }
        p += strlen(units[k].unit);
        if (v > max_ms / units[k].ms || total + v * units[k].ms > max_ms)
            why = "is too large";
        else
            total += v * units[k].ms;
    }
    if (!why && total == 0)
        why = "is zero";
    if (why) {
        fprintf(stderr, "mockapi: %s: \"%s\" %s; give a number and a unit (ms, s, m, h), e.g. 30s or 1m30s, "
                        "from 1ms to %llus\n", flag, s, why, max_ms / 1000);
        return -1;
    }
    *out_ms = total;
    return 0;
}

int wait_parse_flags(int argc, char **argv, int first, wait_options *w)
{
    enum { W_FILE, W_TIMEOUT, W_COUNT };
    cli_flag o[W_COUNT] = {
        [W_FILE] = {"ready-file", "MOCKAPI_READY_FILE", NULL},
        [W_TIMEOUT] = {"timeout", NULL, NULL},
    };
    switch (cli_parse_flags(o, W_COUNT, argc, argv, first, wait_usage)) {
    case CLI_PARSED: break;
    case CLI_HELP: return CLI_EXIT_OK;
    case CLI_BAD_USAGE: return CLI_EXIT_USAGE;
    }
    memset(w, 0, sizeof *w);
    if (!o[W_FILE].value) {
        fprintf(stderr, "mockapi: wait: --ready-file is required\n");
        wait_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (cli_flag_empty(&o[W_FILE], "the file a server's -ready-file writes"))
        return CLI_EXIT_USAGE;
    w->ready_file = o[W_FILE].value;
    w->timeout_ms = 30000;
    char lb[96];
    if (o[W_TIMEOUT].value &&
        cli_parse_duration(cli_flag_label(&o[W_TIMEOUT], lb, sizeof lb), o[W_TIMEOUT].value, 86400000ULL,
                           &w->timeout_ms) != 0)
        return CLI_EXIT_USAGE;
    return -1;
}
