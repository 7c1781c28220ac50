/* regions.c: see regions.h. */
#include "regions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "errors.h"
#include "gojson.h"
#include "respond.h"

/* {"region":i,"url":"http://host:port","state":"up"|"down"} */
static void put_region(const mockapi *m, int i, mk_buf *b)
{
    const mk_listener *l = &m->listeners[i];
    mk_buf_printf(b, "{\"region\":%d,\"url\":\"http://%s:%d\",\"state\":\"%s\"}", i,
                  l->wildcard ? "127.0.0.1" : l->host, atomic_load(&l->port),
                  atomic_load(&l->down) ? "down" : "up");
}

void mk_respond_regions(mockapi *m, const mk_request *req, mk_response *resp)
{
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_buf_puts(&b, "{\"regions\":[");
    for (int i = 0; m->regions_on && i < m->nregions; i++) {
        if (i)
            mk_buf_putc(&b, ',');
        put_region(m, i, &b);
    }
    mk_buf_puts(&b, "]}\n");
    if (b.err)
        mk_err_internal(req, resp, "out of memory");
    else
        mk_respond_json(req, resp, 200, b.data, b.len);
    mk_buf_free(&b);
}

/* 4xx {"error":why}, with the region's state when there is one. */
static void region_error(mockapi *m, const mk_request *req, mk_response *resp, int status, int region,
                         const char *why)
{
    mk_buf b;
    mk_buf_init(&b, 0);
    mk_buf_puts(&b, "{\"error\":");
    gj_write_string(&b, why, strlen(why));
    if (region >= 0)
        mk_buf_printf(&b, ",\"region\":%d,\"state\":\"%s\"", region,
                      atomic_load(&m->listeners[region].down) ? "down" : "up");
    mk_buf_puts(&b, "}\n");
    if (b.err)
        mk_err_internal(req, resp, "out of memory");
    else
        mk_respond_json(req, resp, status, b.data, b.len);
    mk_buf_free(&b);
}

void mk_respond_region_set(mockapi *m, const mk_request *req, mk_response *resp, const char *index,
                           bool up)
{
    if (!m->regions_on) {
        region_error(m, req, resp, 404, -1,
                     "regions are off: start mockapi with -regions N or several -addr");
        return;
    }
    char why[320];
    size_t n = strlen(index);
    /* a decimal index, no sign, no leading zeros: "01" names no region */
    if (n == 0 || n > 3 || strspn(index, "0123456789") != n || (n > 1 && index[0] == '0')) {
        snprintf(why, sizeof why, "region \"%.40s\": not a region number; give 0 to %d", index,
                 m->nregions - 1);
        region_error(m, req, resp, 400, -1, why);
        return;
    }
    int i = atoi(index);
    if (i >= m->nregions) {
        snprintf(why, sizeof why, "no region %d: the regions are 0 to %d", i, m->nregions - 1);
        region_error(m, req, resp, 404, -1, why);
        return;
    }
    int rc = m->region_ctl ? m->region_ctl(m, i, up, why, sizeof why) : MOCKAPI_ESTATE;
    if (rc != MOCKAPI_OK) {
        if (rc == MOCKAPI_ESTATE && !m->region_ctl)
            snprintf(why, sizeof why, "region %d: the server is stopping", i);
        region_error(m, req, resp, rc == MOCKAPI_ELISTEN ? 409 : 503, i, why);
        return;
    }
    if (!up && req->region == i && req->region_header)
        resp->close = true; /* this connection ends with the region */
    mk_buf b;
    mk_buf_init(&b, 0);
    put_region(m, i, &b);
    mk_buf_putc(&b, '\n');
    if (b.err)
        mk_err_internal(req, resp, "out of memory");
    else
        mk_respond_json(req, resp, 200, b.data, b.len);
    mk_buf_free(&b);
}
