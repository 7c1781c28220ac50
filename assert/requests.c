/* requests.c: see requests.h. */
#include "requests.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "glob.h"
#include "match.h"

long long ma_journal_last_seq(const ma_journal *j)
{
    return j->n ? j->v[j->n - 1].seq : 0;
}

static const char *str_field(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s;
}

static long long int_field(const json_t *o, const char *k, long long dflt)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

long ma_journal_add_page(ma_journal *j, const json_t *page, const char **why)
{
    json_t *entries = json_object_get(page, "entries");
    if (!json_is_object(page) || !json_is_array(entries)) {
        *why = "the answer has no \"entries\" list";
        return -1;
    }
    if (!j->raw && !(j->raw = json_array()))
        ma_oom();
    j->next_seq = int_field(page, "next_seq", j->next_seq);
    j->oldest_seq = int_field(page, "oldest_seq", j->oldest_seq);
    j->evicted = int_field(page, "evicted", j->evicted);
    j->max_entries = int_field(page, "max_entries", j->max_entries);
    j->max_known |= json_is_integer(json_object_get(page, "max_entries"));
    size_t n = json_array_size(entries);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(entries, i);
        long long seq = int_field(e, "seq", -1);
        if (!json_is_object(e) || seq < 0) {
            *why = "a journal entry has no seq";
            return -1;
        }
        if (seq <= ma_journal_last_seq(j))
            continue;
        if (json_array_append(j->raw, e))
            ma_oom();
        j->v = ma_xrealloc(j->v, (j->n + 1) * sizeof *j->v);
        ma_entry *x = &j->v[j->n++];
        memset(x, 0, sizeof *x);
        x->seq = seq;
        x->entry = e;
        const char *t = str_field(e, "time");
        if (!t || ma_parse_rfc3339(t, &x->time_ns) < 0)
            x->time_ns = 0;
        x->method = str_field(e, "method");
        x->path = str_field(e, "path");
        if (!x->method)
            x->method = "";
        if (!x->path)
            x->path = "";
        x->route = str_field(e, "route");
        x->status = (int)int_field(e, "status", 0);
        x->test = json_is_true(json_object_get(e, "test"));
        json_t *b = json_object_get(e, "body");
        if (json_is_string(b)) {
            const char *enc = str_field(e, "body_encoding");
            if (enc && strcmp(enc, "base64") == 0)
                x->body = json_incref(b);
            else
                x->body = ma_json_from_body(json_string_value(b), json_string_length(b));
        }
    }
    return (long)n;
}

void ma_journal_free(ma_journal *j)
{
    for (size_t i = 0; i < j->n; i++)
        json_decref(j->v[i].body);
    free(j->v);
    json_decref(j->raw);
    memset(j, 0, sizeof *j);
}

/* ---- glob ---- */

/* the server's own matcher (src/glob.c, compiled in): a filter selects the
 * same entries here as in /test/requests and /test/wait */
int ma_glob_match(const char *glob, const char *path)
{
    return mk_path_glob(glob, path);
}

/* ---- filters ---- */

static const char *const test_routes[] = {"configure_state", "configure_heartbeat", "inject_event", "assertions",
                                          "last_request",    "sse",                 "sse_wait",     "requests",
                                          "reset",           "wait",                "stats"};

int ma_filter_wants_test(const ma_filter *f)
{
    if (f->path && strncmp(f->path, "/test/", 6) == 0)
        return 1;
    for (size_t i = 0; f->route && i < sizeof test_routes / sizeof test_routes[0]; i++)
        if (strcmp(f->route, test_routes[i]) == 0)
            return 1;
    return 0;
}

int ma_filter_match(const ma_filter *f, const ma_entry *e)
{
    if (e->test && !ma_filter_wants_test(f))
        return 0;
    if (f->method && strcasecmp(f->method, e->method) != 0)
        return 0;
    if (f->route && (!e->route || strcmp(f->route, e->route) != 0))
        return 0;
    if (f->status && f->status != e->status)
        return 0;
    if (f->path && !ma_glob_match(f->path, e->path))
        return 0;
    return 1;
}

/* Where each capture key's route lives, so an entry that missed the route
 * (a typo in the path, a wrong method) can still be ranked as close. */
static const struct {
    const char *route, *method, *path;
} route_paths[] = {
    {"register", "POST", "/v1/register"},
    {"heartbeat", "POST", "/v1/nodes/*/heartbeat"},
    {"deregister", "POST", "/v1/nodes/*/deregister"},
    {"key_rotate", "POST", "/v1/keys/rotate"},
    {"capabilities", "PUT", "/v1/nodes/*/capabilities"},
    {"endpoint", "PUT", "/v1/nodes/*/endpoint"},
    {"drift", "POST", "/v1/nodes/*/drift"},
    {"report", "POST", "/v1/nodes/*/report"},
    {"execution_ack", "POST", "/v1/nodes/*/executions/*/ack"},
    {"execution_result", "POST", "/v1/nodes/*/executions/*/result"},
    {"metrics", "POST", "/v1/nodes/*/metrics"},
    {"logs", "POST", "/v1/nodes/*/logs"},
    {"audit", "POST", "/v1/nodes/*/audit"},
    {"tunnel_ready", "POST", "/v1/nodes/*/tunnels/*/ready"},
    {"tunnel_closed", "POST", "/v1/nodes/*/tunnels/*/closed"},
    {"integrity_violation", "POST", "/v1/nodes/*/integrity/violations"},
    {"configure_state", "PUT", "/test/state"},
    {"configure_heartbeat", "POST", "/test/configure-heartbeat"},
    {"inject_event", "POST", "/test/inject-event"},
    {"local_metrics", "POST", "/local/metrics"},
    {"local_logs", "POST", "/local/logs"},
    {"local_audit", "POST", "/local/audit"},
    {"ping", "GET", "/v1/ping"},
    {"state", "GET", "/v1/nodes/*/state"},
    {"metadata", "GET", "/v1/nodes/*/metadata"},
    {"events", "GET", "/v1/nodes/*/events"},
    {"secrets", "GET", "/v1/nodes/*/secrets/*"},
    {"artifact", "GET", "/v1/artifacts/plexd/*/*/*"},
};

/* Fraction (0..1000) of segments of path that match the glob's segments
 * at the same position. */
static int segment_similarity(const char *glob, const char *path)
{
    int same = 0, total = 0;
    const char *g = glob, *p = path;
    while (*g || *p) {
        const char *ge = g, *pe = p;
        while (*ge && *ge != '/')
            ge++;
        while (*pe && *pe != '/')
            pe++;
        char gs[256], ps[256];
        size_t gl = (size_t)(ge - g) < sizeof gs - 1 ? (size_t)(ge - g) : sizeof gs - 1;
        size_t pl = (size_t)(pe - p) < sizeof ps - 1 ? (size_t)(pe - p) : sizeof ps - 1;
        memcpy(gs, g, gl);
        gs[gl] = '\0';
        memcpy(ps, p, pl);
        ps[pl] = '\0';
        total++;
        if ((gl || pl) && (strcmp(gs, "**") == 0 || ma_glob_match(gs, ps)))
            same++;
        else if (gl && pl && ma_edit_distance(gs, ps) <= 2)
            same++; /* a typo still counts as close */
        g = *ge ? ge + 1 : ge;
        p = *pe ? pe + 1 : pe;
        if (total > 64)
            break;
    }
    return total ? same * 1000 / total : 0;
}

int ma_filter_similarity(const ma_filter *f, const ma_entry *e)
{
    if (ma_filter_match(f, e))
        return 100;
    const char *want_path = f->path, *want_method = f->method;
    for (size_t i = 0; f->route && i < sizeof route_paths / sizeof route_paths[0]; i++) {
        if (strcmp(route_paths[i].route, f->route) == 0) {
            if (!want_path)
                want_path = route_paths[i].path;
            if (!want_method)
                want_method = route_paths[i].method;
        }
    }
    int score = 0;
    if (f->route && e->route && strcmp(f->route, e->route) == 0)
        score += 30;
    if (want_method && strcmp(want_method, e->method) == 0)
        score += 10;
    if (f->status && f->status == e->status)
        score += 10;
    if (want_path)
        score += segment_similarity(want_path, e->path) * 49 / 1000;
    return score > 99 ? 99 : score;
}

/* ---- time ---- */

static int digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)**s))
            return -1;
        v = v * 10 + (*(*s)++ - '0');
    }
    *out = v;
    return 0;
}

int ma_parse_rfc3339(const char *s, int64_t *ns)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int y, mo, d, h, mi, se;
    if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' || digits(&s, 2, &d) ||
        (*s != 'T' && *s != 't' && *s != ' '))
        return -1;
    s++;
    if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi) || *s++ != ':' || digits(&s, 2, &se))
        return -1;
    int64_t frac = 0;
    if (*s == '.') {
        s++;
        int n = 0;
        while (isdigit((unsigned char)*s)) {
            if (n < 9) {
                frac = frac * 10 + (*s - '0');
                n++;
            }
            s++;
        }
        for (; n < 9; n++)
            frac *= 10;
    }
    int offset = 0;
    if (*s == 'Z' || *s == 'z')
        s++;
    else if (*s == '+' || *s == '-') {
        int sign = *s++ == '-' ? -1 : 1, oh, om;
        if (digits(&s, 2, &oh) || *s++ != ':' || digits(&s, 2, &om))
            return -1;
        offset = sign * (oh * 3600 + om * 60);
    } else
        return -1;
    if (*s)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    *ns = ((int64_t)t - offset) * 1000000000LL + frac;
    return 0;
}

/* ---- queries ---- */

static void url_escape(ma_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '*')
            ma_buf_putc(b, (char)c);
        else
            ma_buf_printf(b, "%%%02X", c);
    }
}

char *ma_filter_query(const ma_filter *f)
{
    ma_buf b = {0};
    const char *sep = "";
    if (f->method) {
        ma_buf_puts(&b, "method=");
        url_escape(&b, f->method);
        sep = "&";
    }
    if (f->path) {
        ma_buf_printf(&b, "%spath=", sep);
        url_escape(&b, f->path);
        sep = "&";
    }
    if (f->route) {
        ma_buf_printf(&b, "%sroute=", sep);
        url_escape(&b, f->route);
        sep = "&";
    }
    if (f->status) {
        ma_buf_printf(&b, "%sstatus=%d", sep, f->status);
        sep = "&";
    }
    if (ma_filter_wants_test(f))
        ma_buf_printf(&b, "%sinclude_test=1", sep);
    return ma_buf_steal(&b);
}
