/* nodes.c: the strict profile's node registry (nodes.h).
 *
 * One mutex (mk_nodes.lock) guards everything but the domain id, which is
 * written once by mk_nodes_new. The nodes sit in a fixed array of
 * MK_NODES_MAX slots, slot i holding mesh IP 10.99.0.(i + 4) (.2 and .3 are the
 * fixture's peers, which a node must not be): the next
 * mesh IP is the lowest free slot, so a deregistered node's address is
 * handed out again (a mesh keeps its addresses dense) and the 251st live
 * node has nowhere to go. Every lookup is a scan of at most 250 slots,
 * which is nothing next to the request that asked for it.
 *
 * Reachability is not stored as a state: it is computed from the time of
 * the last heartbeat (or of registration) at the now_ms of each call, so
 * no timer has to run for a node to go stale, and a test that advances the
 * session's clock sees the transition at exactly the boundary. Only the
 * last move to healthy is remembered, as that is the one transition the
 * clock alone cannot reconstruct. */
#include "nodes.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gojson.h"

/* The mock's model of how long a rotation takes, for the preview (the
 * seed gives no figure): the agent has to get the rotate_keys event and
 * submit its new key, then every affected edge re-handshakes. */
enum { ROTATE_BASE_S = 5, ROTATE_PER_EDGE_S = 2 };

typedef enum rot_state { ROT_NONE, ROT_PENDING, ROT_COMPLETED } rot_state;

typedef struct hook {
    char *name, *checksum;
} hook;

typedef struct node {
    char id[MK_NODE_ID_LEN + 1];
    char nsk[MK_NODE_NSK_LEN + 1];
    char mesh_ip[16];
    char *hostname, *public_key; /* owned; NULL when the body had none */
    int64_t registered_at;
    bool has_heartbeat;
    int64_t last_heartbeat_at;
    int64_t healthy_at; /* the last move to healthy: registration or a heartbeat after a lapse */

    rot_state rot;
    char rot_id[MK_NODE_ID_LEN + 1]; /* the pending one, or the last completed one */
    int64_t wrap_key_version;        /* 1 for the PSKs issued at registration */

    bool has_caps; /* the last manifest: */
    char *bin_version, *bin_checksum, *host_key;
    size_t nhooks;
    hook *hooks;

    char *endpoint, *nat_type; /* the last observation; NULL before the first */
    int64_t endpoint_stale_after;
    size_t bytes; /* what it holds (node_size), taken from the budget */
} node;

typedef struct revoked {
    char nsk[MK_NODE_NSK_LEN + 1];
    char id[MK_NODE_ID_LEN + 1];
} revoked;

struct mk_nodes {
    char domain[MK_NODE_ID_LEN + 1]; /* immutable after mk_nodes_new */
    pthread_mutex_t lock;            /* guards every field below */
    node *slot[MK_NODES_MAX];        /* NULL: free; index = mesh IP - 4 */
    revoked gone[MK_NODES_MAX];      /* a ring: gone_head is the oldest when full */
    size_t ngone, gone_head;
    mk_budget *budget;               /* NULL: none (mk_nodes_set_budget) */
};

static const char *const reach_names[] = {"healthy", "stale", "unreachable"};

const char *mk_reach_name(mk_reach r)
{
    return (unsigned)r < sizeof reach_names / sizeof reach_names[0] ? reach_names[r] : "healthy";
}

/* ---- text helpers ------------------------------------------------------- */

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool mk_uuid_valid(const char *s, size_t len)
{
    if (!s || len != MK_NODE_ID_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i]))
            return false;
    }
    return true;
}

void mk_uuid_v7(int64_t now_ms, char out[MK_NODE_ID_LEN + 1])
{
    unsigned char b[16];
    uint64_t t = now_ms < 0 ? 0 : (uint64_t)now_ms & 0xFFFFFFFFFFFFULL; /* 48 bits */
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(t >> (40 - 8 * i));
    randombytes_buf(b + 6, 10);
    b[6] = (unsigned char)(0x70 | (b[6] & 0x0F)); /* version 7 */
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3F)); /* variant 10 */
    static const char hx[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hx[b[i] >> 4];
        out[o++] = hx[b[i] & 15];
    }
    out[o] = '\0';
}

void mk_rfc3339_ms(int64_t ms, char out[32])
{
    /* floor division, so an instant before the epoch still has 0..999 ms */
    int64_t days = ms / 86400000, rem = ms % 86400000;
    if (rem < 0) {
        rem += 86400000;
        days--;
    }
    int64_t y;
    int m, d;
    gj_civil_from_days(days, &y, &m, &d);
    snprintf(out, 32, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)y, m, d, (int)(rem / 3600000),
             (int)(rem / 60000 % 60), (int)(rem / 1000 % 60), (int)(rem % 1000));
}

void mk_node_id_lower(char *s)
{
    for (; s && *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* ---- JSON pieces --------------------------------------------------------- */

static bool same_str(const char *a, const char *b) /* NULL is absent */
{
    return a && b ? strcmp(a, b) == 0 : a == b;
}

static void put_str(mk_buf *b, const char *s) /* escaped: some values come from request bodies */
{
    gj_write_string(b, s, strlen(s));
}

static void put_str_or_null(mk_buf *b, const char *s)
{
    if (s)
        put_str(b, s);
    else
        mk_buf_puts(b, "null");
}

static void put_time(mk_buf *b, int64_t ms)
{
    char t[32];
    mk_rfc3339_ms(ms, t);
    mk_buf_putc(b, '"');
    mk_buf_puts(b, t);
    mk_buf_putc(b, '"');
}

/* ---- the registry -------------------------------------------------------- */

static char *dup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *c = strdup(s);
    if (!c)
        *oom = true;
    return c;
}

static size_t str_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static size_t hooks_size(const hook *h, size_t n)
{
    size_t b = n * sizeof *h;
    for (size_t i = 0; h && i < n; i++)
        b += str_size(h[i].name) + str_size(h[i].checksum);
    return b;
}

/* The bytes a node holds: what the budget is charged for it. */
static size_t node_size(const node *d)
{
    return sizeof *d + str_size(d->hostname) + str_size(d->public_key) + str_size(d->bin_version) +
           str_size(d->bin_checksum) + str_size(d->host_key) + hooks_size(d->hooks, d->nhooks) +
           str_size(d->endpoint) + str_size(d->nat_type);
}

/* Moves the budget from `was` to `now` bytes: false (nothing taken) when
 * the growth does not fit. */
static bool recharge(mk_nodes *n, size_t was, size_t now)
{
    if (!n->budget)
        return true;
    if (now > was)
        return mk_budget_take(n->budget, now - was);
    mk_budget_give(n->budget, was - now);
    return true;
}

static void free_hooks(hook *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(h[i].name);
        free(h[i].checksum);
    }
    free(h);
}

static void node_free(node *d)
{
    if (!d)
        return;
    free(d->hostname);
    free(d->public_key);
    free(d->bin_version);
    free(d->bin_checksum);
    free(d->host_key);
    free_hooks(d->hooks, d->nhooks);
    free(d->endpoint);
    free(d->nat_type);
    sodium_memzero(d->nsk, sizeof d->nsk); /* a key should not outlive its node in freed memory */
    free(d);
}

mk_nodes *mk_nodes_new(int64_t now_ms)
{
    mk_nodes *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    if (pthread_mutex_init(&n->lock, NULL) != 0) {
        free(n);
        return NULL;
    }
    mk_uuid_v7(now_ms, n->domain);
    return n;
}

/* Caller holds the lock. */
static void clear_locked(mk_nodes *n)
{
    for (size_t i = 0; i < MK_NODES_MAX; i++) {
        if (n->slot[i])
            recharge(n, n->slot[i]->bytes, 0);
        node_free(n->slot[i]);
        n->slot[i] = NULL;
    }
    sodium_memzero(n->gone, sizeof n->gone);
    n->ngone = n->gone_head = 0;
}

void mk_nodes_set_budget(mk_nodes *n, mk_budget *b)
{
    n->budget = b;
}

void mk_nodes_free(mk_nodes *n)
{
    if (!n)
        return;
    clear_locked(n); /* the last reference: nobody else can hold the lock */
    pthread_mutex_destroy(&n->lock);
    free(n);
}

void mk_nodes_clear(mk_nodes *n)
{
    pthread_mutex_lock(&n->lock);
    clear_locked(n);
    pthread_mutex_unlock(&n->lock);
}

const char *mk_nodes_domain(const mk_nodes *n)
{
    return n->domain;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* The live node with this id, or NULL. UUIDs compare case-insensitively
 * (RFC 9562), and mk_uuid_valid lets a path id through in any case; the
 * ids we issue are lower case. Caller holds the lock. */
static node *find(mk_nodes *n, const char *id, size_t len)
{
    if (!id || len != MK_NODE_ID_LEN)
        return NULL;
    for (size_t i = 0; i < MK_NODES_MAX; i++) {
        node *d = n->slot[i];
        if (!d)
            continue;
        size_t k = 0;
        while (k < len && d->id[k] == lower(id[k]))
            k++;
        if (k == len)
            return d;
    }
    return NULL;
}

/* Whether a freshly drawn key or id is already taken (never in practice:
 * 190 and 74 random bits; checking costs a scan and removes the question). */
static bool taken(const mk_nodes *n, const char *id, const char *nsk)
{
    for (size_t i = 0; i < MK_NODES_MAX; i++) {
        const node *d = n->slot[i];
        if (d && (strcmp(d->id, id) == 0 || strcmp(d->nsk, nsk) == 0))
            return true;
    }
    for (size_t i = 0; i < n->ngone; i++)
        if (strcmp(n->gone[i].nsk, nsk) == 0)
            return true;
    return false;
}

/* The NSK alphabet and draw are session.c's (random_alnum): uniform over
 * [A-Za-z0-9] from libsodium. */
static void draw_nsk(char out[MK_NODE_NSK_LEN + 1])
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (size_t i = 0; i < MK_NODE_NSK_LEN; i++)
        out[i] = set[randombytes_uniform(sizeof set - 1)];
    out[MK_NODE_NSK_LEN] = '\0';
}

int mk_nodes_register(mk_nodes *n, int64_t now_ms, const char *hostname, const char *public_key,
                      char id[MK_NODE_ID_LEN + 1], char nsk[MK_NODE_NSK_LEN + 1], char mesh_ip[16])
{
    /* allocate outside the lock; the slot is only known under it */
    node *d = calloc(1, sizeof *d);
    if (!d)
        return -1;
    bool oom = false;
    d->hostname = dup_or_null(hostname, &oom);
    d->public_key = dup_or_null(public_key, &oom);
    if (oom) {
        node_free(d);
        return -1;
    }
    d->registered_at = d->healthy_at = now_ms;
    d->wrap_key_version = 1;
    d->bytes = node_size(d);
    if (!recharge(n, 0, d->bytes)) {
        node_free(d);
        return -4;
    }

    pthread_mutex_lock(&n->lock);
    size_t i = 0;
    while (i < MK_NODES_MAX && n->slot[i])
        i++;
    if (i == MK_NODES_MAX) {
        pthread_mutex_unlock(&n->lock);
        recharge(n, d->bytes, 0);
        node_free(d);
        return -2;
    }
    do {
        mk_uuid_v7(now_ms, d->id);
        draw_nsk(d->nsk);
    } while (taken(n, d->id, d->nsk));
    snprintf(d->mesh_ip, sizeof d->mesh_ip, "10.99.0.%zu", i + 4);
    n->slot[i] = d;
    memcpy(id, d->id, sizeof d->id);
    memcpy(nsk, d->nsk, sizeof d->nsk);
    memcpy(mesh_ip, d->mesh_ip, sizeof d->mesh_ip);
    pthread_mutex_unlock(&n->lock);
    return 0;
}

mk_nsk_verdict mk_nodes_auth(mk_nodes *n, const char *nsk, size_t len, char id[MK_NODE_ID_LEN + 1])
{
    if (id)
        id[0] = '\0';
    /* every key has exactly MK_NODE_NSK_LEN bytes, so a length that differs
     * (a prefix, a key with something after it) matches nothing; the length
     * says nothing about the key */
    if (!nsk || len != MK_NODE_NSK_LEN)
        return MK_NSK_UNKNOWN;
    mk_nsk_verdict v = MK_NSK_UNKNOWN;
    pthread_mutex_lock(&n->lock);
    for (size_t i = 0; i < MK_NODES_MAX && v == MK_NSK_UNKNOWN; i++) {
        node *d = n->slot[i];
        if (d && sodium_memcmp(d->nsk, nsk, MK_NODE_NSK_LEN) == 0) {
            v = MK_NSK_OK;
            if (id)
                memcpy(id, d->id, sizeof d->id);
        }
    }
    for (size_t i = 0; i < n->ngone && v == MK_NSK_UNKNOWN; i++)
        if (sodium_memcmp(n->gone[i].nsk, nsk, MK_NODE_NSK_LEN) == 0) {
            v = MK_NSK_REVOKED;
            if (id)
                memcpy(id, n->gone[i].id, sizeof n->gone[i].id);
        }
    pthread_mutex_unlock(&n->lock);
    return v;
}

bool mk_nodes_exists(mk_nodes *n, const char *id, size_t len)
{
    pthread_mutex_lock(&n->lock);
    bool r = find(n, id, len) != NULL;
    pthread_mutex_unlock(&n->lock);
    return r;
}

int mk_nodes_deregister(mk_nodes *n, const char *id, size_t len)
{
    pthread_mutex_lock(&n->lock);
    node *d = find(n, id, len);
    if (!d) {
        pthread_mutex_unlock(&n->lock);
        return -1;
    }
    /* the key is kept so its next use is told "revoked", not "unknown";
     * when the ring is full the oldest revoked key is overwritten */
    size_t at;
    if (n->ngone < MK_NODES_MAX) {
        at = n->ngone++;
    } else {
        at = n->gone_head;
        n->gone_head = (n->gone_head + 1) % MK_NODES_MAX;
    }
    memcpy(n->gone[at].nsk, d->nsk, sizeof d->nsk);
    memcpy(n->gone[at].id, d->id, sizeof d->id);
    for (size_t i = 0; i < MK_NODES_MAX; i++)
        if (n->slot[i] == d)
            n->slot[i] = NULL;
    recharge(n, d->bytes, 0);
    pthread_mutex_unlock(&n->lock);
    node_free(d);
    return 0;
}

/* ---- reachability -------------------------------------------------------- */

/* The state at now and when it began. Quiet time counts from the last
 * heartbeat, or from registration before the first. */
static mk_reach reach_at(const node *d, int64_t now_ms, int64_t *changed_at)
{
    int64_t since = d->has_heartbeat ? d->last_heartbeat_at : d->registered_at;
    int64_t quiet = now_ms - since;
    if (quiet >= MK_NODE_UNREACHABLE_MS) {
        *changed_at = since + MK_NODE_UNREACHABLE_MS;
        return MK_REACH_UNREACHABLE;
    }
    if (quiet >= MK_NODE_STALE_MS) {
        *changed_at = since + MK_NODE_STALE_MS;
        return MK_REACH_STALE;
    }
    *changed_at = d->healthy_at;
    return MK_REACH_HEALTHY;
}

static void put_reachability(mk_buf *out, const node *d, int64_t now_ms)
{
    int64_t changed;
    mk_reach r = reach_at(d, now_ms, &changed);
    mk_buf_puts(out, "{\"state\":\"");
    mk_buf_puts(out, mk_reach_name(r));
    mk_buf_puts(out, "\",\"last_heartbeat_at\":");
    if (d->has_heartbeat)
        put_time(out, d->last_heartbeat_at);
    else
        mk_buf_puts(out, "null");
    mk_buf_puts(out, ",\"changed_at\":");
    put_time(out, changed);
    mk_buf_putc(out, '}');
}

int mk_nodes_heartbeat(mk_nodes *n, const char *id, size_t len, int64_t now_ms, mk_buf *out)
{
    pthread_mutex_lock(&n->lock);
    node *d = find(n, id, len);
    if (d) {
        int64_t changed;
        if (reach_at(d, now_ms, &changed) != MK_REACH_HEALTHY)
            d->healthy_at = now_ms;
        d->has_heartbeat = true;
        d->last_heartbeat_at = now_ms;
        mk_buf_puts(out, "\"accepted_at\":");
        put_time(out, now_ms);
    }
    pthread_mutex_unlock(&n->lock);
    return d ? 0 : -1;
}

int mk_nodes_reachability_json(mk_nodes *n, const char *id, size_t len, int64_t now_ms, mk_buf *out)
{
    pthread_mutex_lock(&n->lock);
    node *d = find(n, id, len);
    if (d)
        put_reachability(out, d, now_ms);
    pthread_mutex_unlock(&n->lock);
    return d ? 0 : -1;
}

/* ---- views in id order --------------------------------------------------- */

static int by_id(const void *a, const void *b)
{
    return strcmp((*(node *const *)a)->id, (*(node *const *)b)->id);
}

/* The live nodes sorted by id into v; their count. Caller holds the lock. */
static size_t sorted(mk_nodes *n, node *v[MK_NODES_MAX])
{
    size_t k = 0;
    for (size_t i = 0; i < MK_NODES_MAX; i++)
        if (n->slot[i])
            v[k++] = n->slot[i];
    qsort(v, k, sizeof v[0], by_id);
    return k;
}

/* ---- key rotation -------------------------------------------------------- */

int mk_nodes_rotate_trigger(mk_nodes *n, const char *id, size_t len, int64_t now_ms, bool *created, mk_buf *out)
{
    *created = false;
    pthread_mutex_lock(&n->lock);
    node *d = find(n, id, len);
    if (d) {
        bool pending = d->rot == ROT_PENDING;
        if (!pending) {
            /* a new rotation (after a completed one too: its receipt is
             * then no longer the answer to a retry) */
            mk_uuid_v7(now_ms, d->rot_id);
            d->rot = ROT_PENDING;
            *created = true;
        }
        mk_buf_puts(out, "{\"rotation_id\":\"");
        mk_buf_puts(out, d->rot_id);
        mk_buf_puts(out, "\",\"peer_id\":\"");
        mk_buf_puts(out, d->id);
        mk_buf_puts(out, pending ? "\",\"already_pending\":true}" : "\",\"already_pending\":false}");
    }
    pthread_mutex_unlock(&n->lock);
    return d ? 0 : -1;
}

int mk_nodes_rotate_preview(mk_nodes *n, const char *id, size_t len, mk_buf *out)
{
    pthread_mutex_lock(&n->lock);
    node *d = find(n, id, len);
    if (d) {
        node *v[MK_NODES_MAX];
        size_t k = sorted(n, v);
        mk_buf_puts(out, "{\"node_id\":\"");
        mk_buf_puts(out, d->id);
        mk_buf_puts(out, "\",\"peer_id\":\"");
        mk_buf_puts(out, d->id);
        mk_buf_puts(out, "\",\"affected_peer_count\":");
        mk_buf_putu(out, k - 1);
        mk_buf_puts(out, ",\"affected_edges\":[");
        bool first = true;
        for (size_t i = 0; i < k; i++) {
            if (v[i] == d)
                continue;
            mk_buf_puts(out, first ? "{\"from\":\"" : ",{\"from\":\"");
            mk_buf_puts(out, d->id);
            mk_buf_puts(out, "\",\"to\":\"");
            mk_buf_puts(out, v[i]->id);
            mk_buf_puts(out, "\"}");
            first = false;
        }
        mk_buf_puts(out, d->rot == ROT_PENDING ? "],\"already_pending\":true" : "],\"already_pending\":false");
        mk_buf_puts(out, ",\"estimated_duration_seconds\":");
        mk_buf_putu(out, ROTATE_BASE_S + ROTATE_PER_EDGE_S * (k - 1));
        mk_buf_putc(out, '}');
    }
    pthread_mutex_unlock(&n->lock);
    return d ? 0 : -1;
}

static void put_receipt(mk_buf *out, const node *d)
{
    /* kid names the PSK the completion re-issued: one per rotation */
    mk_buf_puts(out, "{\"rotation_id\":\"");
    mk_buf_puts(out, d->rot_id);
    mk_buf_puts(out, "\",\"kid\":\"psk-");
    mk_buf_puts(out, d->rot_id);
    mk_buf_puts(out, "\",\"wrap_key_version\":");
    mk_buf_putu(out, (unsigned long long)d->wrap_key_version);
    mk_buf_putc(out, '}');
}

int mk_nodes_rotate_complete(mk_nodes *n, const char *id, size_t len, const char *new_key, int64_t now_ms,
                             bool *created, mk_buf *out)
{
    (void)now_ms; /* the receipt carries no time; kept in the API for a completed_at */
    *created = false;
    char *key = strdup(new_key);
    if (!key)
        return -3; /* out of memory, as the capabilities and endpoint calls say it */
    int rc;
    pthread_mutex_lock(&n->lock);
    node *d = find(n, id, len);
    if (!d) {
        rc = -1;
    } else if (d->rot == ROT_PENDING &&
               !recharge(n, d->bytes, d->bytes - str_size(d->public_key) + str_size(key))) {
        rc = -4;
    } else if (d->rot == ROT_PENDING) {
        d->bytes = d->bytes - str_size(d->public_key) + str_size(key);
        char *old = d->public_key;
        d->public_key = key;
        key = old; /* freed after the unlock */
        d->rot = ROT_COMPLETED;
        d->wrap_key_version++;
        *created = true;
        put_receipt(out, d);
        rc = 0;
    } else if (d->rot == ROT_COMPLETED && same_str(d->public_key, new_key)) {
        /* the agent's retry: the node's key is still the one the completed
         * rotation installed (only a completion changes it) */
        put_receipt(out, d);
        rc = 0;
    } else {
        rc = -2;
    }
    pthread_mutex_unlock(&n->lock);
    free(key);
    return rc;
}

/* ---- capabilities and endpoint ------------------------------------------- */

/* Hooks compare as a set keyed by name (names are unique: strict_body
 * refuses duplicates), so a reordered list is not a change. */
static bool same_hooks(const hook *h, size_t nh, const mk_caps *c, size_t nc)
{
    if (nh != nc)
        return false;
    for (size_t i = 0; i < nc; i++) {
        size_t j = 0;
        while (j < nh && strcmp(h[j].name, c->hooks[i].name) != 0)
            j++;
        if (j == nh || strcmp(h[j].checksum, c->hooks[i].checksum) != 0)
            return false;
    }
    return true;
}

int mk_nodes_capabilities(mk_nodes *n, const char *id, size_t len, const mk_caps *c, int64_t now_ms,
                          mk_buf *out)
{
    /* copy the manifest first, outside the lock, so a failure leaves the
     * node's last manifest as it was */
    bool oom = false;
    /* the struct has room for MK_NODE_HOOKS_MAX (strict_body refuses more):
     * never read past it */
    size_t nh = c->nhooks <= MK_NODE_HOOKS_MAX ? c->nhooks : MK_NODE_HOOKS_MAX;
    char *ver = dup_or_null(c->binary_version, &oom), *sum = dup_or_null(c->binary_checksum, &oom);
    char *hk = dup_or_null(c->ssh_host_key_fingerprint, &oom);
    hook *hooks = nh ? calloc(nh, sizeof *hooks) : NULL;
    if (nh && !hooks)
        oom = true;
    for (size_t i = 0; hooks && i < nh; i++) {
        hooks[i].name = dup_or_null(c->hooks[i].name, &oom);
        hooks[i].checksum = dup_or_null(c->hooks[i].checksum, &oom);
    }
    if (oom) {
        free(ver);
        free(sum);
        free(hk);
        free_hooks(hooks, hooks ? nh : 0);
        return -3;
    }

    pthread_mutex_lock(&n->lock);
    node *d = find(n, id, len);
    size_t nb = 0;
    if (d)
        nb = d->bytes - str_size(d->bin_version) - str_size(d->bin_checksum) - str_size(d->host_key) -
             hooks_size(d->hooks, d->nhooks) + str_size(ver) + str_size(sum) + str_size(hk) + hooks_size(hooks, nh);
    bool full = d && !recharge(n, d->bytes, nb);
    if (d && !full) {
        d->bytes = nb;
        bool first = !d->has_caps;
        bool ch_ver = first || !same_str(d->bin_version, ver);
        bool ch_sum = first || !same_str(d->bin_checksum, sum);
        /* on the first manifest an optional field is "changed" when present */
        bool ch_hk = first ? hk != NULL : !same_str(d->host_key, hk);
        bool ch_hooks = first ? nh > 0 : !same_hooks(d->hooks, d->nhooks, c, nh);
        mk_buf_puts(out, "{\"accepted_at\":");
        put_time(out, now_ms);
        mk_buf_puts(out, ",\"fields_changed\":[");
        const char *sep = "";
        const struct {
            bool on;
            const char *name;
        } f[] = {{ch_ver, "binary_version"},
                 {ch_sum, "binary_checksum"},
                 {ch_hk, "ssh_host_key_fingerprint"},
                 {ch_hooks, "declared_hooks"}};
        for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
            if (f[i].on) {
                mk_buf_puts(out, sep);
                mk_buf_putc(out, '"');
                mk_buf_puts(out, f[i].name);
                mk_buf_putc(out, '"');
                sep = ",";
            }
        /* the host key "rotated": it differs from the one a previous
         * manifest reported (appearing on the first manifest is not a change) */
        mk_buf_puts(out, !first && ch_hk ? "],\"host_key_changed\":true}" : "],\"host_key_changed\":false}");

        /* swap: the old manifest is freed below, after the unlock */
        char *t;
        t = d->bin_version, d->bin_version = ver, ver = t;
        t = d->bin_checksum, d->bin_checksum = sum, sum = t;
        t = d->host_key, d->host_key = hk, hk = t;
        hook *th = d->hooks;
        size_t tn = d->nhooks;
        d->hooks = hooks, d->nhooks = nh;
        hooks = th, nh = tn;
        d->has_caps = true;
    }
    pthread_mutex_unlock(&n->lock);
    free(ver);
    free(sum);
    free(hk);
    free_hooks(hooks, nh);
    return full ? -4 : d ? 0 : -1;
}

int mk_nodes_endpoint(mk_nodes *n, const char *id, size_t len, const char *endpoint, const char *nat_type,
                      int64_t now_ms, bool *changed, mk_buf *out)
{
    *changed = false;
    bool oom = false;
    char *ep = dup_or_null(endpoint, &oom), *nat = dup_or_null(nat_type, &oom);
    if (oom) {
        free(ep);
        free(nat);
        return -3;
    }
    pthread_mutex_lock(&n->lock);
    node *d = find(n, id, len);
    size_t nb = 0;
    if (d)
        nb = d->bytes - str_size(d->endpoint) - str_size(d->nat_type) + str_size(ep) + str_size(nat);
    bool full = d && !recharge(n, d->bytes, nb);
    if (d && !full) {
        d->bytes = nb;
        /* a wake-up when the endpoint moved, or when the last one had
         * already gone stale (the sweeper may have dropped it); the NAT
         * type alone is not the (endpoint, port) tuple the seed keys on */
        *changed = !d->endpoint || !same_str(d->endpoint, ep) || now_ms >= d->endpoint_stale_after;
        char *t;
        t = d->endpoint, d->endpoint = ep, ep = t;
        t = d->nat_type, d->nat_type = nat, nat = t;
        d->endpoint_stale_after = now_ms + MK_NODE_ENDPOINT_TTL_MS;
        mk_buf_puts(out, "{\"accepted_at\":");
        put_time(out, now_ms);
        mk_buf_puts(out, ",\"stale_after\":");
        put_time(out, d->endpoint_stale_after);
        mk_buf_putc(out, '}');
    }
    pthread_mutex_unlock(&n->lock);
    free(ep);
    free(nat);
    return full ? -4 : d ? 0 : -1;
}

/* ---- whole-registry views ------------------------------------------------ */

void mk_nodes_topology_json(mk_nodes *n, int64_t now_ms, mk_buf *out)
{
    pthread_mutex_lock(&n->lock);
    node *v[MK_NODES_MAX];
    size_t k = sorted(n, v);
    mk_buf_puts(out, "{\"domain_id\":\"");
    mk_buf_puts(out, n->domain);
    mk_buf_puts(out, "\",\"generated_at\":");
    put_time(out, now_ms);
    mk_buf_puts(out, ",\"nodes\":[");
    for (size_t i = 0; i < k; i++) {
        int64_t changed;
        mk_buf_puts(out, i ? ",{\"node_id\":\"" : "{\"node_id\":\"");
        mk_buf_puts(out, v[i]->id);
        mk_buf_puts(out, "\",\"mesh_ip\":\"");
        mk_buf_puts(out, v[i]->mesh_ip);
        mk_buf_puts(out, "\",\"reachability\":\"");
        mk_buf_puts(out, mk_reach_name(reach_at(v[i], now_ms, &changed)));
        mk_buf_puts(out, "\"}");
    }
    /* a peer can only be dialled once it reported where it is */
    mk_buf_puts(out, "],\"edges\":[");
    const char *sep = "";
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++) {
            if (i == j || !v[j]->endpoint)
                continue;
            mk_buf_puts(out, sep);
            mk_buf_puts(out, "{\"from\":\"");
            mk_buf_puts(out, v[i]->id);
            mk_buf_puts(out, "\",\"to\":\"");
            mk_buf_puts(out, v[j]->id);
            mk_buf_puts(out, "\",\"mode\":\"direct\",\"relay_node_id\":null,\"handshake_age_seconds\":null}");
            sep = ",";
        }
    mk_buf_puts(out, "]}");
    pthread_mutex_unlock(&n->lock);
}

void mk_nodes_list_json(mk_nodes *n, int64_t now_ms, mk_buf *out)
{
    pthread_mutex_lock(&n->lock);
    node *v[MK_NODES_MAX];
    size_t k = sorted(n, v);
    mk_buf_puts(out, "{\"domain_id\":\"");
    mk_buf_puts(out, n->domain);
    mk_buf_puts(out, "\",\"now\":");
    put_time(out, now_ms);
    mk_buf_puts(out, ",\"nodes\":[");
    for (size_t i = 0; i < k; i++) {
        const node *d = v[i];
        mk_buf_puts(out, i ? ",{\"node_id\":\"" : "{\"node_id\":\"");
        mk_buf_puts(out, d->id);
        mk_buf_puts(out, "\",\"hostname\":");
        put_str_or_null(out, d->hostname);
        mk_buf_puts(out, ",\"mesh_ip\":\"");
        mk_buf_puts(out, d->mesh_ip);
        mk_buf_puts(out, "\",\"registered_at\":");
        put_time(out, d->registered_at);
        mk_buf_puts(out, ",\"reachability\":");
        put_reachability(out, d, now_ms);
        mk_buf_puts(out, ",\"rotation\":");
        if (d->rot == ROT_NONE) {
            mk_buf_puts(out, "null");
        } else {
            mk_buf_puts(out, "{\"id\":\"");
            mk_buf_puts(out, d->rot_id);
            mk_buf_puts(out, d->rot == ROT_PENDING ? "\",\"state\":\"pending\"}" : "\",\"state\":\"completed\"}");
        }
        mk_buf_puts(out, ",\"endpoint\":");
        put_str_or_null(out, d->endpoint);
        mk_buf_puts(out, ",\"binary_version\":");
        put_str_or_null(out, d->has_caps ? d->bin_version : NULL);
        mk_buf_putc(out, '}');
    }
    mk_buf_puts(out, "],\"revoked\":");
    mk_buf_putu(out, n->ngone);
    mk_buf_puts(out, "}\n");
    pthread_mutex_unlock(&n->lock);
}
