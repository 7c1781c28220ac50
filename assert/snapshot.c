/* snapshot.c: see snapshot.h. The YAML written is read back by spec.c
 * into the same JSON (the corpus checks the round trip). */
#include "snapshot.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"
#include "number.h"

static const char *const secrets[] = {"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "e2e-local-bearer-token"};

static int has_secret_text(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        size_t l = strlen(secrets[i]);
        for (size_t k = 0; k + l <= len; k++)
            if (memcmp(s + k, secrets[i], l) == 0)
                return 1;
    }
    return 0;
}

static int holds_secret(const json_t *v)
{
    if (json_is_string(v))
        return has_secret_text(json_string_value(v), json_string_length(v));
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (holds_secret(json_array_get(v, i)))
                return 1;
    }
    if (ma_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            if (has_secret_text(k, strlen(k)) || holds_secret(x))
                return 1;
        }
    }
    return 0;
}

/* Removes object members that hold a secret (recursing into objects);
 * appends the removed paths to dropped. */
static void strip_secrets(json_t *v, const char *path, ma_buf *dropped)
{
    if (!ma_is_object(v))
        return;
    const char *k;
    json_t *x;
    void *tmp;
    json_object_foreach_safe(v, tmp, k, x) {
        char *p = ma_xstrdup(path);
        ma_path_append_key(&p, k);
        if (ma_is_object(x) && !has_secret_text(k, strlen(k))) {
            strip_secrets(x, p, dropped);
        } else if (has_secret_text(k, strlen(k)) || holds_secret(x)) {
            ma_buf_printf(dropped, "%s%s", dropped->len ? ", " : "", p);
            json_object_del(v, k);
        }
        free(p);
    }
}

static int plain_ok(const char *s, size_t len)
{
    static const char *const reserved[] = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"};
    if (len == 0 || strlen(s) != len)
        return 0;
    if (!isalpha((unsigned char)s[0]) && s[0] != '_' && s[0] != '/')
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '_' && c != '.' && c != '/' && c != '-')
            return 0;
    }
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcasecmp(s, reserved[i]) == 0)
            return 0;
    return 1;
}

static void quoted(ma_buf *out, const char *s, size_t len)
{
    json_t *v = json_stringn(s, len);
    char *q = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
    if (!q)
        ma_oom();
    ma_buf_puts(out, q);
    free(q);
    json_decref(v);
}

void ma_yaml_scalar(ma_buf *out, const json_t *v)
{
    if (ma_number_is(v)) {
        /* as sent: a JSON number reads back as the same YAML int or float
         * (or exact number: spec.c) */
        ma_buf_puts(out, ma_number_text(v));
        return;
    }
    switch (json_typeof(v)) {
    case JSON_STRING:
        if (plain_ok(json_string_value(v), json_string_length(v)))
            ma_buf_puts(out, json_string_value(v));
        else
            quoted(out, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        ma_buf_printf(out, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL: {
        char num[64];
        snprintf(num, sizeof num, "%.17g", json_real_value(v));
        /* shortest text that reads back the same */
        for (int prec = 1; prec <= 17; prec++) {
            char t[64];
            snprintf(t, sizeof t, "%.*g", prec, json_real_value(v));
            if (strtod(t, NULL) == json_real_value(v)) {
                memcpy(num, t, sizeof t);
                break;
            }
        }
        ma_buf_puts(out, num);
        if (!strpbrk(num, ".eEn")) /* keep it a float: 2 -> 2.0 */
            ma_buf_puts(out, ".0");
        break;
    }
    case JSON_TRUE:
        ma_buf_puts(out, "true");
        break;
    case JSON_FALSE:
        ma_buf_puts(out, "false");
        break;
    case JSON_OBJECT:
        ma_buf_puts(out, "{}");
        break;
    case JSON_ARRAY:
        ma_buf_puts(out, "[]");
        break;
    default:
        ma_buf_puts(out, "null");
        break;
    }
}

static int is_block(const json_t *v)
{
    return (ma_is_object(v) && json_object_size(v) > 0) || (json_is_array(v) && json_array_size(v) > 0);
}

static void spaces(ma_buf *out, int n)
{
    for (int i = 0; i < n; i++)
        ma_buf_putc(out, ' ');
}

void ma_yaml_emit(ma_buf *out, const json_t *v, int indent)
{
    if (!is_block(v)) {
        ma_yaml_scalar(out, v);
        ma_buf_putc(out, '\n');
        return;
    }
    if (ma_is_object(v)) {
        const char *k;
        json_t *x;
        int first = 1;
        json_object_foreach((json_t *)v, k, x) {
            if (!first)
                spaces(out, indent);
            first = 0;
            if (plain_ok(k, strlen(k)))
                ma_buf_puts(out, k);
            else
                quoted(out, k, strlen(k));
            ma_buf_putc(out, ':');
            if (is_block(x)) {
                ma_buf_putc(out, '\n');
                spaces(out, indent + 2);
                ma_yaml_emit(out, x, indent + 2);
            } else {
                ma_buf_putc(out, ' ');
                ma_yaml_scalar(out, x);
                ma_buf_putc(out, '\n');
            }
        }
        return;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        if (i)
            spaces(out, indent);
        ma_buf_puts(out, "- ");
        ma_yaml_emit(out, json_array_get(v, i), indent + 2);
    }
}

void ma_snapshot_write(ma_buf *out, const ma_capture *caps, size_t n, const char *source)
{
    ma_buf_puts(out, "# A starting point written by `mockassert snapshot` from what mockapi captured");
    if (source)
        ma_buf_printf(out, "\n# at %s", source);
    ma_buf_puts(out, ".\n# Loosen it: replace equals with subset, or check single values with json:.\n");
    ma_buf_puts(out, "expectations:\n");
    size_t written = 0;
    for (size_t i = 0; i < n; i++) {
        const ma_capture *c = &caps[i];
        if (!c->found) {
            ma_buf_printf(out, "  # %s: nothing captured\n", c->key);
            continue;
        }
        written++;
        ma_buf_printf(out, "  - name: last %s request\n    lastRequest: %s\n", c->key, c->key);
        /* numbers as they were sent: 1.50 stays 1.50, 1e3 stays 1e3 */
        json_t *doc = ma_json_load_exact(c->body, c->len, MA_JSON_KEEP_TEXT);
        if (!doc)
            doc = ma_json_from_body(c->body, c->len); /* not JSON: the text, as lastRequest reads it */
        if (!doc) {
            ma_buf_printf(out, "    # the body (%zu bytes) is not UTF-8 text: only its capture is checked\n", c->len);
            continue;
        }
        ma_buf dropped = {0};
        const char *op = "equals";
        if (holds_secret(doc)) {
            if (ma_is_object(doc)) {
                strip_secrets(doc, "$", &dropped);
                op = "subset";
            } else {
                ma_buf_puts(out, "    # the body holds a secret of the mock: only its capture is checked\n");
                json_decref(doc);
                continue;
            }
        }
        if (dropped.len)
            ma_buf_printf(out, "    # left out, holding a secret of the mock: %s\n", ma_buf_str(&dropped));
        ma_buf_printf(out, "    body:\n      %s:", op);
        if (is_block(doc)) {
            ma_buf_puts(out, "\n        ");
            ma_yaml_emit(out, doc, 8);
        } else {
            ma_buf_putc(out, ' ');
            ma_yaml_emit(out, doc, 8);
        }
        ma_buf_free(&dropped);
        json_decref(doc);
    }
    if (!written)
        ma_buf_puts(out, "  []\n");
}
