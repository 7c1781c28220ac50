/* journal_fill.c: fills a running mockapi's journal with an agent-like
 * session from many nodes, fast (bench/assert_bench.sh, the 100,000-entry
 * measurement). Usage: journal_fill PORT NODES POSTS_PER_NODE
 *
 * Each node node-000..node-<NODES-1> registers (POST /v1/register) and
 * reads its state (GET /v1/nodes/ID/state); then, round by round, every
 * node posts either a heartbeat (the realistic body of
 * tests/cases/heartbeat.case, with its timestamp, status, peer and
 * connection counts varying) or, in 3 rounds of 10, a metrics batch (cpu,
 * memory and a wireguard peer). So each node sends 2 + POSTS_PER_NODE
 * requests, heartbeats and metrics interleaved across nodes as a fleet
 * would. A round's requests are pipelined on one keep-alive connection and
 * their answers read before the next round. Prints "sent N requests in T
 * ms" and exits 0; any answer but 2xx, or a socket error, exits 1. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define BENCH_NAME "journal_fill"
#include "bench_util.h"

typedef struct {
    char *p;
    size_t len, cap;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            die("%s", "out of memory");
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void request(buf *b, const char *method, const char *path, const char *body)
{
    char head[512];
    size_t bl = body ? strlen(body) : 0;
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: plexd/1.0\r\n"
                     "Authorization: Bearer ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\r\n"
                     "%sContent-Length: %zu\r\n\r\n",
                     method, path, body ? "Content-Type: application/json\r\n" : "", bl);
    put(b, head, (size_t)n);
    if (bl)
        put(b, body, bl);
}

/* 2025-01-01T00:00:00Z plus s seconds (under a day) */
static void stamp(char *out, size_t n, int s)
{
    snprintf(out, n, "2025-01-01T%02d:%02d:%02dZ", s / 3600 % 24, s / 60 % 60, s % 60);
}

static void heartbeat(char *out, size_t n, int node, int round)
{
    char ts[32];
    stamp(ts, sizeof ts, round * 30 + node % 30);
    snprintf(out, n,
             "{\"node_id\":\"node-%03d\",\"timestamp\":\"%s\",\"status\":\"%s\",\"binary_checksum\":\"sha256:"
             "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\","
             "\"mesh\":{\"interface\":\"wg0\",\"peer_count\":%d,\"listen_port\":51820},"
             "\"nat\":{\"public_endpoint\":\"198.51.100.%d:51820\",\"type\":\"full_cone\"},"
             "\"bridge\":{\"enabled\":true,\"access_interface\":\"br0\",\"active_routes\":%d,\"relay_enabled\":false,"
             "\"active_relay_sessions\":0,\"ingress_enabled\":true,\"active_ingress_rules\":2,"
             "\"site_to_site_enabled\":false,\"active_site_to_site_tunnels\":0},"
             "\"user_access\":{\"enabled\":false,\"interface_name\":\"wg-access0\",\"peer_count\":0,"
             "\"listen_port\":51821},\"ingress\":{\"enabled\":true,\"rule_count\":1,\"connection_count\":%d},"
             "\"site_to_site\":{\"enabled\":false,\"tunnel_count\":0}}",
             node, ts, round % 97 == 96 ? "degraded" : "healthy", 1 + (node + round) % 5, node % 250 + 1,
             round % 3, (node * 7 + round * 13) % 40);
}

static void metrics(char *out, size_t n, int node, int round)
{
    char ts[32];
    stamp(ts, sizeof ts, round * 30 + node % 30);
    snprintf(out, n,
             "[{\"timestamp\":\"%s\",\"group\":\"cpu\",\"data\":{\"load\":0.%02d,\"cores\":4}},"
             "{\"timestamp\":\"%s\",\"group\":\"memory\",\"data\":{\"used_bytes\":%d,\"total_bytes\":8589934592}},"
             "{\"timestamp\":\"%s\",\"group\":\"wireguard\",\"peer_id\":\"peer-%03d\","
             "\"data\":{\"rx_bytes\":%d,\"tx_bytes\":%d}}]",
             ts, (node + round) % 100, ts, 1000000 + node * 1000 + round, ts, (node + 1) % 100, round * 1500,
             round * 900 + node);
}

/* Reads answers until `want` complete ones arrived; returns how many were
 * not 2xx. */
static int read_answers(int fd, int want, buf *in)
{
    int bad = 0, got = 0;
    in->len = 0;
    size_t at = 0;
    while (got < want) {
        /* complete answers first */
        for (;;) {
            char *h = in->len > at ? memmem(in->p + at, in->len - at, "\r\n\r\n", 4) : NULL;
            if (!h)
                break;
            size_t head_end = (size_t)(h - in->p) + 4, clen = 0;
            int status = atoi(in->p + at + 9);
            for (char *l = in->p + at; l < h; l++) {
                if ((l == in->p + at || l[-1] == '\n') && strncasecmp(l, "Content-Length:", 15) == 0)
                    clen = strtoul(l + 15, NULL, 10);
            }
            if (head_end + clen > in->len)
                break;
            if (status < 200 || status > 299) {
                if (bad < 3)
                    fprintf(stderr, "journal_fill: answer %d: %.*s\n", status, (int)clen, in->p + head_end);
                bad++;
            }
            at = head_end + clen;
            got++;
            if (got == want)
                return bad;
        }
        if (in->cap - in->len < 65536) {
            in->cap = in->cap * 2 + 65536;
            in->p = realloc(in->p, in->cap);
            if (!in->p)
                die("%s", "out of memory");
        }
        ssize_t r = recv(fd, in->p + in->len, in->cap - in->len, 0);
        if (r <= 0)
            die("%s", "the server closed the connection or failed");
        in->len += (size_t)r;
    }
    return bad;
}

static void send_all(int fd, const buf *b)
{
    for (size_t off = 0; off < b->len;) {
        ssize_t w = send(fd, b->p + off, b->len - off, 0);
        if (w <= 0)
            die("%s", "send failed");
        off += (size_t)w;
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: journal_fill PORT NODES POSTS_PER_NODE\n");
        return 2;
    }
    int port = atoi(argv[1]), nodes = atoi(argv[2]), posts = atoi(argv[3]);
    if (port <= 0 || nodes <= 0 || nodes > 1000 || posts < 0)
        die("%s", "bad arguments");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        die("%s", "cannot connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int64_t t0 = now_ns();
    buf out = {0}, in = {0};
    char body[2048], path[128];
    long sent = 0, bad = 0;
    for (int n = 0; n < nodes; n++) {
        snprintf(body, sizeof body,
                 "{\"token\":\"tok\",\"public_key\":\"pk-node-%03d\",\"hostname\":\"node-%03d\","
                 "\"metadata\":{\"site\":\"site-%d\"},\"capabilities\":{\"builtin_actions\":[],\"hooks\":[]}}",
                 n, n, n % 4);
        request(&out, "POST", "/v1/register", body);
        snprintf(path, sizeof path, "/v1/nodes/node-%03d/state", n);
        request(&out, "GET", path, NULL);
    }
    send_all(fd, &out);
    bad += read_answers(fd, 2 * nodes, &in);
    sent += 2 * nodes;
    for (int r = 0; r < posts; r++) {
        out.len = 0;
        int is_metrics = r % 10 == 1 || r % 10 == 4 || r % 10 == 7;
        for (int n = 0; n < nodes; n++) {
            snprintf(path, sizeof path, "/v1/nodes/node-%03d/%s", n, is_metrics ? "metrics" : "heartbeat");
            if (is_metrics)
                metrics(body, sizeof body, n, r);
            else
                heartbeat(body, sizeof body, n, r);
            request(&out, "POST", path, body);
        }
        send_all(fd, &out);
        bad += read_answers(fd, nodes, &in);
        sent += nodes;
    }
    close(fd);
    printf("sent %ld requests in %.0f ms\n", sent, (double)(now_ns() - t0) / 1e6);
    if (bad) {
        fprintf(stderr, "journal_fill: %ld answers were not 2xx\n", bad);
        return 1;
    }
    return 0;
}
