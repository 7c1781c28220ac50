/* members.c: see members.h. */
#include "members.h"

#include <stdio.h>
#include <string.h>

#include "suggest.h"

int mk_members_open(mk_members *mm, const char *body, size_t len, const char *const *names, size_t n,
                    const char *not_object, char *err, size_t errlen)
{
    size_t pos = 0, start, end;
    gj_kind kind;
    if (gj_scan_value(body, len, &pos, &kind, &start, &end) != 0) {
        snprintf(err, errlen, "the body is not valid JSON (at byte %zu)", pos);
        return -1;
    }
    while (pos < len && (body[pos] == ' ' || body[pos] == '\t' || body[pos] == '\r' || body[pos] == '\n'))
        pos++;
    if (pos != len) {
        snprintf(err, errlen, "the body has bytes after its JSON value (at byte %zu)", pos);
        return -1;
    }
    if (kind != GJ_OBJECT) {
        snprintf(err, errlen, "%s", not_object);
        return -1;
    }
    gj_iter_init(&mm->it, body, start, end);
    mm->body = body;
    mm->names = names;
    mm->n = n;
    mm->seen = 0;
    mk_buf_init(&mm->key, 0);
    return 0;
}

int mk_members_uint(const char *body, gj_kind vk, size_t vs, size_t ve, unsigned max, unsigned *out)
{
    size_t n = ve - vs;
    if (vk != GJ_NUMBER || n == 0 || n > 10 || strspn(body + vs, "0123456789") < n)
        return -1;
    unsigned long long v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(body[vs + i] - '0');
    if (v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

void mk_members_free(mk_members *mm)
{
    mk_buf_free(&mm->key);
}

int mk_members_next(mk_members *mm, size_t *index, gj_kind *vk, size_t *vs, size_t *ve, char *err,
                    size_t errlen)
{
    size_t ks, ke;
    int r = gj_iter_next(&mm->it, &ks, &ke, vk, vs, ve);
    if (r == 0)
        return 0;
    if (r < 0) {
        snprintf(err, errlen, "the body is not a valid JSON object");
        return -1;
    }
    mk_buf_reset(&mm->key);
    if (gj_string_decode(mm->body + ks, ke - ks, &mm->key) != 0 || mm->key.err) {
        snprintf(err, errlen, "a member name is not a valid string");
        return -1;
    }
    const char *k = mm->key.data ? mm->key.data : "";
    size_t i = 0;
    while (i < mm->n && strcmp(mm->names[i], k) != 0)
        i++;
    if (i == mm->n || strlen(k) != mm->key.len) {
        const char *near = mk_suggest(k, mm->names, mm->n);
        char shown[44], known[256];
        size_t w = 0;
        for (size_t j = 0; j < mm->n && w < sizeof known; j++) {
            int c = snprintf(known + w, sizeof known - w, "%s%s", j ? ", " : "", mm->names[j]);
            w += c > 0 ? (size_t)c : 0;
        }
        snprintf(err, errlen, "unknown member \"%s\"%s%s%s (known: %s)", mk_shown(k, mm->key.len, shown, sizeof shown),
                 near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "", known);
        return -1;
    }
    if (mm->seen & (1u << i)) {
        snprintf(err, errlen, "member \"%s\" given twice", k);
        return -1;
    }
    mm->seen |= 1u << i;
    *index = i;
    return 1;
}
