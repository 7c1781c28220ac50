/* report.c: see report.h. Output is built in memory per expectation, masked,
 * then written, so a secret cannot slip out through any one format. */
#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "number.h"

static const char *const secrets[] = {"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "e2e-local-bearer-token"};
#define MASK "[masked]"

char *ma_mask(const char *s)
{
    ma_buf b = {0};
    const char *p = s;
    while (*p) {
        size_t hit = 0;
        for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
            size_t l = strlen(secrets[i]);
            if (strncmp(p, secrets[i], l) == 0) {
                hit = l;
                break;
            }
        }
        if (hit) {
            ma_buf_puts(&b, MASK);
            p += hit;
        } else
            ma_buf_putc(&b, *p++);
    }
    return ma_buf_steal(&b);
}

static void put_masked(FILE *out, ma_buf *b)
{
    char *m = ma_mask(ma_buf_str(b));
    fputs(m, out);
    free(m);
    ma_buf_free(b);
}

void ma_report_counts(const ma_result *rs, size_t n, size_t *passed, size_t *failed, size_t *untrusted)
{
    *passed = *failed = *untrusted = 0;
    for (size_t i = 0; i < n; i++) {
        if (rs[i].status == MA_PASS)
            (*passed)++;
        else
            (*failed)++;
        if (rs[i].status == MA_UNTRUSTED)
            (*untrusted)++;
    }
}

/* ---- text ---- */

typedef struct {
    int on;
} colours;

static const char *col(const colours *c, const char *code)
{
    return c->on ? code : "";
}
#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_CYAN "\033[36m"

static void indent(ma_buf *b, int n)
{
    for (int i = 0; i < n; i++)
        ma_buf_putc(b, ' ');
}

static void text_failure(ma_buf *b, const ma_failure *f, int base, const colours *c)
{
    int ind = base + 2 * f->depth;
    indent(b, ind);
    if (f->mark.line)
        ma_buf_printf(b, "%s%s:%d:%d:%s ", col(c, C_DIM), f->mark.file, f->mark.line, f->mark.col, col(c, C_RESET));
    if (f->path[0])
        ma_buf_printf(b, "%s%s%s: ", col(c, C_CYAN), f->path, col(c, C_RESET));
    ma_buf_printf(b, "%s\n", f->what);
    if (f->expected) {
        char *s = ma_json_show(f->expected);
        indent(b, ind + 4);
        ma_buf_printf(b, "expected: %s%s%s\n", col(c, C_GREEN), s, col(c, C_RESET));
        free(s);
    }
    if (f->actual_shown) {
        char *s = ma_json_show(f->actual);
        indent(b, ind + 4);
        ma_buf_printf(b, "actual:   %s%s%s\n", col(c, C_RED), s, col(c, C_RESET));
        free(s);
    }
}

/* "#12 POST /v1/nodes/n1/heartbeat -> 200  {"node_id":"n1"}" */
static void entry_line(ma_buf *b, const json_t *e, size_t maxbody)
{
    const char *method = json_string_value(json_object_get(e, "method"));
    const char *path = json_string_value(json_object_get(e, "path"));
    const char *query = json_string_value(json_object_get(e, "query"));
    ma_buf_printf(b, "#%lld %s %s%s%s -> %lld", (long long)json_integer_value(json_object_get(e, "seq")),
                  method ? method : "?", path ? path : "?", query && *query ? "?" : "", query && *query ? query : "",
                  (long long)json_integer_value(json_object_get(e, "status")));
    /* what the server did to it: "[fault rule 3: status=503; first=2 -> response]" */
    json_t *fault = json_object_get(e, "fault"), *region = json_object_get(e, "region");
    if (json_is_object(fault)) {
        const char *src = json_string_value(json_object_get(fault, "source"));
        const char *spec = json_string_value(json_object_get(fault, "spec"));
        const char *wire = json_string_value(json_object_get(fault, "wire"));
        json_t *rule = json_object_get(fault, "rule");
        ma_buf_printf(b, " [fault %s", src ? src : "?");
        if (json_is_integer(rule))
            ma_buf_printf(b, "%s %lld", src && strcmp(src, "rule") == 0 ? "" : " rule",
                          (long long)json_integer_value(rule));
        ma_buf_printf(b, ": %s -> %s]", spec ? spec : "?", wire ? wire : "?");
    }
    if (json_is_integer(region) && json_integer_value(region) >= 0)
        ma_buf_printf(b, " [region %lld]", (long long)json_integer_value(region));
    json_t *body = json_object_get(e, "body");
    const char *enc = json_string_value(json_object_get(e, "body_encoding"));
    if (json_is_string(body) && json_string_length(body) > 0) {
        char *shown = NULL;
        if (enc && strcmp(enc, "base64") == 0)
            shown = ma_xasprintf("(base64) %s", json_string_value(body));
        else {
            json_t *v = ma_json_from_body(json_string_value(body), json_string_length(body));
            shown = ma_json_show(v);
            json_decref(v);
        }
        size_t l = strlen(shown);
        if (l > maxbody) {
            /* cut on a UTF-8 boundary */
            size_t k = maxbody;
            while (k > 0 && ((unsigned char)shown[k] & 0xC0) == 0x80)
                k--;
            ma_buf_puts(b, "  ");
            ma_buf_add(b, shown, k);
            ma_buf_printf(b, "... (%zu bytes)", l);
        } else {
            ma_buf_printf(b, "  %s", shown);
        }
        free(shown);
    }
}

static const char *status_word(ma_status s)
{
    return s == MA_PASS ? "PASS" : s == MA_FAIL ? "FAIL" : "ERROR";
}

static void text_details(ma_buf *b, const ma_result *r, const colours *c, int base)
{
    if (r->status == MA_UNTRUSTED && r->reason) {
        indent(b, base);
        ma_buf_printf(b, "%s%s%s\n", col(c, C_YELLOW), r->reason, col(c, C_RESET));
        return;
    }
    if (r->actual) {
        indent(b, base);
        ma_buf_printf(b, "found: %s\n", r->actual);
    }
    for (size_t i = 0; i < r->failures.n; i++)
        text_failure(b, &r->failures.v[i], base, c);
    if (r->nnear) {
        indent(b, base);
        ma_buf_printf(b, "%s:\n", r->near_title ? r->near_title : "nearest requests");
        for (size_t i = 0; i < r->nnear; i++) {
            indent(b, base + 2);
            ma_buf_puts(b, col(c, C_DIM));
            entry_line(b, r->near[i].entry, 160);
            ma_buf_printf(b, "%s\n", col(c, C_RESET));
            for (size_t k = 0; k < r->near[i].why.n; k++)
                text_failure(b, &r->near[i].why.v[k], base + 4, c);
        }
    }
}

void ma_report_text(FILE *out, const ma_result *rs, size_t n, const ma_report_opts *o)
{
    colours c = {o->color};
    /* which session the verdicts are about: parallel jobs' logs look alike */
    if (o->session)
        fprintf(out, "session: %s\n", o->session);
    for (size_t i = 0; i < n; i++) {
        const ma_result *r = &rs[i];
        if (o->quiet && r->status == MA_PASS)
            continue;
        ma_buf b = {0};
        const char *sc = r->status == MA_PASS ? C_GREEN : r->status == MA_FAIL ? C_RED : C_YELLOW;
        ma_buf_printf(&b, "%s%-5s%s %s:%d:%d: %s%s%s\n", col(&c, sc), status_word(r->status), col(&c, C_RESET),
                      r->file, r->exp->mark.line, r->exp->mark.col, col(&c, C_BOLD), r->exp->name,
                      col(&c, C_RESET));
        if (r->status != MA_PASS)
            text_details(&b, r, &c, 6);
        put_masked(out, &b);
    }
    size_t passed, failed, untrusted;
    ma_report_counts(rs, n, &passed, &failed, &untrusted);
    if (untrusted)
        fprintf(out, "%zu result%s could not be trusted (server unreachable, or journal entries evicted)\n",
                untrusted, untrusted == 1 ? "" : "s");
    fprintf(out, "%zu passed, %zu failed\n", passed, failed);
}

/* ---- GitHub Actions ---- */

/* A workflow command's message: %, CR and LF encoded as the runner decodes
 * them; a property value also encodes ':' and ','. */
static void gh_escape(ma_buf *b, const char *s, int property)
{
    for (; *s; s++) {
        if (*s == '%')
            ma_buf_puts(b, "%25");
        else if (*s == '\r')
            ma_buf_puts(b, "%0D");
        else if (*s == '\n')
            ma_buf_puts(b, "%0A");
        else if (property && *s == ':')
            ma_buf_puts(b, "%3A");
        else if (property && *s == ',')
            ma_buf_puts(b, "%2C");
        else
            ma_buf_putc(b, *s);
    }
}

void ma_report_github(FILE *out, const ma_result *rs, size_t n)
{
    colours none = {0};
    for (size_t i = 0; i < n; i++) {
        const ma_result *r = &rs[i];
        if (r->status == MA_PASS)
            continue;
        ma_buf details = {0}, b = {0};
        text_details(&details, r, &none, 0);
        while (details.len && details.p[details.len - 1] == '\n')
            details.p[--details.len] = '\0';
        char *title = ma_xasprintf("%s: %s", r->status == MA_FAIL ? "FAIL" : "ERROR (untrusted)", r->exp->name);
        ma_buf_puts(&b, "::error file=");
        gh_escape(&b, r->file, 1);
        ma_buf_printf(&b, ",line=%d,col=%d,title=", r->exp->mark.line, r->exp->mark.col);
        gh_escape(&b, title, 1);
        ma_buf_puts(&b, "::");
        gh_escape(&b, details.len ? ma_buf_str(&details) : r->exp->name, 0);
        ma_buf_putc(&b, '\n');
        put_masked(out, &b);
        free(title);
        ma_buf_free(&details);
    }
}

/* ---- JSON ---- */

static void jset(json_t *o, const char *k, json_t *v)
{
    if (!v || json_object_set_new(o, k, v))
        ma_oom();
}

static json_t *jstr(const char *s)
{
    json_t *v = json_string(s ? s : "");
    if (!v) /* not UTF-8: keep what can be kept */
        v = json_string("(not UTF-8)");
    return v;
}

static json_t *failures_json(const ma_failures *f)
{
    json_t *a = json_array();
    if (!a)
        ma_oom();
    for (size_t i = 0; i < f->n; i++) {
        const ma_failure *x = &f->v[i];
        json_t *o = json_object();
        if (!o)
            ma_oom();
        if (x->mark.line) {
            jset(o, "file", jstr(x->mark.file));
            jset(o, "line", json_integer(x->mark.line));
            jset(o, "column", json_integer(x->mark.col));
        }
        jset(o, "path", jstr(x->path));
        jset(o, "what", jstr(x->what));
        jset(o, "depth", json_integer(x->depth));
        if (x->expected)
            jset(o, "expected", json_deep_copy(x->expected));
        if (x->actual_shown) {
            if (x->actual)
                jset(o, "actual", json_deep_copy(x->actual));
            else
                jset(o, "actual_missing", json_true());
        }
        if (json_array_append_new(a, o))
            ma_oom();
    }
    return a;
}

static const char *kind_name(ma_exp_kind k)
{
    static const char *const names[] = {"counter", "lastRequest", "requests", "order", "interval"};
    return names[k];
}

void ma_report_json(FILE *out, const ma_result *rs, size_t n, int exit_code, const ma_report_opts *o)
{
    size_t passed, failed, untrusted;
    ma_report_counts(rs, n, &passed, &failed, &untrusted);
    json_t *doc = json_object();
    json_t *results = json_array();
    if (!doc || !results)
        ma_oom();
    if (o->server)
        jset(doc, "server", jstr(o->server));
    if (o->session)
        jset(doc, "session", jstr(o->session));
    jset(doc, "passed", json_integer((json_int_t)passed));
    jset(doc, "failed", json_integer((json_int_t)failed));
    jset(doc, "untrusted", json_integer((json_int_t)untrusted));
    jset(doc, "exit_code", json_integer(exit_code));
    for (size_t i = 0; i < n; i++) {
        const ma_result *r = &rs[i];
        json_t *x = json_object();
        if (!x)
            ma_oom();
        jset(x, "name", jstr(r->exp->name));
        jset(x, "kind", jstr(kind_name(r->exp->kind)));
        jset(x, "file", jstr(r->file));
        jset(x, "line", json_integer(r->exp->mark.line));
        jset(x, "column", json_integer(r->exp->mark.col));
        jset(x, "status", jstr(r->status == MA_PASS ? "pass" : r->status == MA_FAIL ? "fail" : "untrusted"));
        if (r->actual)
            jset(x, "actual", jstr(r->actual));
        if (r->reason)
            jset(x, "reason", jstr(r->reason));
        jset(x, "failures", failures_json(&r->failures));
        if (r->nnear) {
            json_t *near = json_object(), *entries = json_array();
            if (!near || !entries)
                ma_oom();
            jset(near, "order", jstr(r->near_title));
            for (size_t k = 0; k < r->nnear; k++) {
                json_t *e = r->near[k].entry, *y = json_object();
                if (!y)
                    ma_oom();
                static const char *const keep[] = {"seq",  "method",        "path", "query", "status", "route",
                                                   "body", "body_encoding", "time", "fault", "region"};
                for (size_t f = 0; f < sizeof keep / sizeof keep[0]; f++) {
                    json_t *v = json_object_get(e, keep[f]);
                    if (v)
                        jset(y, keep[f], json_deep_copy(v));
                }
                jset(y, "failures", failures_json(&r->near[k].why));
                if (json_array_append_new(entries, y))
                    ma_oom();
            }
            jset(near, "entries", entries);
            jset(x, "nearest", near);
        }
        if (json_array_append_new(results, x))
            ma_oom();
    }
    jset(doc, "results", results);
    /* exact numbers (number.h) appear as JSON numbers with their text */
    char *s = ma_number_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    json_decref(doc);
    if (!s)
        ma_oom();
    ma_buf b = {0};
    ma_buf_puts(&b, s);
    ma_buf_putc(&b, '\n');
    free(s);
    put_masked(out, &b);
}

/* ---- JUnit ---- */

/* XML text: escapes markup and drops what XML 1.0 cannot hold (control
 * characters, invalid UTF-8) as U+FFFD. */
static void xml_escape(ma_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char ch = *p;
        if (ch == '&')
            ma_buf_puts(b, "&amp;");
        else if (ch == '<')
            ma_buf_puts(b, "&lt;");
        else if (ch == '>')
            ma_buf_puts(b, "&gt;");
        else if (ch == '"')
            ma_buf_puts(b, "&quot;");
        else if (ch == '\'')
            ma_buf_puts(b, "&apos;");
        else if (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r')
            ma_buf_puts(b, "\xEF\xBF\xBD");
        else if (ch < 0x80)
            ma_buf_putc(b, (char)ch);
        else {
            int len = ch >= 0xF0 && ch <= 0xF4 ? 4 : ch >= 0xE0 ? 3 : ch >= 0xC2 && ch < 0xE0 ? 2 : 0;
            int ok = len > 0;
            for (int i = 1; ok && i < len; i++)
                ok = (p[i] & 0xC0) == 0x80;
            if (ok && len == 3 && ch == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF))
                ok = 0; /* U+FFFE, U+FFFF are not XML characters */
            if (ok && len == 3 && ch == 0xED && p[1] >= 0xA0)
                ok = 0; /* surrogates */
            if (!ok) {
                ma_buf_puts(b, "\xEF\xBF\xBD");
                p++;
                continue;
            }
            ma_buf_add(b, (const char *)p, (size_t)len);
            p += len;
            continue;
        }
        p++;
    }
}

/* The failure message CI pages show in their list: the first difference
 * with its expected and actual values, and how many more there are. */
static char *junit_message(const ma_result *r)
{
    if (r->status == MA_UNTRUSTED)
        return ma_xstrdup(r->reason ? r->reason : "untrusted");
    if (!r->failures.n)
        return ma_xstrdup(r->actual ? r->actual : "failed");
    const ma_failure *f = &r->failures.v[0];
    ma_buf b = {0};
    ma_buf_printf(&b, "%s%s%s", f->path, f->path[0] ? ": " : "", f->what);
    if (f->expected || f->actual_shown)
        ma_buf_puts(&b, ":");
    if (f->expected) {
        char *e = ma_json_show(f->expected);
        ma_buf_printf(&b, " expected %s", e);
        free(e);
    }
    if (f->actual_shown) {
        char *a = ma_json_show(f->actual);
        ma_buf_printf(&b, "%s actual %s", f->expected ? "," : "", a);
        free(a);
    }
    size_t more = 0;
    for (size_t i = 1; i < r->failures.n; i++)
        more += r->failures.v[i].depth == 0;
    if (more)
        ma_buf_printf(&b, " (and %zu more)", more);
    return ma_buf_steal(&b);
}

/* Jenkins reads a classname as package.Class, so the file's dots must go:
 * the path without a .yaml/.yml extension, any other '.' as '_' ("-" is
 * "stdin"). */
static char *junit_classname(const char *file)
{
    if (!strcmp(file, "-"))
        return ma_xstrdup("stdin");
    while (file[0] == '.' && file[1] == '/')
        file += 2;
    size_t l = strlen(file);
    if (l > 5 && !strcmp(file + l - 5, ".yaml"))
        l -= 5;
    else if (l > 4 && !strcmp(file + l - 4, ".yml"))
        l -= 4;
    char *c = ma_xstrndup(file, l);
    for (char *p = c; *p; p++)
        if (*p == '.')
            *p = '_';
    return c;
}

int ma_report_junit(const char *path, const ma_result *rs, size_t n, double total_s, const char *session, char *err,
                    size_t errlen)
{
    size_t passed, failed, untrusted;
    ma_report_counts(rs, n, &passed, &failed, &untrusted);
    ma_buf b = {0};
    ma_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    ma_buf_printf(&b, "<testsuites name=\"mockassert\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n",
                  n, failed - untrusted, untrusted, total_s);
    colours none = {0};
    for (size_t i = 0; i < n;) {
        /* one testsuite per file, in order */
        size_t j = i, nf = 0, ne = 0;
        double t = 0;
        while (j < n && strcmp(rs[j].file, rs[i].file) == 0) {
            nf += rs[j].status == MA_FAIL;
            ne += rs[j].status == MA_UNTRUSTED;
            t += (double)rs[j].elapsed_ns / 1e9;
            j++;
        }
        ma_buf_puts(&b, "  <testsuite name=\"");
        xml_escape(&b, rs[i].file);
        ma_buf_printf(&b, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n", j - i, nf, ne, t);
        if (session) { /* a testsuite's properties come before its testcases */
            ma_buf_puts(&b, "    <properties>\n      <property name=\"session\" value=\"");
            xml_escape(&b, session);
            ma_buf_puts(&b, "\"/>\n    </properties>\n");
        }
        for (size_t k = i; k < j; k++) {
            const ma_result *r = &rs[k];
            ma_buf_puts(&b, "    <testcase name=\"");
            xml_escape(&b, r->exp->name);
            ma_buf_puts(&b, "\" classname=\"");
            char *cls = junit_classname(r->file);
            xml_escape(&b, cls);
            free(cls);
            ma_buf_puts(&b, "\" file=\"");
            xml_escape(&b, r->file);
            ma_buf_printf(&b, "\" line=\"%d\" time=\"%.3f\"", r->exp->mark.line, (double)r->elapsed_ns / 1e9);
            if (r->status == MA_PASS) {
                ma_buf_puts(&b, "/>\n");
                continue;
            }
            ma_buf details = {0};
            ma_buf_printf(&details, "%s:%d:%d: %s\n", r->file, r->exp->mark.line, r->exp->mark.col, r->exp->name);
            text_details(&details, r, &none, 2);
            const char *tag = r->status == MA_FAIL ? "failure" : "error";
            char *msg = junit_message(r);
            ma_buf_printf(&b, ">\n      <%s message=\"", tag);
            xml_escape(&b, msg);
            ma_buf_printf(&b, "\" type=\"%s\">", r->status == MA_FAIL ? "expectation" : "untrusted");
            xml_escape(&b, ma_buf_str(&details));
            ma_buf_printf(&b, "</%s>\n    </testcase>\n", tag);
            free(msg);
            ma_buf_free(&details);
        }
        ma_buf_puts(&b, "  </testsuite>\n");
        i = j;
    }
    ma_buf_puts(&b, "</testsuites>\n");
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        ma_buf_free(&b);
        return -1;
    }
    put_masked(f, &b);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: write failed", path);
        return -1;
    }
    return 0;
}
