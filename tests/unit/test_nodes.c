/* test_nodes.c: the strict profile's node registry (core/nodes.c, issue 17).
 * Time is only ever the now_ms passed in, so every state machine is walked
 * to its exact boundaries without sleeping. Every JSON answer is parsed
 * with jansson (it must be valid JSON) and its members are checked. */
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "nodes.h"

#define T0 1796589900000LL /* 2026-12-06T20:45:00.000Z */
#define LEN MK_NODE_ID_LEN

typedef struct reg {
    char id[MK_NODE_ID_LEN + 1], nsk[MK_NODE_NSK_LEN + 1], ip[16];
} reg;

static void do_register(mk_nodes *n, int64_t now, const char *host, reg *r)
{
    assert_int_equal(mk_nodes_register(n, now, host, "pk", r->id, r->nsk, r->ip), 0);
}

/* Parses what b holds (the whole buffer must be one JSON value) and resets b. */
static json_t *parse(mk_buf *b)
{
    json_error_t e;
    json_t *j = json_loadb(b->data ? b->data : "", b->len, 0, &e);
    if (!j)
        fail_msg("invalid JSON (%s at %d): %.*s", e.text, e.position, (int)b->len, b->data ? b->data : "");
    assert_int_equal(b->err, 0);
    mk_buf_reset(b);
    return j;
}

static const char *str(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_string(v))
        fail_msg("member %s is not a string", k);
    return json_string_value(v);
}

static bool boolean(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_boolean(v))
        fail_msg("member %s is not a boolean", k);
    return json_is_true(v);
}

static json_int_t integer(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_integer(v))
        fail_msg("member %s is not an integer", k);
    return json_integer_value(v);
}

static void assert_time(const json_t *o, const char *k, int64_t ms)
{
    char want[32];
    mk_rfc3339_ms(ms, want);
    assert_string_equal(str(o, k), want);
}

static int setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0; /* the library does it in mockapi_new; no server here */
}

/* ---- text helpers ---------------------------------------------------- */

static void test_uuid_valid(void **state)
{
    (void)state;
    const char *good = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    assert_true(mk_uuid_valid(good, strlen(good)));
    assert_true(mk_uuid_valid("0193A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B", LEN)); /* any case */
    assert_false(mk_uuid_valid(good, LEN - 1));                              /* wrong length */
    assert_false(mk_uuid_valid("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b0", LEN + 1));
    assert_false(mk_uuid_valid("", 0));
    assert_false(mk_uuid_valid(NULL, 0));
    assert_false(mk_uuid_valid("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g", LEN)); /* bad hex */
    assert_false(mk_uuid_valid("0193a1b2xc3d4-7e5f-8a9b-0c1d2e3f4a5b", LEN)); /* missing dash */
    assert_false(mk_uuid_valid("0193a1b2-c3d4-7e5f-8a9b0-c1d2e3f4a5b", LEN)); /* dash moved */
    char v7[LEN + 1];
    mk_uuid_v7(T0, v7);
    assert_true(mk_uuid_valid(v7, strlen(v7)));
}

static void test_rfc3339(void **state)
{
    (void)state;
    char t[32];
    mk_rfc3339_ms(0, t);
    assert_string_equal(t, "1970-01-01T00:00:00.000Z");
    mk_rfc3339_ms(T0 + 123, t);
    assert_string_equal(t, "2026-12-06T20:45:00.123Z");
    mk_rfc3339_ms(951782400000LL, t); /* 2000 is a leap year (divisible by 400) */
    assert_string_equal(t, "2000-02-29T00:00:00.000Z");
    mk_rfc3339_ms(1709210096007LL, t);
    assert_string_equal(t, "2024-02-29T12:34:56.007Z");
    mk_rfc3339_ms(4102444799999LL, t);
    assert_string_equal(t, "2099-12-31T23:59:59.999Z");
    mk_rfc3339_ms(-1, t); /* floors: the last millisecond before the epoch */
    assert_string_equal(t, "1969-12-31T23:59:59.999Z");
    assert_string_equal(mk_reach_name(MK_REACH_HEALTHY), "healthy");
    assert_string_equal(mk_reach_name(MK_REACH_STALE), "stale");
    assert_string_equal(mk_reach_name(MK_REACH_UNREACHABLE), "unreachable");
}

/* ---- register, auth, deregister -------------------------------------- */

static void check_v7(const char *id, int64_t now)
{
    assert_int_equal(strlen(id), LEN);
    assert_true(mk_uuid_valid(id, LEN));
    assert_int_equal(id[14], '7');               /* version */
    assert_non_null(strchr("89ab", id[19]));      /* variant 10 */
    char ts[13];                                  /* the first 48 bits are now_ms */
    memcpy(ts, id, 8);
    memcpy(ts + 8, id + 9, 4);
    ts[12] = '\0';
    assert_int_equal(strtoll(ts, NULL, 16), now);
    for (size_t i = 0; i < LEN; i++)
        assert_true(id[i] == '-' || (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'));
}

static void test_register(void **state)
{
    (void)state;
    mk_nodes *n = mk_nodes_new(T0);
    assert_non_null(n);
    check_v7(mk_nodes_domain(n), T0);
    static reg r[MK_NODES_MAX];
    for (int i = 0; i < MK_NODES_MAX; i++) {
        do_register(n, T0 + i, "host", &r[i]);
        check_v7(r[i].id, T0 + i);
        assert_int_equal(strlen(r[i].nsk), MK_NODE_NSK_LEN);
        for (size_t k = 0; k < MK_NODE_NSK_LEN; k++) {
            char c = r[i].nsk[k];
            assert_true((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
        }
        char ip[24]; /* room for any int, as -Wformat-truncation asks */
        snprintf(ip, sizeof ip, "10.99.0.%d", i + 4);
        assert_string_equal(r[i].ip, ip);
    }
    for (int i = 0; i < MK_NODES_MAX; i++)
        for (int j = i + 1; j < MK_NODES_MAX; j++) {
            assert_string_not_equal(r[i].id, r[j].id);
            assert_string_not_equal(r[i].nsk, r[j].nsk);
        }
    reg x;
    assert_int_equal(mk_nodes_register(n, T0, "host", "pk", x.id, x.nsk, x.ip), -2); /* the 251st */
    /* a freed address is the lowest free one, and is handed out again */
    assert_int_equal(mk_nodes_deregister(n, r[7].id, LEN), 0);
    do_register(n, T0, "host", &x);
    assert_string_equal(x.ip, "10.99.0.11");
    assert_int_equal(mk_nodes_register(n, T0, NULL, NULL, x.id, x.nsk, x.ip), -2);
    mk_nodes_free(n);
    mk_nodes_free(NULL);
}

static void test_auth(void **state)
{
    (void)state;
    mk_nodes *n = mk_nodes_new(T0);
    reg a, b;
    do_register(n, T0, "a", &a);
    do_register(n, T0, "b", &b);
    char id[LEN + 1];
    assert_int_equal(mk_nodes_auth(n, a.nsk, MK_NODE_NSK_LEN, id), MK_NSK_OK);
    assert_string_equal(id, a.id);
    assert_int_equal(mk_nodes_auth(n, b.nsk, MK_NODE_NSK_LEN, id), MK_NSK_OK);
    assert_string_equal(id, b.id);
    assert_int_equal(mk_nodes_auth(n, b.nsk, MK_NODE_NSK_LEN, NULL), MK_NSK_OK);

    /* a prefix, or the key with more after it, is another token */
    assert_int_equal(mk_nodes_auth(n, a.nsk, MK_NODE_NSK_LEN - 1, id), MK_NSK_UNKNOWN);
    assert_string_equal(id, "");
    char longer[MK_NODE_NSK_LEN + 2];
    snprintf(longer, sizeof longer, "%sx", a.nsk);
    assert_int_equal(mk_nodes_auth(n, longer, strlen(longer), id), MK_NSK_UNKNOWN);
    char other[MK_NODE_NSK_LEN + 1];
    memcpy(other, a.nsk, sizeof other);
    other[MK_NODE_NSK_LEN - 1] = other[MK_NODE_NSK_LEN - 1] == 'A' ? 'B' : 'A'; /* one byte off */
    assert_int_equal(mk_nodes_auth(n, other, MK_NODE_NSK_LEN, id), MK_NSK_UNKNOWN);
    assert_int_equal(mk_nodes_auth(n, "", 0, id), MK_NSK_UNKNOWN);

    /* ids are found in any case (RFC 9562), not by a prefix */
    assert_true(mk_nodes_exists(n, a.id, LEN));
    char up[LEN + 1];
    for (size_t i = 0; i <= LEN; i++)
        up[i] = (a.id[i] >= 'a' && a.id[i] <= 'f') ? (char)(a.id[i] - 32) : a.id[i];
    assert_true(mk_nodes_exists(n, up, LEN));
    assert_false(mk_nodes_exists(n, a.id, LEN - 1));
    assert_false(mk_nodes_exists(n, "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", LEN));

    assert_int_equal(mk_nodes_deregister(n, a.id, LEN), 0);
    assert_false(mk_nodes_exists(n, a.id, LEN));
    assert_int_equal(mk_nodes_auth(n, a.nsk, MK_NODE_NSK_LEN, id), MK_NSK_REVOKED);
    assert_string_equal(id, a.id);
    assert_int_equal(mk_nodes_auth(n, b.nsk, MK_NODE_NSK_LEN, id), MK_NSK_OK);
    assert_int_equal(mk_nodes_deregister(n, a.id, LEN), -1); /* already gone */

    mk_buf out;
    mk_buf_init(&out, 0);
    mk_nodes_list_json(n, T0, &out);
    json_t *j = parse(&out);
    assert_int_equal(integer(j, "revoked"), 1);
    assert_int_equal(json_array_size(json_object_get(j, "nodes")), 1);
    json_decref(j);
    mk_buf_free(&out);
    mk_nodes_free(n);
}

/* More deregistrations than the ring holds: the oldest revoked keys are
 * forgotten first (they become unknown), the newest stay revoked. */
static void test_revoked_ring(void **state)
{
    (void)state;
    mk_nodes *n = mk_nodes_new(T0);
    static reg r[MK_NODES_MAX + 2];
    for (int i = 0; i < MK_NODES_MAX + 2; i++) {
        do_register(n, T0, "h", &r[i]);
        assert_int_equal(mk_nodes_deregister(n, r[i].id, LEN), 0);
    }
    char id[LEN + 1];
    assert_int_equal(mk_nodes_auth(n, r[0].nsk, MK_NODE_NSK_LEN, id), MK_NSK_UNKNOWN);
    assert_int_equal(mk_nodes_auth(n, r[1].nsk, MK_NODE_NSK_LEN, id), MK_NSK_UNKNOWN);
    assert_int_equal(mk_nodes_auth(n, r[2].nsk, MK_NODE_NSK_LEN, id), MK_NSK_REVOKED);
    assert_string_equal(id, r[2].id);
    assert_int_equal(mk_nodes_auth(n, r[MK_NODES_MAX + 1].nsk, MK_NODE_NSK_LEN, id), MK_NSK_REVOKED);
    assert_string_equal(id, r[MK_NODES_MAX + 1].id);
    mk_nodes_free(n);
}

/* ---- reachability ---------------------------------------------------- */

static json_t *reach(mk_nodes *n, const reg *r, int64_t now, mk_buf *out)
{
    assert_int_equal(mk_nodes_reachability_json(n, r->id, LEN, now, out), 0);
    return parse(out);
}

static void expect_reach(mk_nodes *n, const reg *r, int64_t now, const char *state, int64_t changed_at,
                         int64_t last_hb /* -1: null */, mk_buf *out)
{
    json_t *j = reach(n, r, now, out);
    assert_int_equal(json_object_size(j), 3);
    assert_string_equal(str(j, "state"), state);
    assert_time(j, "changed_at", changed_at);
    if (last_hb < 0)
        assert_true(json_is_null(json_object_get(j, "last_heartbeat_at")));
    else
        assert_time(j, "last_heartbeat_at", last_hb);
    json_decref(j);
}

static void heartbeat(mk_nodes *n, const reg *r, int64_t now, mk_buf *out)
{
    assert_int_equal(mk_nodes_heartbeat(n, r->id, LEN, now, out), 0);
    mk_buf wrapped; /* the call writes members: the caller adds the rest */
    mk_buf_init(&wrapped, 0);
    mk_buf_putc(&wrapped, '{');
    mk_buf_append(&wrapped, out->data, out->len);
    mk_buf_putc(&wrapped, '}');
    mk_buf_reset(out);
    json_t *j = parse(&wrapped);
    assert_int_equal(json_object_size(j), 1);
    assert_time(j, "accepted_at", now);
    json_decref(j);
    mk_buf_free(&wrapped);
}

static void test_reachability(void **state)
{
    (void)state;
    mk_nodes *n = mk_nodes_new(T0);
    mk_buf out;
    mk_buf_init(&out, 0);
    reg a, b;
    do_register(n, T0, "a", &a);
    do_register(n, T0, "b", &b);

    /* before any heartbeat the quiet time counts from registration */
    expect_reach(n, &a, T0, "healthy", T0, -1, &out);
    expect_reach(n, &b, T0 + 89999, "healthy", T0, -1, &out);
    expect_reach(n, &b, T0 + 90000, "stale", T0 + 90000, -1, &out);
    expect_reach(n, &b, T0 + 300000, "unreachable", T0 + 300000, -1, &out);

    /* a heartbeat while healthy keeps changed_at: no transition happened */
    const int64_t hb = T0 + 1000;
    heartbeat(n, &a, hb, &out);
    expect_reach(n, &a, hb, "healthy", T0, hb, &out);
    expect_reach(n, &a, hb + 89999, "healthy", T0, hb, &out);
    expect_reach(n, &a, hb + 90000, "stale", hb + 90000, hb, &out);
    expect_reach(n, &a, hb + 299999, "stale", hb + 90000, hb, &out);
    expect_reach(n, &a, hb + 300000, "unreachable", hb + 300000, hb, &out);
    expect_reach(n, &a, hb + 86400000, "unreachable", hb + 300000, hb, &out);

    /* back to healthy on a heartbeat, changed_at = its time */
    const int64_t hb2 = hb + 400000;
    heartbeat(n, &a, hb2, &out);
    expect_reach(n, &a, hb2, "healthy", hb2, hb2, &out);
    expect_reach(n, &a, hb2 + 89999, "healthy", hb2, hb2, &out);
    /* from stale too */
    const int64_t hb3 = hb2 + 90000;
    heartbeat(n, &a, hb3, &out);
    expect_reach(n, &a, hb3 + 1, "healthy", hb3, hb3, &out);
    /* and b, which never sent one, is unaffected */
    expect_reach(n, &b, hb3, "unreachable", T0 + 300000, -1, &out);

    const char *nobody = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    assert_int_equal(mk_nodes_heartbeat(n, nobody, LEN, hb, &out), -1);
    assert_int_equal(mk_nodes_reachability_json(n, nobody, LEN, hb, &out), -1);
    assert_int_equal(out.len, 0); /* nothing written for an unknown node */
    mk_buf_free(&out);
    mk_nodes_free(n);
}

/* ---- key rotation ---------------------------------------------------- */

static json_t *trigger(mk_nodes *n, const reg *r, int64_t now, bool *created, mk_buf *out)
{
    assert_int_equal(mk_nodes_rotate_trigger(n, r->id, LEN, now, created, out), 0);
    json_t *j = parse(out);
    assert_int_equal(json_object_size(j), 3);
    assert_true(mk_uuid_valid(str(j, "rotation_id"), strlen(str(j, "rotation_id"))));
    assert_string_equal(str(j, "peer_id"), r->id);
    return j;
}

static json_t *complete(mk_nodes *n, const reg *r, const char *key, bool *created, mk_buf *out)
{
    assert_int_equal(mk_nodes_rotate_complete(n, r->id, LEN, key, T0, created, out), 0);
    json_t *j = parse(out);
    assert_int_equal(json_object_size(j), 3);
    return j;
}

static void test_rotation(void **state)
{
    (void)state;
    mk_nodes *n = mk_nodes_new(T0);
    mk_buf out;
    mk_buf_init(&out, 0);
    reg a;
    do_register(n, T0, "a", &a);
    bool created = true;

    /* completion with nothing pending */
    assert_int_equal(mk_nodes_rotate_complete(n, a.id, LEN, "key1", T0, &created, &out), -2);
    assert_false(created);
    assert_int_equal(out.len, 0);

    /* trigger twice: one rotation */
    json_t *t1 = trigger(n, &a, T0 + 5, &created, &out);
    assert_true(created);
    assert_false(boolean(t1, "already_pending"));
    char rot[LEN + 1];
    snprintf(rot, sizeof rot, "%s", str(t1, "rotation_id"));
    check_v7(rot, T0 + 5);
    json_t *t2 = trigger(n, &a, T0 + 6, &created, &out);
    assert_false(created);
    assert_true(boolean(t2, "already_pending"));
    assert_string_equal(str(t2, "rotation_id"), rot);
    json_decref(t1);
    json_decref(t2);

    /* completion, then its retry with the same key */
    json_t *c1 = complete(n, &a, "key1", &created, &out);
    assert_true(created);
    assert_string_equal(str(c1, "rotation_id"), rot);
    assert_int_equal(integer(c1, "wrap_key_version"), 2);
    assert_true(strlen(str(c1, "kid")) > 0);
    json_t *c2 = complete(n, &a, "key1", &created, &out);
    assert_false(created);
    assert_true(json_equal(c1, c2));
    json_decref(c1);
    json_decref(c2);
    /* another key after completion has no rotation to complete */
    assert_int_equal(mk_nodes_rotate_complete(n, a.id, LEN, "key2", T0, &created, &out), -2);

    mk_nodes_list_json(n, T0, &out);
    json_t *l = parse(&out);
    json_t *r0 = json_object_get(json_array_get(json_object_get(l, "nodes"), 0), "rotation");
    assert_string_equal(str(r0, "id"), rot);
    assert_string_equal(str(r0, "state"), "completed");
    json_decref(l);

    /* a new trigger after completion is a new rotation */
    json_t *t3 = trigger(n, &a, T0 + 7, &created, &out);
    assert_true(created);
    assert_false(boolean(t3, "already_pending"));
    assert_string_not_equal(str(t3, "rotation_id"), rot);
    snprintf(rot, sizeof rot, "%s", str(t3, "rotation_id"));
    json_decref(t3);
    json_t *c3 = complete(n, &a, "key2", &created, &out);
    assert_true(created);
    assert_string_equal(str(c3, "rotation_id"), rot);
    assert_int_equal(integer(c3, "wrap_key_version"), 3);
    json_decref(c3);

    const char *nobody = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    assert_int_equal(mk_nodes_rotate_trigger(n, nobody, LEN, T0, &created, &out), -1);
    assert_int_equal(mk_nodes_rotate_complete(n, nobody, LEN, "k", T0, &created, &out), -1);
    assert_int_equal(mk_nodes_rotate_preview(n, nobody, LEN, &out), -1);
    assert_int_equal(out.len, 0);
    mk_buf_free(&out);
    mk_nodes_free(n);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_rotate_preview(void **state)
{
    (void)state;
    mk_nodes *n = mk_nodes_new(T0);
    mk_buf out;
    mk_buf_init(&out, 0);
    reg a, b, c, d;
    do_register(n, T0, "a", &a);
    do_register(n, T0, "b", &b);
    do_register(n, T0, "c", &c);
    do_register(n, T0, "d", &d);
    assert_int_equal(mk_nodes_deregister(n, d.id, LEN), 0); /* not live: no edge */

    mk_nodes_list_json(n, T0, &out);
    json_t *before = parse(&out);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(mk_nodes_rotate_preview(n, b.id, LEN, &out), 0);
        json_t *p = parse(&out);
        assert_int_equal(json_object_size(p), 6);
        assert_string_equal(str(p, "node_id"), b.id);
        assert_string_equal(str(p, "peer_id"), b.id);
        assert_int_equal(integer(p, "affected_peer_count"), 2);
        assert_false(boolean(p, "already_pending"));
        assert_true(integer(p, "estimated_duration_seconds") > 0);
        json_t *e = json_object_get(p, "affected_edges");
        assert_int_equal(json_array_size(e), 2);
        const char *want[2] = {a.id, c.id};
        qsort(want, 2, sizeof want[0], cmp_str); /* edges in id order */
        for (size_t i = 0; i < 2; i++) {
            json_t *ed = json_array_get(e, i);
            assert_int_equal(json_object_size(ed), 2);
            assert_string_equal(str(ed, "from"), b.id);
            assert_string_equal(str(ed, "to"), want[i]);
        }
        json_decref(p);
    }
    /* nothing changed: the registry's view is the same, and a trigger still creates */
    mk_nodes_list_json(n, T0, &out);
    json_t *after = parse(&out);
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
    bool created = false;
    assert_int_equal(mk_nodes_rotate_trigger(n, b.id, LEN, T0, &created, &out), 0);
    assert_true(created);
    mk_buf_reset(&out);
    assert_int_equal(mk_nodes_rotate_preview(n, b.id, LEN, &out), 0);
    json_t *p = parse(&out);
    assert_true(boolean(p, "already_pending"));
    json_decref(p);
    mk_buf_free(&out);
    mk_nodes_free(n);
}

/* ---- capabilities and endpoint --------------------------------------- */

static json_t *caps(mk_nodes *n, const reg *r, const mk_caps *c, mk_buf *out)
{
    assert_int_equal(mk_nodes_capabilities(n, r->id, LEN, c, T0 + 1, out), 0);
    json_t *j = parse(out);
    assert_int_equal(json_object_size(j), 3);
    assert_time(j, "accepted_at", T0 + 1);
    return j;
}

/* fields_changed as one comma-joined string, for a short assertion */
static void expect_changed(json_t *j, const char *want, bool host_key_changed)
{
    json_t *a = json_object_get(j, "fields_changed");
    assert_true(json_is_array(a));
    char got[256] = "";
    for (size_t i = 0; i < json_array_size(a); i++) {
        assert_true(json_is_string(json_array_get(a, i)));
        if (i)
            strcat(got, ",");
        strcat(got, json_string_value(json_array_get(a, i)));
    }
    assert_string_equal(got, want);
    assert_int_equal(boolean(j, "host_key_changed"), host_key_changed);
    json_decref(j);
}

static void test_capabilities(void **state)
{
    (void)state;
    mk_nodes *n = mk_nodes_new(T0);
    mk_buf out;
    mk_buf_init(&out, 0);
    reg a, b;
    do_register(n, T0, "a", &a);
    do_register(n, T0, "b", &b);

    mk_caps c = {.binary_version = "1.0.0", .binary_checksum = "aa", .ssh_host_key_fingerprint = "SHA256:k1"};
    c.nhooks = 2;
    c.hooks[0].name = "pre", c.hooks[0].checksum = "11";
    c.hooks[1].name = "post", c.hooks[1].checksum = "22";
    expect_changed(caps(n, &a, &c, &out), "binary_version,binary_checksum,ssh_host_key_fingerprint,declared_hooks",
                   false);
    expect_changed(caps(n, &a, &c, &out), "", false); /* the same manifest again */

    /* hooks are a set: another order is no change; another checksum is */
    mk_caps c2 = c;
    c2.hooks[0] = c.hooks[1], c2.hooks[1] = c.hooks[0];
    expect_changed(caps(n, &a, &c2, &out), "", false);
    c2.hooks[0].checksum = "33";
    expect_changed(caps(n, &a, &c2, &out), "declared_hooks", false);
    c2.nhooks = 1;
    expect_changed(caps(n, &a, &c2, &out), "declared_hooks", false);

    c2.binary_version = "1.0.1";
    expect_changed(caps(n, &a, &c2, &out), "binary_version", false);
    c2.ssh_host_key_fingerprint = "SHA256:k2";
    c2.binary_checksum = "bb";
    expect_changed(caps(n, &a, &c2, &out), "binary_checksum,ssh_host_key_fingerprint", true);
    c2.ssh_host_key_fingerprint = NULL; /* dropped from the manifest: a change too */
    expect_changed(caps(n, &a, &c2, &out), "ssh_host_key_fingerprint", true);

    /* a first manifest lists only the fields it has; b's is its own */
    mk_caps m = {.binary_version = "2", .binary_checksum = "cc"};
    expect_changed(caps(n, &b, &m, &out), "binary_version,binary_checksum", false);
    m.ssh_host_key_fingerprint = "SHA256:x"; /* appearing later is a change of the key */
    expect_changed(caps(n, &b, &m, &out), "ssh_host_key_fingerprint", true);

    mk_nodes_list_json(n, T0, &out);
    json_t *l = parse(&out);
    json_t *nodes = json_object_get(l, "nodes");
    for (size_t i = 0; i < json_array_size(nodes); i++) {
        json_t *x = json_array_get(nodes, i);
        assert_string_equal(str(x, "binary_version"), strcmp(str(x, "node_id"), a.id) == 0 ? "1.0.1" : "2");
    }
    json_decref(l);
    assert_int_equal(mk_nodes_capabilities(n, "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", LEN, &m, T0, &out), -1);
    mk_buf_free(&out);
    mk_nodes_free(n);
}

static void endpoint(mk_nodes *n, const reg *r, const char *ep, int64_t now, bool want_changed, mk_buf *out)
{
    bool changed = !want_changed;
    assert_int_equal(mk_nodes_endpoint(n, r->id, LEN, ep, "full_cone", now, &changed, out), 0);
    assert_int_equal(changed, want_changed);
    json_t *j = parse(out);
    assert_int_equal(json_object_size(j), 2);
    assert_time(j, "accepted_at", now);
    assert_time(j, "stale_after", now + 600000);
    json_decref(j);
}

static void test_endpoint(void **state)
{
    (void)state;
    mk_nodes *n = mk_nodes_new(T0);
    mk_buf out;
    mk_buf_init(&out, 0);
    reg a;
    do_register(n, T0, "a", &a);
    endpoint(n, &a, "203.0.113.1:51820", T0, true, &out);       /* the first */
    endpoint(n, &a, "203.0.113.1:51820", T0 + 1000, false, &out); /* a refresh */
    endpoint(n, &a, "203.0.113.1:51821", T0 + 2000, true, &out);  /* another port */
    /* the same endpoint 1 ms before the last one's stale_after: a refresh;
     * at its stale_after exactly: the last one went stale, a change */
    endpoint(n, &a, "203.0.113.1:51821", T0 + 2000 + 599999, false, &out);
    endpoint(n, &a, "203.0.113.1:51821", T0 + 2000 + 599999 + 600000, true, &out);

    mk_nodes_list_json(n, T0, &out);
    json_t *l = parse(&out);
    assert_string_equal(str(json_array_get(json_object_get(l, "nodes"), 0), "endpoint"), "203.0.113.1:51821");
    json_decref(l);
    bool changed;
    assert_int_equal(mk_nodes_endpoint(n, "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", LEN, "1.2.3.4:1", "x", T0,
                                       &changed, &out),
                     -1);
    mk_buf_free(&out);
    mk_nodes_free(n);
}

/* ---- whole-registry views -------------------------------------------- */

static void test_topology(void **state)
{
    (void)state;
    mk_nodes *n = mk_nodes_new(T0);
    mk_buf out;
    mk_buf_init(&out, 0);

    mk_nodes_topology_json(n, T0, &out);
    json_t *j = parse(&out);
    assert_string_equal(str(j, "domain_id"), mk_nodes_domain(n));
    assert_int_equal(json_array_size(json_object_get(j, "nodes")), 0);
    assert_int_equal(json_array_size(json_object_get(j, "edges")), 0);
    json_decref(j);

    enum { K = 6 };
    reg r[K];
    for (int i = 0; i < K; i++) /* same millisecond: ids order by their random bits, not by registration */
        do_register(n, T0, "h", &r[i]);
    bool changed;
    assert_int_equal(mk_nodes_endpoint(n, r[2].id, LEN, "203.0.113.2:1", "x", T0, &changed, &out), 0);
    assert_int_equal(mk_nodes_endpoint(n, r[4].id, LEN, "203.0.113.4:1", "x", T0, &changed, &out), 0);
    mk_buf_reset(&out);
    assert_int_equal(mk_nodes_heartbeat(n, r[0].id, LEN, T0 + 10000, &out), 0);
    mk_buf_reset(&out);

    mk_nodes_topology_json(n, T0 + 95000, &out); /* r0 quiet 85 s, the others 95 s */
    j = parse(&out);
    assert_int_equal(json_object_size(j), 4);
    assert_time(j, "generated_at", T0 + 95000);
    json_t *nodes = json_object_get(j, "nodes");
    assert_int_equal(json_array_size(nodes), K);
    for (size_t i = 0; i < K; i++) {
        json_t *x = json_array_get(nodes, i);
        assert_int_equal(json_object_size(x), 3);
        if (i)
            assert_true(strcmp(str(json_array_get(nodes, i - 1), "node_id"), str(x, "node_id")) < 0);
        int who = -1;
        for (int k = 0; k < K; k++)
            if (strcmp(r[k].id, str(x, "node_id")) == 0)
                who = k;
        assert_true(who >= 0);
        assert_string_equal(str(x, "mesh_ip"), r[who].ip);
        assert_string_equal(str(x, "reachability"), who == 0 ? "healthy" : "stale");
    }
    /* every node to each other node with an endpoint: 5 to r2, 5 to r4 */
    json_t *edges = json_object_get(j, "edges");
    assert_int_equal(json_array_size(edges), 2 * (K - 1));
    for (size_t i = 0; i < json_array_size(edges); i++) {
        json_t *e = json_array_get(edges, i);
        assert_int_equal(json_object_size(e), 5);
        const char *from = str(e, "from"), *to = str(e, "to");
        assert_string_not_equal(from, to);
        assert_true(strcmp(to, r[2].id) == 0 || strcmp(to, r[4].id) == 0);
        assert_string_equal(str(e, "mode"), "direct");
        assert_true(json_is_null(json_object_get(e, "relay_node_id")));
        assert_true(json_is_null(json_object_get(e, "handshake_age_seconds")));
    }
    json_decref(j);
    mk_buf_free(&out);
    mk_nodes_free(n);
}

static void test_list_and_clear(void **state)
{
    (void)state;
    mk_nodes *n = mk_nodes_new(T0);
    char domain[LEN + 1];
    snprintf(domain, sizeof domain, "%s", mk_nodes_domain(n));
    mk_buf out;
    mk_buf_init(&out, 0);
    /* the hostname comes from a request body: quotes, a line break, a
     * backslash, a control byte and invalid UTF-8 all come out as JSON */
    const char *host = "ev\"il\nhost\\<x>\x01\xff";
    reg a, b;
    do_register(n, T0, host, &a);
    do_register(n, T0 + 1, NULL, &b);
    mk_nodes_list_json(n, T0 + 2, &out);
    assert_true(out.len > 0 && out.data[out.len - 1] == '\n');
    assert_null(memchr(out.data, '\n', out.len - 1)); /* one line */
    json_t *j = parse(&out);
    assert_int_equal(json_object_size(j), 4);
    assert_string_equal(str(j, "domain_id"), domain);
    assert_time(j, "now", T0 + 2);
    assert_int_equal(integer(j, "revoked"), 0);
    json_t *nodes = json_object_get(j, "nodes");
    assert_int_equal(json_array_size(nodes), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *x = json_array_get(nodes, i);
        assert_int_equal(json_object_size(x), 8);
        bool is_a = strcmp(str(x, "node_id"), a.id) == 0;
        if (is_a)
            assert_string_equal(str(x, "hostname"), "ev\"il\nhost\\<x>\x01\xef\xbf\xbd"); /* U+FFFD */
        else
            assert_true(json_is_null(json_object_get(x, "hostname")));
        assert_string_equal(str(x, "mesh_ip"), is_a ? a.ip : b.ip);
        assert_time(x, "registered_at", is_a ? T0 : T0 + 1);
        json_t *re = json_object_get(x, "reachability");
        assert_string_equal(str(re, "state"), "healthy");
        assert_true(json_is_null(json_object_get(re, "last_heartbeat_at")));
        assert_true(json_is_null(json_object_get(x, "rotation")));
        assert_true(json_is_null(json_object_get(x, "endpoint")));
        assert_true(json_is_null(json_object_get(x, "binary_version")));
    }
    json_decref(j);

    assert_int_equal(mk_nodes_deregister(n, b.id, LEN), 0);
    mk_nodes_clear(n);
    char id[LEN + 1];
    assert_int_equal(mk_nodes_auth(n, a.nsk, MK_NODE_NSK_LEN, id), MK_NSK_UNKNOWN); /* live key forgotten */
    assert_int_equal(mk_nodes_auth(n, b.nsk, MK_NODE_NSK_LEN, id), MK_NSK_UNKNOWN); /* revoked one too */
    assert_false(mk_nodes_exists(n, a.id, LEN));
    assert_string_equal(mk_nodes_domain(n), domain); /* the domain stays */
    mk_nodes_list_json(n, T0, &out);
    j = parse(&out);
    assert_int_equal(json_array_size(json_object_get(j, "nodes")), 0);
    assert_int_equal(integer(j, "revoked"), 0);
    json_decref(j);
    /* addresses start again from the first */
    reg c;
    do_register(n, T0, "c", &c);
    assert_string_equal(c.ip, "10.99.0.4");
    mk_buf_free(&out);
    mk_nodes_free(n);
}

/* ---- threads (run under TSan: build/tsan/unit_tests) ------------------- */

enum { PER_THREAD = 60 };

typedef struct worker {
    mk_nodes *n;
    int base;
    reg r[PER_THREAD];
    int failures;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    mk_buf out;
    mk_buf_init(&out, 0);
    for (int i = 0; i < PER_THREAD; i++) {
        reg *r = &w->r[i];
        char id[LEN + 1];
        if (mk_nodes_register(w->n, T0 + w->base + i, "h", "pk", r->id, r->nsk, r->ip) != 0 ||
            mk_nodes_heartbeat(w->n, r->id, LEN, T0 + w->base + i, &out) != 0 ||
            mk_nodes_auth(w->n, r->nsk, MK_NODE_NSK_LEN, id) != MK_NSK_OK || strcmp(id, r->id) != 0)
            w->failures++;
        mk_buf_reset(&out);
        mk_nodes_topology_json(w->n, T0, &out); /* a reader walking every node meanwhile */
        mk_buf_reset(&out);
    }
    mk_buf_free(&out);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    mk_nodes *n = mk_nodes_new(T0);
    static worker w[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        w[i] = (worker){.n = n, .base = i * 1000};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(w[0].failures + w[1].failures, 0);
    /* every address handed out once */
    bool seen[MK_NODES_MAX] = {false};
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < PER_THREAD; k++) {
            int last = atoi(strrchr(w[i].r[k].ip, '.') + 1);
            assert_true(last >= 4 && last < 4 + 2 * PER_THREAD);
            assert_false(seen[last - 4]);
            seen[last - 4] = true;
        }
    mk_buf out;
    mk_buf_init(&out, 0);
    mk_nodes_list_json(n, T0, &out);
    json_t *j = parse(&out);
    assert_int_equal(json_array_size(json_object_get(j, "nodes")), 2 * PER_THREAD);
    json_decref(j);
    mk_buf_free(&out);
    mk_nodes_free(n);
}

int run_nodes_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid_valid),   cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_register),     cmocka_unit_test(test_auth),
        cmocka_unit_test(test_revoked_ring), cmocka_unit_test(test_reachability),
        cmocka_unit_test(test_rotation),     cmocka_unit_test(test_rotate_preview),
        cmocka_unit_test(test_capabilities), cmocka_unit_test(test_endpoint),
        cmocka_unit_test(test_topology),     cmocka_unit_test(test_list_and_clear),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests_name("nodes", tests, setup, NULL);
}
