/* page.c: see page.h.
 *
 * The page is src/page/index.html, pulled in with the assembler's .incbin
 * (the build passes -Wa,-I<repo>/src/page; ci/build.sh rebuilds this object
 * when the page changes, since make cannot see .incbin dependencies). It
 * holds its style and script inline: the server sends one file and the
 * page asks nothing of any other origin (its Content-Security-Policy says
 * so to the browser too). */
#include "page.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "certs.h"
#include "errors.h"
#include "journal.h"
#include "respond.h"
#include "state.h"

__asm__(".section .rodata\n"
        ".balign 16\n"
        "mk_page_html:\n"
        ".incbin \"index.html\"\n"
        "mk_page_html_end:\n"
        ".byte 0\n"
        ".previous\n");

enum { PLAIN_ROWS = 50 }; /* requests the no-JavaScript view lists */

/* The page's headers: no caching (it shows the server's state when it was
 * asked), and a policy that keeps every request on this origin. */
static const char csp[] = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                          "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; "
                          "frame-ancestors 'none'";

/* The position of the first of `word` in the Accept value a, or -1; a word
 * with q=0 is not accepted and counts as absent. */
static long accept_pos(const char *a, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = a; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t l = strcspn(p, ",");
        size_t tl = strcspn(p, ";, \t");
        if (tl == wl && strncasecmp(p, word, wl) == 0) {
            const char *q = p + tl;
            const char *e = p + l;
            bool zero = false;
            for (; q < e; q++)
                if (strncasecmp(q, "q=0", 3) == 0 && (q + 3 == e || q[3] == ',' || q[3] == ' ' ||
                                                    (q[3] == '.' && strspn(q + 4, "0") >= (size_t)(e - q - 4))))
                    zero = true;
            if (!zero)
                return p - a;
        }
        p += l;
    }
    return -1;
}

bool mk_page_wanted(const mk_request *req)
{
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
        return false;
    const char *p = req->path;
    size_t n = req->path_len;
    bool ours = (n == 1 && p[0] == '/') || (n == 5 && memcmp(p, "/test", 5) == 0) ||
                (n >= 6 && memcmp(p, "/test/", 6) == 0);
    if (!ours || (n == 12 && memcmp(p, "/test/events", 12) == 0) ||
        (n == 12 && memcmp(p, "/test/ca.pem", 12) == 0))
        return false;
    const char *a = mk_req_header(req, "Accept");
    if (!a)
        return false;
    long html = accept_pos(a, "text/html"), json = accept_pos(a, "application/json");
    return html >= 0 && (json < 0 || html < json);
}

/* Appends s[0..n) to out, escaped for HTML text and attribute values. */
static void put_html(mk_buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '&': mk_buf_puts(out, "&amp;"); break;
        case '<': mk_buf_puts(out, "&lt;"); break;
        case '>': mk_buf_puts(out, "&gt;"); break;
        case '"': mk_buf_puts(out, "&quot;"); break;
        case '\'': mk_buf_puts(out, "&#39;"); break;
        default:
            if (c < 0x20 || c == 0x7f)
                mk_buf_putc(out, '?'); /* a control byte from a path: shown, not obeyed */
            else
                mk_buf_putc(out, (char)c);
        }
    }
}

static void put_html_str(mk_buf *out, const char *s)
{
    if (s)
        put_html(out, s, strlen(s));
}

/* The no-JavaScript view: the session, its counters that moved, and its
 * last requests, newest first, as plain tables. */
static void render_plain(mk_session *S, mk_buf *out)
{
    mk_buf_puts(out, "<div id=\"plain\"><p>Session <b>");
    put_html_str(out, S->id);
    mk_buf_puts(out, "</b>. This view does not update: reload the page, or turn on JavaScript for "
                     "the live one.</p>\n<h2>Counters</h2>\n<table class=\"plain-counters\">"
                     "<tr><th>counter</th><th>value</th></tr>\n");
    for (int i = 0; i < MOCKAPI_COUNTER_COUNT; i++)
        mk_buf_printf(out, "<tr><td>%s</td><td>%lld</td></tr>\n", mockapi_counter_name((mockapi_counter)i),
                      (long long)mk_state_counter(&S->state, i));
    mk_buf_puts(out, "</table>\n<h2>Last requests</h2>\n");
    mk_jfilter f;
    char err[200];
    char q[32];
    snprintf(q, sizeof q, "last=%d", PLAIN_ROWS);
    mk_jselect sel = {0};
    if (mk_jfilter_parse(q, &f, err, sizeof err) != 0 || mk_state_journal_select(&S->state, &f, &sel) != 0) {
        mk_buf_puts(out, "<p>The journal cannot be read now (out of memory).</p></div>");
        return;
    }
    mk_buf_printf(out, "<p>%zu shown of the journal's %llu requests (%llu evicted); "
                       "a program gets them all as JSON from <code>GET /test/requests</code> (a browser "
                       "following a link there would get this page again).</p>\n",
                  sel.n, (unsigned long long)(sel.st.next_seq - 1), (unsigned long long)sel.st.evicted);
    mk_buf_puts(out, "<table class=\"plain-requests\"><tr><th>seq</th><th>time (UTC)</th><th>method</th>"
                     "<th>path</th><th>route</th><th>status</th><th>ms</th></tr>\n");
    for (size_t i = sel.n; i-- > 0;) {
        const mk_jentry *e = sel.e[i];
        struct tm tm;
        time_t t = (time_t)e->time.sec;
        gmtime_r(&t, &tm);
        mk_buf_printf(out, "<tr><td>%llu</td><td>%02d:%02d:%02d.%03d</td><td>", (unsigned long long)e->seq,
                      tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(e->time.nsec / 1000000));
        put_html_str(out, e->method);
        mk_buf_puts(out, "</td><td>");
        put_html(out, e->path, e->path_len);
        if (e->query && *e->query) { /* "" when the target had none */
            mk_buf_putc(out, '?');
            put_html_str(out, e->query);
        }
        mk_buf_puts(out, "</td><td>");
        put_html_str(out, e->route ? e->route : "-");
        mk_buf_printf(out, "</td><td>%d</td><td>%.1f</td></tr>\n", e->status, (double)e->duration_us / 1000.0);
    }
    mk_buf_puts(out, "</table></div>");
    mk_jselect_release(&sel);
}

void mk_respond_page(mk_session *S, mk_session *at, const mk_request *req, mk_response *resp)
{
    if (!(req->path_len >= 6 && memcmp(req->path, "/test/", 6) == 0)) {
        /* "/" and "/test": to the page, in the session the path named
         * (a prefix that was there was stripped: its session is S), the
         * query kept (?session= names the session the page follows) */
        mk_buf loc;
        mk_buf_init(&loc, 0);
        mk_buf_printf(&loc, "%s%s/test/", req->prefix_len ? "/s/" : "", req->prefix_len ? at->id : "");
        if (req->query && *req->query)
            mk_buf_printf(&loc, "?%s", req->query);
        mk_buf_putc(&loc, '\0');
        if (loc.err) {
            mk_buf_free(&loc);
            mk_err_internal(req, resp, "out of memory");
            return;
        }
        mk_respond(req, resp, &(mk_reply){.status = 302, .ctype = MK_CT_HTML, .body = "", .len = 0,
                                          .extra = {{"Location", loc.data}, {"Cache-Control", "no-store"}}});
        mk_buf_free(&loc);
        return;
    }
    const char *html = mk_page_html;
    size_t hl = (size_t)(mk_page_html_end - mk_page_html);
    const char *ph = strstr(html, MK_PAGE_PLACEHOLDER);
    mk_buf b;
    mk_buf_init(&b, 0);
    if (ph) {
        mk_buf_append(&b, html, (size_t)(ph - html));
        if (S)
            render_plain(S, &b);
        else
            mk_buf_puts(&b, "<div id=\"plain\"><p>This mock needs its admin token (-admin-token). Open this page "
                            "as <code>/test/#token=TOKEN</code>: the page keeps it for this tab. Programs send it "
                            "as <code>X-Mockapi-Admin-Token: TOKEN</code>.</p></div>");
        size_t after = (size_t)(ph - html) + sizeof MK_PAGE_PLACEHOLDER - 1;
        mk_buf_append(&b, html + after, hl - after);
    } else {
        mk_buf_append(&b, html, hl);
    }
    if (b.err) {
        mk_buf_free(&b);
        mk_err_internal(req, resp, "out of memory");
        return;
    }
    /* the shell (S NULL) is a 200 too: a browser logs a 401 document as an
     * error in the console of a page that is about to work */
    mk_respond(req, resp, &(mk_reply){.status = 200, .ctype = MK_CT_HTML, .body = b.data, .len = b.len,
                                      .extra = {{"Cache-Control", "no-store"},
                                                {"Content-Security-Policy", csp},
                                                {"X-Content-Type-Options", "nosniff"}}});
    mk_buf_free(&b);
}

void mk_respond_ca(mockapi *m, const mk_request *req, mk_response *resp)
{
    if (!m->tls_job) {
        mk_err_refused(req, resp, 404, "no TLS listener is configured (-tls-addr): there is no CA");
        return;
    }
    char why[256] = "";
    const mk_tls *t = mk_tls_job_get(m->tls_job, why, sizeof why);
    if (!t) {
        char msg[300];
        snprintf(msg, sizeof msg, "the TLS certificates could not be made: %s", why);
        mk_err_refused(req, resp, 500, msg);
        return;
    }
    mk_respond(req, resp, &(mk_reply){.status = 200, .ctype = "application/x-pem-file", .body = t->ca_pem,
                                      .len = strlen(t->ca_pem),
                                      .extra = {{"Content-Disposition", "attachment; filename=\"mockapi-ca.pem\""},
                                                {"Cache-Control", "no-store"}}});
}
