/* session_api.c: the per-test calls of the public API (include/mockapi.h):
 * counters, captures, journal, reset, waits, faults and fixtures, on a
 * session handle; the instance's own calls are the same on "default". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "dispatch.h"
#include "fixtures.h"
#include "gotype.h"
#include "server.h"
#include "sse.h"

int mockapi_session_create(mockapi *m, const mockapi_session_config *cfg, mockapi_session **out,
                           char *errbuf, size_t errlen)
{
    if (!m || !out) {
        mk_api_set_err(errbuf, errlen, "NULL argument");
        return MOCKAPI_EINVAL;
    }
    *out = NULL;
    mockapi_session *h = calloc(1, sizeof *h);
    if (!h) {
        mk_api_set_err(errbuf, errlen, "out of memory");
        return MOCKAPI_ENOMEM;
    }
    mk_session_opts o = {.profile = -1};
    if (cfg && cfg->profile) {
        if (strcmp(cfg->profile, "strict") != 0 && strcmp(cfg->profile, "reference") != 0) {
            mk_api_set_err(errbuf, errlen, "profile \"%.40s\": \"reference\" or \"strict\"", cfg->profile);
            free(h);
            return MOCKAPI_EINVAL;
        }
        o.profile = strcmp(cfg->profile, "strict") == 0 ? MOCKAPI_PROFILE_STRICT : MOCKAPI_PROFILE_REFERENCE;
    }
    if (cfg) {
        o.id = cfg->id;
        o.name = cfg->name;
        o.ttl_ms = cfg->ttl_ms;
        o.state = cfg->state_json;
        o.state_len = cfg->state_json ? cfg->state_len : 0;
    }
    char err[300] = "";
    int rc = mk_session_create(m, &o, &h->s, err, sizeof err);
    if (rc == MK_SESSION_EBUDGET)
        rc = MOCKAPI_EFULL;
    if (rc != MOCKAPI_OK) {
        mk_api_set_err(errbuf, errlen, "%s", err);
        free(h);
        return rc;
    }
    h->m = m;
    *out = h;
    return MOCKAPI_OK;
}

int mockapi_session_open(mockapi *m, const char *id, mockapi_session **out)
{
    if (!m || !id || !out)
        return MOCKAPI_EINVAL;
    *out = NULL;
    mockapi_session *h = calloc(1, sizeof *h);
    if (!h)
        return MOCKAPI_ENOMEM;
    if (!(h->s = mk_session_find(m, id, strlen(id)))) {
        free(h);
        return MOCKAPI_ENOTFOUND;
    }
    h->m = m;
    *out = h;
    return MOCKAPI_OK;
}

int mockapi_session_end(mockapi_session *h)
{
    if (!h)
        return MOCKAPI_EINVAL;
    if (h->s->is_default)
        return MOCKAPI_EINVAL;
    if (atomic_load(&h->s->ended))
        return MOCKAPI_ENOTFOUND;
    mk_session_end(h->m, h->s, false);
    return MOCKAPI_OK;
}

void mockapi_session_free(mockapi_session *h)
{
    if (!h)
        return;
    mk_session_release(h->s);
    free(h);
}

bool mockapi_session_live(const mockapi_session *h)
{
    return h && !atomic_load(&h->s->ended);
}

const char *mockapi_session_id(const mockapi_session *h)
{
    return h ? h->s->id : NULL;
}

const char *mockapi_session_nsk(const mockapi_session *h)
{
    return h ? h->s->nsk : NULL;
}

const char *mockapi_session_bearer_token(const mockapi_session *h)
{
    return h ? h->s->bearer : NULL;
}

int mockapi_session_url(const mockapi_session *h, mockapi_listener_kind kind, char *buf, size_t len)
{
    if (!h || !buf)
        return MOCKAPI_EINVAL;
    int n = mockapi_base_url(h->m, kind, buf, len);
    if (n < 0 || h->s->is_default)
        return n;
    int k = snprintf(buf + n, len - (size_t)n, "/s/%s", h->s->id);
    return (k < 0 || (size_t)k >= len - (size_t)n) ? MOCKAPI_EINVAL : n + k;
}

int64_t mockapi_session_counter_get(const mockapi_session *h, mockapi_counter c)
{
    return h ? mk_state_counter(&h->s->state, (int)c) : 0;
}

static int copy_blob(mk_blob *b, char **out, size_t *len)
{
    char *p = malloc(b->len + 1);
    if (!p)
        return MOCKAPI_ENOMEM;
    memcpy(p, b->data, b->len + 1);
    *out = p;
    if (len)
        *len = b->len;
    return MOCKAPI_OK;
}

int mockapi_session_last_request(mockapi_session *h, const char *key, char **body, size_t *len)
{
    if (!h || !key || !body)
        return MOCKAPI_EINVAL;
    mk_blob *b = mk_state_last(&h->s->state, mk_capture_by_name(key, strlen(key)));
    if (!b)
        return MOCKAPI_ENOTFOUND;
    int rc = copy_blob(b, body, len);
    mk_blob_unref(b);
    return rc;
}

int mockapi_session_requests(mockapi_session *h, const char *filter, char **json, size_t *len)
{
    if (!h || !json)
        return MOCKAPI_EINVAL;
    mk_jfilter f;
    char err[128];
    if (mk_jfilter_parse(filter, &f, err, sizeof err) != 0)
        return MOCKAPI_EINVAL;
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_state_journal_query(&h->s->state, &f, &b);
    if (b.err) {
        mk_buf_free(&b);
        return MOCKAPI_ENOMEM;
    }
    if (!b.data && mk_buf_putc(&b, '\0') != 0)
        return MOCKAPI_ENOMEM;
    *json = mk_buf_steal(&b, len);
    return MOCKAPI_OK;
}

int mockapi_session_reset(mockapi_session *h)
{
    if (!h)
        return MOCKAPI_EINVAL;
    mk_session_reset(h->m, h->s);
    return MOCKAPI_OK;
}

int mockapi_session_wait(mockapi_session *h, const char *condition, unsigned timeout_ms, int64_t *value)
{
    if (!h || !condition)
        return MOCKAPI_EINVAL;
    mk_wait_cond c;
    char err[128];
    if (mk_wait_cond_parse(condition, &c, err, sizeof err) != 0)
        return MOCKAPI_EINVAL;
    int64_t v = 0;
    bool met = mk_wait_cond_run(h->s, &c, timeout_ms, &v, NULL);
    if (value)
        *value = v;
    return met ? MOCKAPI_OK : MOCKAPI_ETIMEDOUT;
}

int mockapi_session_fault_add(mockapi_session *h, const char *route_or_path, const char *method,
                              const char *spec, unsigned ttl_ms, int *id, char *errbuf, size_t errlen)
{
    if (!h || !route_or_path || !spec) {
        mk_api_set_err(errbuf, errlen, "NULL argument");
        return MOCKAPI_EINVAL;
    }
    mk_fault_target t = {.route = route_or_path[0] == '/' ? NULL : route_or_path,
                         .path = route_or_path[0] == '/' ? route_or_path : NULL,
                         .method = method};
    char err[512] = "";
    if (mk_faults_install(&h->s->state.faults, h->m->sse, h->s->sse, MK_FSRC_RULE, &t, spec, strlen(spec),
                          ttl_ms, id, err, sizeof err) != 0) {
        mk_api_set_err(errbuf, errlen, "%s", err);
        return strstr(err, "out of memory") ? MOCKAPI_ENOMEM : MOCKAPI_EINVAL;
    }
    return MOCKAPI_OK;
}

int mockapi_session_fault_delete(mockapi_session *h, int id)
{
    if (!h)
        return MOCKAPI_EINVAL;
    int rc = mk_faults_delete(&h->s->state.faults, id);
    return rc == 0 ? MOCKAPI_OK : rc == -2 ? MOCKAPI_EINVAL : MOCKAPI_ENOTFOUND;
}

int mockapi_session_fault_clear(mockapi_session *h)
{
    if (!h)
        return MOCKAPI_EINVAL;
    mk_faults_clear(&h->s->state.faults);
    return MOCKAPI_OK;
}

int mockapi_session_set_state(mockapi_session *h, const char *json, size_t len, char *errbuf, size_t errlen)
{
    if (!h || !json) {
        mk_api_set_err(errbuf, errlen, "NULL argument");
        return MOCKAPI_EINVAL;
    }
    mk_blob *b = NULL;
    char why[256] = "";
    int rc = mk_fixture_render(&gt_StateResponse, json, len, &b, why, sizeof why);
    if (rc != MOCKAPI_OK) {
        mk_api_set_err(errbuf, errlen, "state: %s", why);
        return rc;
    }
    if (mk_state_set_state(&h->s->state, b) != 0) {
        mk_api_set_err(errbuf, errlen, "state: over -sessions-max-bytes (%zu)", h->m->sessions.budget.max);
        return MOCKAPI_EFULL;
    }
    return MOCKAPI_OK;
}

int mockapi_session_get_state(mockapi_session *h, char **json, size_t *len)
{
    if (!h || !json)
        return MOCKAPI_EINVAL;
    mk_blob *b = mk_state_get_state(&h->s->state);
    int rc = copy_blob(b, json, len);
    mk_blob_unref(b);
    return rc;
}

int mockapi_session_set_heartbeat(mockapi_session *h, bool reconcile, bool rotate_keys)
{
    if (!h)
        return MOCKAPI_EINVAL;
    char body[64];
    int n = snprintf(body, sizeof body, "{\"reconcile\":%s,\"rotate_keys\":%s}\n",
                     reconcile ? "true" : "false", rotate_keys ? "true" : "false");
    mk_blob *b = mk_blob_new(body, (size_t)n);
    if (!b)
        return MOCKAPI_ENOMEM;
    return mk_state_set_heartbeat(&h->s->state, b) == 0 ? MOCKAPI_OK : MOCKAPI_EFULL;
}

/* ---- the instance's calls: the same on "default" ------------------------ */

int64_t mockapi_counter_get(const mockapi *m, mockapi_counter c)
{
    return m ? mk_state_counter(&m->def->state, (int)c) : 0;
}

int mockapi_last_request(mockapi *m, const char *key, char **body, size_t *len)
{
    return m ? mockapi_session_last_request(MK_API_DEFAULT(m), key, body, len) : MOCKAPI_EINVAL;
}

int mockapi_requests(mockapi *m, const char *filter, char **json, size_t *len)
{
    return m ? mockapi_session_requests(MK_API_DEFAULT(m), filter, json, len) : MOCKAPI_EINVAL;
}

int mockapi_session_clock_advance(mockapi_session *h, int64_t ms)
{
    return h && mk_session_clock_advance(h->s, (long long)ms) == 0 ? MOCKAPI_OK : MOCKAPI_EINVAL;
}

int mockapi_clock_advance(mockapi *m, int64_t ms)
{
    return m ? mockapi_session_clock_advance(MK_API_DEFAULT(m), ms) : MOCKAPI_EINVAL;
}

int mockapi_reset(mockapi *m)
{
    return m ? mockapi_session_reset(MK_API_DEFAULT(m)) : MOCKAPI_EINVAL;
}

int mockapi_wait(mockapi *m, const char *condition, unsigned timeout_ms, int64_t *value)
{
    return m ? mockapi_session_wait(MK_API_DEFAULT(m), condition, timeout_ms, value) : MOCKAPI_EINVAL;
}

int mockapi_fault_add(mockapi *m, const char *route_or_path, const char *method, const char *spec,
                      unsigned ttl_ms, int *id, char *errbuf, size_t errlen)
{
    if (!m) {
        mk_api_set_err(errbuf, errlen, "NULL argument");
        return MOCKAPI_EINVAL;
    }
    return mockapi_session_fault_add(MK_API_DEFAULT(m), route_or_path, method, spec, ttl_ms, id, errbuf,
                                     errlen);
}

int mockapi_fault_delete(mockapi *m, int id)
{
    return m ? mockapi_session_fault_delete(MK_API_DEFAULT(m), id) : MOCKAPI_EINVAL;
}

int mockapi_fault_clear(mockapi *m)
{
    return m ? mockapi_session_fault_clear(MK_API_DEFAULT(m)) : MOCKAPI_EINVAL;
}

int mockapi_set_state(mockapi *m, const char *json, size_t len, char *errbuf, size_t errlen)
{
    if (!m) {
        mk_api_set_err(errbuf, errlen, "NULL argument");
        return MOCKAPI_EINVAL;
    }
    return mockapi_session_set_state(MK_API_DEFAULT(m), json, len, errbuf, errlen);
}

int mockapi_get_state(mockapi *m, char **json, size_t *len)
{
    return m ? mockapi_session_get_state(MK_API_DEFAULT(m), json, len) : MOCKAPI_EINVAL;
}

int mockapi_set_heartbeat(mockapi *m, bool reconcile, bool rotate_keys)
{
    return m ? mockapi_session_set_heartbeat(MK_API_DEFAULT(m), reconcile, rotate_keys) : MOCKAPI_EINVAL;
}
