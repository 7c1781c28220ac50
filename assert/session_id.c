/* session_id.c: session ids and the server's answers about sessions (see
 * session_id.h). */
#include "session_id.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int id_byte(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
}

int ma_session_id_check(const char *s, size_t len, size_t *at, char *why, size_t whylen)
{
    size_t i = 0;
    char w[96] = "";
    while (i < len && id_byte((unsigned char)s[i]))
        i++;
    if (len == 0) {
        snprintf(w, sizeof w, ", and this one is empty");
    } else if (i < len) {
        unsigned char c = (unsigned char)s[i];
        /* the byte as it can be read on a terminal: a control or non-ASCII byte as \xNN */
        if (c == '\'')
            snprintf(w, sizeof w, ", and this one has \"'\" at byte %zu", i + 1);
        else if (c >= 0x20 && c < 0x7f)
            snprintf(w, sizeof w, ", and this one has '%c' at byte %zu", c, i + 1);
        else
            snprintf(w, sizeof w, ", and this one has the byte \\x%02X at byte %zu", c, i + 1);
    } else if (len > MA_SESSION_ID_MAX) {
        snprintf(w, sizeof w, ", and this one is %zu bytes long", len);
        i = MA_SESSION_ID_MAX; /* the first byte past the limit */
    } else {
        return 0;
    }
    if (at)
        *at = i;
    if (why && whylen)
        snprintf(why, whylen, "%s", w);
    return -1;
}

/* mockapi's 404 for an id no live session has:
 * {"error":"no session \"ID\" (it ended, expired or never existed)"}.
 * The id it names (caller frees), or NULL for any other body. */
static char *gone_id(const char *body, size_t len)
{
    static const char lead[] = "no session \"";
    json_t *v = body ? json_loadb(body, len, 0, NULL) : NULL;
    const char *e = json_string_value(json_object_get(v, "error"));
    char *id = NULL;
    if (json_is_object(v) && e && strncmp(e, lead, sizeof lead - 1) == 0) {
        const char *p = e + sizeof lead - 1, *q = strchr(p, '"');
        if (q)
            id = ma_xstrndup(p, (size_t)(q - p));
    }
    json_decref(v);
    return id;
}

char *ma_session_problem(long status, const char *body, size_t len, const char *server, const char *request)
{
    const char *who = server ? server : "the server";
    if (status == 428)
        return ma_xasprintf("%s answered HTTP 428 to %s: it wants a session on every request (mockapi -sessions "
                            "required); give --session ID or a top-level session: key",
                            who, request);
    if (status != 404)
        return NULL;
    char *id = gone_id(body, len);
    if (!id)
        return NULL;
    /* the id as the server wrote it, but only printable bytes, and not all of a long one */
    ma_buf b = {0};
    size_t n = strlen(id);
    for (size_t i = 0; i < n && i < MA_SESSION_ID_MAX; i++)
        ma_buf_putc(&b, id[i] >= 0x20 && id[i] < 0x7f ? id[i] : '?');
    if (n > MA_SESSION_ID_MAX)
        ma_buf_puts(&b, "...");
    char *r = ma_xasprintf("session \"%s\" not found on %s: it ended, expired or never existed (%s answered HTTP "
                           "404)",
                           ma_buf_str(&b), who, request);
    ma_buf_free(&b);
    free(id);
    return r;
}
