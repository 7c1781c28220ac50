/* sse_client.c: a streaming event-stream reader over a raw socket; see
 * sse_client.h. */
#include "sse_client.h"

#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define SSE_READ_CHUNK 65536

int sse_connect(sse_client *c, int port, int rcvbuf)
{
    memset(c, 0, sizeof *c);
    c->fd = mt_connect_rcvbuf(port, rcvbuf);
    if (c->fd < 0)
        return -1;
    c->open = true;
    return 0;
}

int sse_send_request(sse_client *c, const char *method, const char *path,
                     const char *const *headers, size_t nheaders)
{
    char line[1024];
    int n;

    if (!c->open)
        return -1;
    n = snprintf(line, sizeof line,
                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n", method,
                 path);
    if (n < 0 || (size_t)n >= sizeof line || mt_send_all(c->fd, line, (size_t)n) != 0)
        return -1;
    for (size_t i = 0; i < nheaders; i++) {
        if (mt_send_all(c->fd, headers[i], strlen(headers[i])) != 0 ||
            mt_send_all(c->fd, "\r\n", 2) != 0)
            return -1;
    }
    return mt_send_all(c->fd, "\r\n", 2);
}

/* One recv of whatever is there, waiting until the deadline.
 * 1: bytes appended; 0: deadline; -1: EOF or error (c->eof set). */
static int fill(sse_client *c, int64_t deadline_ms)
{
    for (;;) {
        int64_t left = deadline_ms - mt_now_ms();
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int pr;
        ssize_t r;

        if (c->eof || !c->open)
            return -1;
        if (left <= 0)
            return 0;
        pr = poll(&pfd, 1, (int)left);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            c->eof = true;
            return -1;
        }
        if (pr == 0)
            return 0;
        /* compact before growing */
        if (c->off > 0 && c->off == c->len) {
            c->off = c->len = 0;
        } else if (c->off > SSE_READ_CHUNK) {
            memmove(c->buf, c->buf + c->off, c->len - c->off);
            c->len -= c->off;
            c->off = 0;
        }
        {
            unsigned char *nb = realloc(c->buf, c->len + SSE_READ_CHUNK + 1);
            if (!nb) {
                c->eof = true;
                return -1;
            }
            c->buf = nb;
        }
        r = recv(c->fd, c->buf + c->len, SSE_READ_CHUNK, 0);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0) {
            c->eof = true;
            return -1;
        }
        c->len += (size_t)r;
        c->buf[c->len] = '\0';
        if (c->status > 0)
            c->body_bytes += (uint64_t)r;
        return 1;
    }
}

static char *dup_range(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static int parse_head(sse_client *c, size_t head_len)
{
    const char *h = (const char *)c->buf;
    const char *line_end = strstr(h, "\r\n");
    int status = 0;

    c->head = dup_range(h, head_len);
    if (!c->head)
        return -1;
    c->head_len = head_len;
    if (!line_end || sscanf(h, "HTTP/1.%*1[01] %3d", &status) != 1 || status < 100)
        return -1;
    for (const char *p = line_end + 2; p < h + head_len - 2;) {
        const char *e = strstr(p, "\r\n");
        const char *colon;
        mt_header *nh;
        const char *v;
        size_t vn;
        if (!e || e == p)
            break;
        colon = memchr(p, ':', (size_t)(e - p));
        if (!colon)
            return -1;
        nh = realloc(c->headers, (c->nheaders + 1) * sizeof *nh);
        if (!nh)
            return -1;
        c->headers = nh;
        v = colon + 1;
        while (v < e && (*v == ' ' || *v == '\t'))
            v++;
        vn = (size_t)(e - v);
        while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
            vn--;
        nh[c->nheaders].name = dup_range(p, (size_t)(colon - p));
        nh[c->nheaders].value = dup_range(v, vn);
        c->nheaders++;
        if (!nh[c->nheaders - 1].name || !nh[c->nheaders - 1].value)
            return -1;
        p = e + 2;
    }
    c->status = status;
    c->off = head_len;
    c->body_bytes = c->len - head_len;
    return status;
}

int sse_read_head(sse_client *c, int64_t deadline_ms)
{
    for (;;) {
        if (c->buf) {
            const char *end = strstr((const char *)c->buf, "\r\n\r\n");
            if (end)
                return parse_head(c, (size_t)(end - (const char *)c->buf) + 4);
        }
        if (fill(c, deadline_ms) <= 0)
            return 0;
    }
}

int sse_open(sse_client *c, int port, const char *path, const char *const *headers,
             size_t nheaders, int64_t deadline_ms)
{
    if (sse_connect(c, port, 0) != 0)
        return -1;
    if (sse_send_request(c, "GET", path, headers, nheaders) != 0)
        return -1;
    return sse_read_head(c, deadline_ms);
}

const char *sse_header(const sse_client *c, const char *name)
{
    for (size_t i = 0; i < c->nheaders; i++)
        if (strcasecmp(c->headers[i].name, name) == 0)
            return c->headers[i].value;
    return NULL;
}

size_t sse_pending(const sse_client *c)
{
    return c->len - c->off;
}

/* appends n bytes to a growing NUL-terminated string */
static int append(char **s, size_t *len, const char *p, size_t n)
{
    char *ns = realloc(*s, *len + n + 1);
    if (!ns)
        return -1;
    memcpy(ns + *len, p, n);
    *len += n;
    ns[*len] = '\0';
    *s = ns;
    return 0;
}

static void frame_reset(sse_client *c)
{
    free(c->fid);
    free(c->fevent);
    free(c->fdata);
    free(c->fraw);
    c->fid = c->fevent = c->fdata = c->fraw = NULL;
    c->fdata_len = c->fraw_len = c->fndata = 0;
    c->infield = false;
}

/* Processes one line (content n bytes, full bytes with its terminator).
 * Returns 1 when it dispatched a frame into ev, 0 otherwise, -1 on ENOMEM. */
static int process_line(sse_client *c, const char *line, size_t n, size_t full, sse_event *ev)
{
    if (n == 0) {
        if (!c->infield) {
            c->blank_lines++;
            return 0;
        }
        if (append(&c->fraw, &c->fraw_len, line, full) != 0)
            return -1;
        memset(ev, 0, sizeof *ev);
        ev->id = c->fid;
        ev->event = c->fevent;
        ev->data = c->fdata;
        ev->ndata = c->fndata;
        ev->raw = c->fraw;
        ev->raw_len = c->fraw_len;
        c->fid = c->fevent = c->fdata = c->fraw = NULL;
        frame_reset(c);
        c->frames++;
        return 1;
    }
    if (line[0] == ':') {
        c->comments++;
        if (n == 12 && memcmp(line, ": keep-alive", 12) == 0)
            c->keepalives++;
        if (c->infield && append(&c->fraw, &c->fraw_len, line, full) != 0)
            return -1;
        return 0;
    }
    {
        const char *colon = memchr(line, ':', n);
        size_t fn = colon ? (size_t)(colon - line) : n;
        const char *v = colon ? colon + 1 : line + n;
        size_t vn = (size_t)(line + n - v);
        if (vn > 0 && *v == ' ') {
            v++;
            vn--;
        }
        c->infield = true;
        if (append(&c->fraw, &c->fraw_len, line, full) != 0)
            return -1;
        if (fn == 2 && memcmp(line, "id", 2) == 0) {
            free(c->fid);
            if (!(c->fid = dup_range(v, vn)))
                return -1;
        } else if (fn == 5 && memcmp(line, "event", 5) == 0) {
            free(c->fevent);
            if (!(c->fevent = dup_range(v, vn)))
                return -1;
        } else if (fn == 4 && memcmp(line, "data", 4) == 0) {
            if (c->fndata > 0 && append(&c->fdata, &c->fdata_len, "\n", 1) != 0)
                return -1;
            if (append(&c->fdata, &c->fdata_len, v, vn) != 0)
                return -1;
            if (!c->fdata && !(c->fdata = calloc(1, 1)))
                return -1;
            c->fndata++;
        }
        return 0;
    }
}

/* Parses buffered complete lines; 1 when a frame is in *ev. */
static int parse_buffered(sse_client *c, sse_event *ev)
{
    while (c->off < c->len) {
        const char *p = (const char *)c->buf + c->off;
        const char *nl = memchr(p, '\n', c->len - c->off);
        size_t full, n;
        int r;
        if (!nl)
            return 0;
        full = (size_t)(nl - p) + 1;
        n = full - 1;
        if (n > 0 && p[n - 1] == '\r')
            n--;
        c->off += full;
        r = process_line(c, p, n, full, ev);
        if (r != 0)
            return r;
    }
    return 0;
}

int sse_next(sse_client *c, sse_event *ev, int64_t deadline_ms)
{
    memset(ev, 0, sizeof *ev);
    if (c->status <= 0)
        return -1;
    for (;;) {
        int r = parse_buffered(c, ev);
        if (r == 1)
            return 1;
        if (r < 0)
            return -1;
        r = fill(c, deadline_ms);
        if (r == 0)
            return 0;
        if (r < 0)
            return parse_buffered(c, ev) == 1 ? 1 : -1;
    }
}

int sse_drain(sse_client *c, int64_t deadline_ms, size_t want_keepalives)
{
    sse_event ev;
    for (;;) {
        int r;
        while ((r = parse_buffered(c, &ev)) == 1)
            sse_event_free(&ev);
        if (want_keepalives > 0 && c->keepalives >= want_keepalives)
            return 0;
        r = fill(c, deadline_ms);
        if (r == 0)
            return 0;
        if (r < 0) {
            while (parse_buffered(c, &ev) == 1)
                sse_event_free(&ev);
            return 1;
        }
    }
}

void sse_event_free(sse_event *ev)
{
    if (!ev)
        return;
    free(ev->id);
    free(ev->event);
    free(ev->data);
    free(ev->raw);
    memset(ev, 0, sizeof *ev);
}

void sse_close(sse_client *c)
{
    if (!c)
        return;
    if (c->open && c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->open = false;
    frame_reset(c);
    for (size_t i = 0; i < c->nheaders; i++) {
        free(c->headers[i].name);
        free(c->headers[i].value);
    }
    free(c->headers);
    free(c->head);
    free(c->buf);
    c->headers = NULL;
    c->head = NULL;
    c->buf = NULL;
    c->nheaders = c->head_len = c->len = c->off = 0;
}
