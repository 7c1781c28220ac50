/* problem.c: see problem.h. */
#include "problem.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "gojson.h"
#include "respond.h"

void mk_problem(const mk_request *req, mk_response *resp, int status, const char *code, const char *detail,
                const char *const (*extra)[2])
{
    mk_buf b;
    mk_buf_init(&b, 0);
    /* the status line's reason phrase: Go's "status code N" where it has no text (respond.c) */
    char other[32];
    const char *title = mk_status_text(status);
    if (!title) {
        snprintf(other, sizeof other, "status code %d", status);
        title = other;
    }
    mk_buf_puts(&b, "{\"type\":\"urn:mockapi:problem:");
    mk_buf_puts(&b, code); /* codes are [a-z_]: no escaping needed */
    mk_buf_puts(&b, "\",\"title\":");
    gj_write_string(&b, title, strlen(title));
    mk_buf_printf(&b, ",\"status\":%d,\"detail\":", status);
    gj_write_string(&b, detail, strlen(detail));
    mk_buf_puts(&b, ",\"instance\":");
    if (req->sent_path)
        gj_write_string(&b, req->sent_path, req->sent_path_len);
    else
        gj_write_string(&b, req->path, req->path_len);
    mk_buf_puts(&b, ",\"code\":\"");
    mk_buf_puts(&b, code);
    mk_buf_puts(&b, "\"}\n");
    if (b.err) {
        mk_buf_free(&b);
        resp->out.err = 1; /* dispatch answers the transport's fixed 500 */
        return;
    }
    mk_reply r = {.status = status, .ctype = MK_CT_PROBLEM, .body = b.data, .len = b.len};
    for (int i = 0; extra && i < 3 && extra[i][0]; i++) {
        r.extra[i][0] = extra[i][0];
        r.extra[i][1] = extra[i][1];
    }
    mk_respond(req, resp, &r);
    mk_buf_free(&b);
}
