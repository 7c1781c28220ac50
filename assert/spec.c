/* spec.c: expectation files -> ma_spec (see spec.h and assert/README.md).
 * Every error names the node it is about; unknown keys get a "did you
 * mean" from the keys allowed at that place. */
#include "spec.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"
#include "session_id.h"
#include "subject.h"
#include "number.h"

const char *const ma_counter_names[MA_NCOUNTERS] = {
#define NAME2_(id, name) name,
    MOCKAPI_COUNTERS(NAME2_)
#undef NAME2_
};

#define NAME3_(id, name, counter) name,
const char *const ma_capture_keys[MA_NKEYS] = {MK_CAPTURE_ROUTES(NAME3_)};
const char *const ma_route_names[MA_NROUTES] = {MK_ROUTE_NAMES(NAME3_)};
#undef NAME3_

static int in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

int ma_is_route(const char *name)
{
    return in_list(name, ma_route_names, MA_NROUTES);
}

const char *ma_counter_route(const char *counter)
{
    /* each route's counter as an index into ma_counter_names, -1 for none */
    enum {
        CTR_NONE = -1,
#define CTR_(id, name) CTR_##id = MOCKAPI_##id,
        MOCKAPI_COUNTERS(CTR_)
#undef CTR_
    };
    static const int route_counter[MA_NROUTES] = {
#define COUNTER_(id, name, counter) CTR_##counter,
        MK_ROUTE_NAMES(COUNTER_)
#undef COUNTER_
    };
    for (size_t i = 0; counter && i < MA_NROUTES; i++)
        if (route_counter[i] >= 0 && strcmp(ma_counter_names[route_counter[i]], counter) == 0)
            return ma_route_names[i];
    return NULL;
}

/* ---- errors ---- */

typedef struct {
    const char *file;
    ma_error *err;
    const char *last_key; /* reading a lastRequest's checks (the capture key): no subjects there */
    const char *text;     /* the source, to point into a scalar (read_session) */
    size_t len;
} ctx;

__attribute__((format(printf, 3, 4))) static int fail(ctx *c, const ma_ynode *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
    va_end(ap);
    c->err->mark.file = c->file;
    c->err->mark.line = at ? at->mark.line : 0;
    c->err->mark.col = at ? at->mark.col : 0;
    return -1;
}

/* "unknown X "y" [in WHERE]" plus a suggestion from the allowed list */
static int fail_unknown_in(ctx *c, const ma_ynode *at, const char *what, const char *word, const char *where,
                           const char *const *allowed, size_t n)
{
    char in[80] = "";
    if (where)
        snprintf(in, sizeof in, " in %s", where);
    const char *s = ma_suggest(word, allowed, n);
    if (s)
        return fail(c, at, "unknown %s \"%s\"%s (did you mean %s?)", what, word, in, s);
    ma_buf list = {0};
    for (size_t i = 0; i < n && i < 30; i++) {
        if (i)
            ma_buf_puts(&list, ", ");
        ma_buf_puts(&list, allowed[i]);
    }
    if (n > 30)
        ma_buf_puts(&list, ", ...");
    int r = fail(c, at, "unknown %s \"%s\"%s (expected one of: %s)", what, word, in, ma_buf_str(&list));
    ma_buf_free(&list);
    return r;
}

static int fail_unknown(ctx *c, const ma_ynode *at, const char *what, const char *word,
                        const char *const *allowed, size_t n)
{
    return fail_unknown_in(c, at, what, word, NULL, allowed, n);
}

void ma_error_print(FILE *f, const ma_error *e)
{
    const char *file = e->mark.file ? e->mark.file : "mockassert";
    if (e->mark.line > 0)
        fprintf(f, "%s:%d:%d: error: %s\n", file, e->mark.line, e->mark.col, e->msg);
    else
        fprintf(f, "%s: error: %s\n", file, e->msg);
    if (e->mark.line > 0 && e->hide_source) {
        fprintf(f, "%5d | (not shown: this check holds a credential, compared by fingerprint only)\n", e->mark.line);
        return;
    }
    if (e->mark.line <= 0 || !e->source[0])
        return;
    fprintf(f, "%5d | %s\n      | ", e->mark.line, e->source);
    int width = (int)strlen(e->source);
    for (int i = 1; i < e->mark.col && i <= width; i++)
        fputc(e->source[i - 1] == '\t' ? '\t' : ' ', f);
    fputs("^\n", f);
}

/* Copies line `line` (1-based) of text into err->source. */
static void remember_source(ma_error *err, const char *text, size_t len)
{
    err->source[0] = '\0';
    if (err->mark.line <= 0 || err->hide_source)
        return;
    const char *p = text, *end = text + len;
    for (int l = 1; l < err->mark.line; l++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return;
        p = nl + 1;
    }
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol)
        eol = end;
    if (eol > p && eol[-1] == '\r')
        eol--;
    size_t n = (size_t)(eol - p);
    if (n >= sizeof err->source)
        n = sizeof err->source - 1;
    memcpy(err->source, p, n);
    err->source[n] = '\0';
    /* Errors found before a check is known to be on a secret header (YAML
     * syntax, a duplicate key, a check misplaced under count: or groupBy:)
     * must not show the credential either: a line naming a secret header
     * may hold one (`{header: Authorization, equals: "Bearer ..."}`). */
    if (ma_mentions_secret_header(err->source) || ma_mentions_auth_token(err->source)) {
        err->hide_source = 1;
        err->source[0] = '\0';
    }
}

/* ---- YAML -> JSON ---- */

static int all_digits(const char *s, int (*ok)(int))
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!ok((unsigned char)*s))
            return 0;
    return 1;
}

static int is_octal(int c)
{
    return c >= '0' && c <= '7';
}

/* A YAML 1.2 int or float (as matched below) as mockassert holds it: the
 * JSON number it stands for (sign, no leading zeros, 0.5 for .5, 1.0 for
 * 1.), made exact when jansson cannot hold it (number.h): integers beyond
 * 64 bits and floats that overflow or underflow keep their digits. */
static json_t *yaml_number(const char *t)
{
    ma_buf b = {0};
    if (*t == '-')
        ma_buf_putc(&b, '-');
    if (*t == '-' || *t == '+')
        t++;
    while (t[0] == '0' && isdigit((unsigned char)t[1]))
        t++;
    if (*t == '.')
        ma_buf_putc(&b, '0');
    while (isdigit((unsigned char)*t))
        ma_buf_putc(&b, *t++);
    if (*t == '.') {
        ma_buf_putc(&b, *t++);
        if (!isdigit((unsigned char)*t))
            ma_buf_putc(&b, '0');
        while (isdigit((unsigned char)*t))
            ma_buf_putc(&b, *t++);
    }
    ma_buf_puts(&b, t); /* the exponent, if any */
    json_t *v = ma_number_parse(ma_buf_str(&b), b.len);
    ma_buf_free(&b);
    return v;
}

/* A 0x / 0o integer beyond 64 bits: the same number in decimal, exact. */
static json_t *radix_number(const char *digits, int base)
{
    size_t n = 0, cap = 2 * strlen(digits) + 2; /* a hex digit is < 2 decimal ones */
    unsigned char *dec = ma_xcalloc(cap, 1);    /* least significant first */
    for (const char *p = digits; *p; p++) {
        unsigned carry = (unsigned)(isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10);
        for (size_t i = 0; i < n; i++) {
            unsigned x = dec[i] * (unsigned)base + carry;
            dec[i] = (unsigned char)(x % 10);
            carry = x / 10;
        }
        for (; carry; carry /= 10)
            dec[n++] = (unsigned char)(carry % 10);
    }
    ma_buf b = {0};
    while (n > 1 && dec[n - 1] == 0)
        n--;
    for (size_t i = n; i-- > 0;)
        ma_buf_putc(&b, (char)('0' + dec[i]));
    if (n == 0)
        ma_buf_putc(&b, '0');
    free(dec);
    json_t *v = yaml_number(ma_buf_str(&b));
    ma_buf_free(&b);
    return v;
}

static json_t *scalar_to_json(const ma_ynode *n)
{
    const char *t = n->text;
    if (!n->plain || n->str_tag)
        return json_stringn(t, n->len);
    if (!strcmp(t, "") || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") || !strcmp(t, "NULL"))
        return json_null();
    if (!strcmp(t, "true") || !strcmp(t, "True") || !strcmp(t, "TRUE"))
        return json_true();
    if (!strcmp(t, "false") || !strcmp(t, "False") || !strcmp(t, "FALSE"))
        return json_false();
    const char *d = t + (*t == '-' || *t == '+');
    if (all_digits(d, isdigit)) {
        errno = 0;
        long long v = strtoll(t, NULL, 10);
        if (errno == ERANGE)
            return yaml_number(t); /* beyond 64 bits: exact */
        return json_integer(v);
    }
    if (t[0] == '0' && t[1] == 'x' && all_digits(t + 2, isxdigit)) {
        errno = 0;
        long long v = strtoll(t + 2, NULL, 16);
        return errno != ERANGE ? json_integer(v) : radix_number(t + 2, 16);
    }
    if (t[0] == '0' && t[1] == 'o' && all_digits(t + 2, is_octal)) {
        errno = 0;
        long long v = strtoll(t + 2, NULL, 8);
        return errno != ERANGE ? json_integer(v) : radix_number(t + 2, 8);
    }
    /* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
    const char *p = d;
    int mant = 0;
    while (isdigit((unsigned char)*p)) {
        p++;
        mant++;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            p++;
            mant++;
        }
    }
    if (mant && (*p == 'e' || *p == 'E')) {
        const char *q = p + 1;
        if (*q == '-' || *q == '+')
            q++;
        if (isdigit((unsigned char)*q)) {
            while (isdigit((unsigned char)*q))
                q++;
            p = q;
        }
    }
    if (mant && *p == '\0')
        return yaml_number(t);
    return json_stringn(t, n->len);
}

json_t *ma_yaml_to_json(const ma_ynode *n, ma_error *err)
{
    json_t *v = NULL;
    switch (n->type) {
    case MA_Y_SCALAR:
        v = scalar_to_json(n);
        if (!v) {
            snprintf(err->msg, sizeof err->msg, "this text is not valid UTF-8");
            err->mark = n->mark;
        }
        return v;
    case MA_Y_SEQ:
        v = json_array();
        if (!v)
            ma_oom();
        for (size_t i = 0; i < n->nkids; i++) {
            json_t *k = ma_yaml_to_json(n->kids[i], err);
            if (!k) {
                json_decref(v);
                return NULL;
            }
            if (json_array_append_new(v, k))
                ma_oom();
        }
        return v;
    case MA_Y_MAP:
        v = json_object();
        if (!v)
            ma_oom();
        for (size_t i = 0; i + 1 < n->nkids; i += 2) {
            json_t *k = ma_yaml_to_json(n->kids[i + 1], err);
            if (!k) {
                json_decref(v);
                return NULL;
            }
            if (json_object_setn_new(v, n->kids[i]->text, n->kids[i]->len, k)) {
                json_decref(v);
                snprintf(err->msg, sizeof err->msg, "this key is not valid UTF-8");
                err->mark = n->kids[i]->mark;
                return NULL;
            }
        }
        return v;
    }
    return NULL;
}

/* ---- small readers ---- */

static int want_scalar(ctx *c, const ma_ynode *n, const char *what)
{
    if (!n || n->type != MA_Y_SCALAR)
        return fail(c, n, "%s must be a single value, not %s", what, ma_ytype_name(n));
    if (strlen(n->text) != n->len)
        return fail(c, n, "%s must not contain NUL bytes", what);
    return 0;
}

static int want_map(ctx *c, const ma_ynode *n, const char *what)
{
    if (!n || n->type != MA_Y_MAP)
        return fail(c, n, "%s must be a mapping (key: value lines), not %s", what, ma_ytype_name(n));
    return 0;
}

/* Counter and count conditions: the numeric operators only. */
static const ma_op number_ops[] = {MA_OP_EQUALS,  MA_OP_NOT_EQUALS, MA_OP_GREATER_THAN, MA_OP_LESS_THAN,
                                   MA_OP_AT_LEAST, MA_OP_AT_MOST,    MA_OP_BETWEEN};
#define NNUMBER_OPS (sizeof number_ops / sizeof number_ops[0])

#define OPS_NONE 0
#define OPS_ALL 1
#define OPS_NUMBER 2 /* counters and counts */

/* Every key of map must be in allowed (plus operators when ops is set: any
 * operator name passes here, so parse_ops can say which ones apply, but an
 * unknown key is only ever offered the operators the place accepts). */
static int check_keys(ctx *c, const ma_ynode *map, const char *what, const char *const *allowed, size_t n,
                      int ops)
{
    for (size_t i = 0; i < map->nkids; i += 2) {
        const char *k = map->kids[i]->text;
        ma_op op;
        if (in_list(k, allowed, n) || (ops && ma_op_by_name(k, &op) == 0))
            continue;
        const char *all[64];
        size_t m = 0;
        for (size_t j = 0; j < n && m < 64; j++)
            all[m++] = allowed[j];
        for (int j = 0; ops == OPS_ALL && j < MA_OP_COUNT_ && m < 64; j++)
            all[m++] = ma_op_names[j];
        for (size_t j = 0; ops == OPS_NUMBER && j < NNUMBER_OPS && m < 64; j++)
            all[m++] = ma_op_name(number_ops[j]);
        return fail_unknown_in(c, map->kids[i], "key", k, what, all, m);
    }
    return 0;
}

static int read_duration(ctx *c, const ma_ynode *n, const char *what, int64_t *ns)
{
    if (want_scalar(c, n, what) < 0)
        return -1;
    const char *why;
    if (ma_parse_duration(n->text, ns, &why) < 0)
        return fail(c, n, "%s: %s", what, why);
    return 0;
}

static char *read_string(ctx *c, const ma_ynode *n, const char *what)
{
    if (want_scalar(c, n, what) < 0)
        return NULL;
    if (n->len == 0) {
        fail(c, n, "%s must not be empty", what);
        return NULL;
    }
    return ma_xstrndup(n->text, n->len);
}

/* The column of byte at of scalar n's text, when the text stands on its
 * line as written (plain, or quoted without escapes: the mark is at the
 * quote or just after it, as the libfyaml version has it); else n's own. */
static int column_in(const ctx *c, const ma_ynode *n, size_t at)
{
    const char *p = c->text, *end = c->text + c->len;
    for (int l = 1; l < n->mark.line && p; l++) {
        p = memchr(p, '\n', (size_t)(end - p));
        p = p ? p + 1 : NULL;
    }
    if (!p || n->mark.col < 1)
        return n->mark.col;
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    for (int skip = 0; skip <= (n->plain ? 0 : 1); skip++) {
        const char *t = p + n->mark.col - 1 + skip;
        if (t + n->len <= (eol ? eol : end) && memcmp(t, n->text, n->len) == 0)
            return n->mark.col + skip + (int)at;
    }
    return n->mark.col;
}

/* session: ID, the session every request names (session_id.h): a string
 * that is a session id, as the server checks it. */
static char *read_session(ctx *c, const ma_ynode *n)
{
    if (n->type != MA_Y_SCALAR) {
        fail(c, n, "session must be a session id such as ci-42, not %s", ma_ytype_name(n));
        return NULL;
    }
    if (n->len == 0) {
        fail(c, n, "session must not be empty: it names the session to check (%s)", MA_SESSION_ID_RULE);
        return NULL;
    }
    if (n->plain && !n->str_tag) {
        /* YAML types a plain 42 or true: an id is a string, and "007" must not become 7 */
        json_t *j = ma_yaml_to_json(n, c->err);
        if (!j)
            return NULL; /* c->err says why */
        const char *type = json_is_string(j) ? NULL : ma_type_of(j);
        json_decref(j);
        if (type && !strcmp(type, "null")) {
            fail(c, n, "session must be a session id such as ci-42, not null");
            return NULL;
        }
        if (type) {
            fail(c, n, "session must be a string, and %s is %s %s in YAML: quote it to use it as an id "
                       "(session: \"%s\")",
                 n->text, !strcmp(type, "integer") ? "an" : "a", type, n->text);
            return NULL;
        }
    }
    size_t at = 0;
    char why[96];
    if (ma_session_id_check(n->text, n->len, &at, why, sizeof why) < 0) {
        fail(c, n, "session: %s%s", MA_SESSION_ID_RULE, why);
        c->err->mark.col = column_in(c, n, at);
        return NULL;
    }
    return ma_xstrndup(n->text, n->len);
}

/* ---- checks ---- */

/* path (the body) and the subject words (subject.h) are a check's subjects */
static const char *const check_keys_allowed[] = {"path",  "and",      "or",             "not",   "header",
                                                 "query", "response", "responseHeader", "fault", "auth"};
#define NCHECK_KEYS (sizeof check_keys_allowed / sizeof check_keys_allowed[0])

static ma_check *parse_check(ctx *c, const ma_ynode *n, int need_path);
static ma_check *parse_count_as(ctx *c, const ma_ynode *n, const char *what);
static const ma_ynode *key_node(const ma_ynode *map, const char *key);

/* type: NAME | [NAME, ...], each a known type name */
static int type_operand_ok(ctx *c, const ma_ynode *v)
{
    const char *need = "type needs a type name (null, boolean, integer, number, string, array, object) or a list "
                       "of them, e.g. [string, null]";
    if (v->type == MA_Y_MAP || (v->type == MA_Y_SEQ && v->nkids == 0))
        return fail(c, v, "%s", need);
    size_t n = v->type == MA_Y_SEQ ? v->nkids : 1;
    for (size_t i = 0; i < n; i++) {
        const ma_ynode *x = v->type == MA_Y_SEQ ? v->kids[i] : v;
        if (x->type != MA_Y_SCALAR || x->len == 0 || strlen(x->text) != x->len)
            return fail(c, x, "%s", need);
        if (!in_list(x->text, ma_type_names, MA_NTYPES))
            return fail_unknown(c, x, "type", x->text, ma_type_names, MA_NTYPES);
    }
    return 0;
}

static ma_path *parse_path(ctx *c, const ma_ynode *n)
{
    if (want_scalar(c, n, "path") < 0)
        return NULL;
    size_t pos = 0;
    const char *why = NULL;
    ma_path *p = ma_path_parse(n->text, &pos, &why);
    if (!p) {
        ma_ynode at = *n;
        /* point at the offending character when the scalar is on one line */
        if (n->plain && !strchr(n->text, '\n'))
            at.mark.col += (int)pos;
        fail(c, &at, "bad JSON path \"%s\": %s", n->text, why);
    }
    return p;
}

/* A list of checks (an AND). */
static ma_check *parse_check_list(ctx *c, const ma_ynode *n, int need_path, ma_check_kind kind)
{
    if (n->nkids == 0) {
        fail(c, n, "an empty list of checks");
        return NULL;
    }
    ma_check *g = ma_check_group(kind, n->mark);
    for (size_t i = 0; i < n->nkids; i++) {
        ma_check *k = parse_check(c, n->kids[i], need_path);
        if (!k) {
            ma_check_free(g);
            return NULL;
        }
        ma_check_add(g, k);
    }
    return g;
}

static ma_subject *parse_subject(ctx *c, const ma_ynode *key, const ma_ynode *val);
static int subject_op(ctx *c, const ma_subject *s, const ma_ynode *k, const ma_ynode *v, ma_op op, json_t **val);

/* Operators of one mapping (sharing its path, or its subject: subjkey is
 * the key of a header/query/response/responseHeader, else NULL).
 * ops_allowed NULL: all. */
static int parse_ops(ctx *c, const ma_ynode *map, const ma_ynode *pathnode, const ma_ynode *subjkey,
                     ma_check *group, const ma_op *ops_allowed, size_t nallowed, const char *what)
{
    int found = 0;
    for (size_t i = 0; i < map->nkids; i += 2) {
        const ma_ynode *k = map->kids[i], *v = map->kids[i + 1];
        ma_op op;
        if (ma_op_by_name(k->text, &op) < 0)
            continue;
        if (ops_allowed) {
            int ok = 0;
            for (size_t j = 0; j < nallowed; j++)
                ok |= ops_allowed[j] == op;
            if (!ok) {
                ma_buf list = {0};
                for (size_t j = 0; j < nallowed; j++) {
                    if (j)
                        ma_buf_puts(&list, ", ");
                    ma_buf_puts(&list, ma_op_name(ops_allowed[j]));
                }
                int r = fail(c, k, "operator %s does not apply to %s (use %s)", k->text, what, ma_buf_str(&list));
                ma_buf_free(&list);
                return r;
            }
        }
        if (op == MA_OP_TYPE && type_operand_ok(c, v) < 0)
            return -1;
        /* length takes what count: takes, checked (and marked) the same way */
        ma_check *count = NULL;
        if (op == MA_OP_LENGTH && !(count = parse_count_as(c, v, "length")))
            return -1;
        json_t *val = ma_yaml_to_json(v, c->err);
        if (!val) {
            ma_check_free(count);
            c->err->mark.file = c->file;
            return -1;
        }
        ma_path *p = NULL;
        if (pathnode && !(p = parse_path(c, pathnode))) {
            ma_check_free(count);
            json_decref(val);
            return -1;
        }
        ma_subject *subj = NULL;
        if (subjkey) {
            if (!(subj = parse_subject(c, subjkey, ma_ymap_get(map, subjkey->text)))) {
                ma_check_free(count);
                json_decref(val);
                return -1;
            }
            if (subject_op(c, subj, k, v, op, &val) < 0) {
                ma_check_free(count);
                ma_subject_free(subj);
                json_decref(val);
                return -1;
            }
        }
        char why[300];
        ma_check *chk = count ? ma_check_length(k->mark, p, val, count) : ma_check_op(k->mark, p, op, val, why, sizeof why);
        if (!chk) {
            int secret = subj && subj->secret;
            ma_subject_free(subj);
            fail(c, v, "%s", why);
            c->err->hide_source = secret;
            return -1;
        }
        chk->subject = subj;
        ma_check_add(group, chk);
        found++;
    }
    return found;
}

static ma_check *simplify(ma_check *g)
{
    if (g->kind == MA_CHECK_AND && g->nkids == 1) {
        ma_check *k = g->kids[0];
        g->nkids = 0;
        ma_check_free(g);
        return k;
    }
    return g;
}

/* ---- subjects (subject.h) ---- */

/* {auth: node_key}: a class written where auth's field goes. */
static int auth_class_as_field(ctx *c, const ma_ynode *val)
{
    return fail(c, val, "auth takes a field (class, token, node, skipped), and %s is a class: check it as "
                        "{auth: class, equals: %s}", val->text, val->text);
}

/* The subject of a header/query/response/responseHeader key whose value is
 * val, or NULL after an error. */
static ma_subject *parse_subject(ctx *c, const ma_ynode *key, const ma_ynode *val)
{
    ma_subject_kind kind;
    ma_subject_word(key->text, &kind);
    if (want_scalar(c, val, key->text) < 0)
        return NULL;
    if (kind == MA_SUBJ_RESPONSE) {
        ma_resp_field f;
        if (ma_response_field(val->text, &f) < 0) {
            fail_unknown(c, val, "response field", val->text, ma_response_fields, MA_RESP_COUNT_);
            return NULL;
        }
    }
    if (kind == MA_SUBJ_FAULT) {
        ma_fault_field f;
        if (ma_fault_field_of(val->text, &f) < 0) {
            fail_unknown(c, val, "fault field", val->text, ma_fault_fields, MA_FAULT_COUNT_);
            return NULL;
        }
    }
    if (kind == MA_SUBJ_AUTH) {
        ma_auth_field f;
        if (ma_auth_field_of(val->text, &f) < 0) {
            if (in_list(val->text, ma_auth_classes, MA_AUTH_NCLASSES))
                auth_class_as_field(c, val);
            else
                fail_unknown(c, val, "auth field", val->text, ma_auth_fields, MA_AUTH_COUNT_);
            return NULL;
        }
    }
    char why[300];
    ma_subject *s = ma_subject_new(kind, val->text, why, sizeof why);
    if (!s)
        fail(c, val, "%s", why);
    return s;
}

/* Operator op (at key k, operand node v, operand *val) on subject s: does
 * it apply, and does the operand fit (a secret's operand is replaced by its
 * fingerprint here). The source line of an error about a secret is not
 * shown: it holds the credential. */
static int subject_op(ctx *c, const ma_subject *s, const ma_ynode *k, const ma_ynode *v, ma_op op, json_t **val)
{
    char why[400];
    if (ma_subject_op_ok(s, op, why, sizeof why) < 0) {
        fail(c, k, "%s", why);
        c->err->hide_source = s->secret;
        return -1;
    }
    if (ma_subject_operand(s, op, val, why, sizeof why) < 0) {
        fail(c, v, "%s", why);
        c->err->hide_source = s->secret;
        return -1;
    }
    return 0;
}

/* The subject key of a check mapping (path or a subject word) in *subj, or
 * NULL; -1 after an error: two subjects, or a subject where only the body
 * can be seen. */
static int find_subject(ctx *c, const ma_ynode *n, const ma_ynode **subj)
{
    *subj = NULL;
    for (size_t i = 0; i < n->nkids; i += 2) {
        const ma_ynode *k = n->kids[i];
        ma_subject_kind kind;
        int is_path = strcmp(k->text, "path") == 0;
        if (!is_path && ma_subject_word(k->text, &kind) < 0)
            continue;
        if (*subj)
            return fail(c, k, "a check has one subject, and this one has %s and %s: write two checks "
                              "(a list, or and: [...])", (*subj)->text, k->text);
        if (!is_path && c->last_key)
            return fail(c, k, "lastRequest holds only the captured body, so %s cannot be checked here: use "
                              "requests: %s with each: or any: (the journal keeps headers, query, response, fault and auth)",
                        k->text, c->last_key);
        *subj = k;
    }
    return 0;
}

static ma_check *parse_check_(ctx *c, const ma_ynode *n, int need_path)
{
    if (n->type == MA_Y_SEQ)
        return parse_check_list(c, n, need_path, MA_CHECK_AND);
    if (n->type != MA_Y_MAP) {
        fail(c, n, "a check is a mapping such as {path: $.status, equals: ok}, not %s", ma_ytype_name(n));
        return NULL;
    }
    const ma_ynode *rk = key_node(n, "region");
    if (rk)
        return fail(c, rk, "region is not a check's key: the region is checked as {response: region, equals: N}, "
                           "and selected with the filter key (requests: {route: ..., region: N})"),
               NULL;
    if (check_keys(c, n, "a check", check_keys_allowed, NCHECK_KEYS, OPS_ALL) < 0)
        return NULL;
    const ma_ynode *subjkey = NULL;
    if (find_subject(c, n, &subjkey) < 0)
        return NULL;
    const ma_ynode *fv = subjkey && !strcmp(subjkey->text, "fault") ? ma_ymap_get(n, "fault") : NULL;
    if (fv && fv->type == MA_Y_SCALAR && (!strcmp(fv->text, "true") || !strcmp(fv->text, "false"))) {
        /* the filter key, written in a check */
        fail(c, fv, "in a check, fault takes a field (source, rule, spec, wire); fault: %s is a filter key "
                    "(requests: {route: ..., fault: %s}), or check {fault: wire, %s: null}",
             fv->text, fv->text, strcmp(fv->text, "true") ? "equals" : "notEquals");
        return NULL;
    }
    const ma_ynode *av = subjkey && !strcmp(subjkey->text, "auth") ? ma_ymap_get(n, "auth") : NULL;
    if (av && av->type == MA_Y_SCALAR && in_list(av->text, ma_auth_classes, MA_AUTH_NCLASSES)) {
        /* {auth: node_key}: the class written where its field goes (with
         * or without an operator: parse_subject says the same) */
        auth_class_as_field(c, av);
        return NULL;
    }
    const ma_ynode *pathnode = ma_ymap_get(n, "path");
    if (pathnode)
        subjkey = NULL; /* the body: parse_ops reads pathnode */
    const ma_ynode *andn = ma_ymap_get(n, "and"), *orn = ma_ymap_get(n, "or"), *notn = ma_ymap_get(n, "not");
    ma_check *g = ma_check_group(MA_CHECK_AND, n->mark);
    int nops = parse_ops(c, n, pathnode, subjkey, g, NULL, 0, NULL);
    if (nops < 0)
        goto fail;
    if (nops == 0 && (pathnode || subjkey)) {
        const ma_ynode *at = pathnode ? pathnode : ma_ymap_get(n, subjkey->text);
        fail(c, at, "%s needs an operator beside it, e.g. exists: true or equals: VALUE",
             pathnode ? "path" : subjkey->text);
        goto fail;
    }
    if (nops > 0 && !pathnode && !subjkey && need_path) {
        fail(c, n, "each check here needs a path (e.g. path: $.status)");
        goto fail;
    }
    const ma_ynode *groups[2] = {andn, orn};
    for (int i = 0; i < 2; i++) {
        if (!groups[i])
            continue;
        if (groups[i]->type != MA_Y_SEQ) {
            fail(c, groups[i], "%s takes a list of checks", i ? "or" : "and");
            goto fail;
        }
        ma_check *k = parse_check_list(c, groups[i], 0, i ? MA_CHECK_OR : MA_CHECK_AND);
        if (!k)
            goto fail;
        k->mark = groups[i]->mark;
        /* the mark of an and/or is its key, where a person looks */
        for (size_t j = 0; j < n->nkids; j += 2)
            if (n->kids[j + 1] == groups[i])
                k->mark = n->kids[j]->mark;
        ma_check_add(g, k);
    }
    if (notn) {
        ma_check *inner = parse_check(c, notn, 0);
        if (!inner)
            goto fail;
        ma_check *k = ma_check_group(MA_CHECK_NOT, notn->mark);
        for (size_t j = 0; j < n->nkids; j += 2)
            if (n->kids[j + 1] == notn)
                k->mark = n->kids[j]->mark;
        ma_check_add(k, inner);
        ma_check_add(g, k);
    }
    if (g->nkids == 0) {
        fail(c, n, "an empty check: give an operator (equals, subset, exists, ...) or and/or/not");
        goto fail;
    }
    return simplify(g);
fail:
    ma_check_free(g);
    return NULL;
}

/* A check mapping on a secret header (or on auth token) holds a
 * credential, on whichever of its lines an error points at: no error about
 * it shows its source. */
static ma_check *parse_check(ctx *c, const ma_ynode *n, int need_path)
{
    ma_check *k = parse_check_(c, n, need_path);
    const ma_ynode *h = n->type == MA_Y_MAP ? ma_ymap_get(n, "header") : NULL;
    const ma_ynode *a = n->type == MA_Y_MAP ? ma_ymap_get(n, "auth") : NULL;
    if (!k && ((h && h->type == MA_Y_SCALAR && ma_is_secret_header(h->text)) ||
               (a && a->type == MA_Y_SCALAR && !strcmp(a->text, "token"))))
        c->err->hide_source = 1;
    return k;
}


static int number_operands_ok(ctx *c, const ma_ynode *map)
{
    for (size_t i = 0; i < map->nkids; i += 2) {
        ma_op op;
        const ma_ynode *v = map->kids[i + 1];
        if (ma_op_by_name(map->kids[i]->text, &op) < 0)
            continue;
        int numeric = 0;
        for (size_t k = 0; k < NNUMBER_OPS; k++)
            numeric |= number_ops[k] == op;
        if (!numeric)
            continue; /* parse_ops says which operators apply */
        json_t *j = ma_yaml_to_json(v, c->err);
        if (!j)
            return -1;
        int ok = json_is_integer(j), huge = ma_number_is(j) && ma_number_is_integer(j);
        if (op == MA_OP_BETWEEN)
            ok = json_is_array(j) && json_array_size(j) == 2 && json_is_integer(json_array_get(j, 0)) &&
                 json_is_integer(json_array_get(j, 1));
        json_decref(j);
        if (!ok)
            return fail(c, v, "%s needs %s", map->kids[i]->text,
                        op == MA_OP_BETWEEN ? "[low, high], two whole numbers"
                        : huge              ? "a whole number of at most 64 bits"
                                            : "a whole number");
    }
    return 0;
}

/* count: N | {operator: N, ...}; what names the key (count, length) */
static ma_check *parse_count_as(ctx *c, const ma_ynode *n, const char *what)
{
    if (n->type == MA_Y_SCALAR) {
        json_t *j = ma_yaml_to_json(n, c->err);
        if (!j || !json_is_integer(j) || json_integer_value(j) < 0) {
            int huge = ma_number_is(j) && ma_number_is_integer(j);
            json_decref(j);
            if (huge)
                fail(c, n, "%s must be a whole number of at most 64 bits", what);
            else
                fail(c, n, "%s must be a whole number (0 or more) or a mapping such as {atLeast: 1}", what);
            return NULL;
        }
        char why[200];
        return ma_check_op(n->mark, NULL, MA_OP_EQUALS, j, why, sizeof why);
    }
    char a_what[32];
    snprintf(a_what, sizeof a_what, "a %s", what);
    if (want_map(c, n, what) < 0 || check_keys(c, n, what, NULL, 0, OPS_NUMBER) < 0 || number_operands_ok(c, n) < 0)
        return NULL;
    ma_check *g = ma_check_group(MA_CHECK_AND, n->mark);
    int r = parse_ops(c, n, NULL, NULL, g, number_ops, NNUMBER_OPS, a_what);
    if (r <= 0) {
        if (r == 0)
            fail(c, n, "%s needs an operator, e.g. atLeast: 1", what);
        ma_check_free(g);
        return NULL;
    }
    return simplify(g);
}

static ma_check *parse_count(ctx *c, const ma_ynode *n)
{
    return parse_count_as(c, n, "count");
}

static ma_check *default_count(ma_mark mark, long long atleast)
{
    char why[100];
    return ma_check_op(mark, NULL, MA_OP_AT_LEAST, json_integer(atleast), why, sizeof why);
}

/* ---- filters ---- */

static const char *const filter_keys[] = {"method", "path", "route", "status", "fault", "region"};
#define NFILTER_KEYS (sizeof filter_keys / sizeof filter_keys[0])
/* regions are 0..31: the server's MK_FAULT_MAX_REGION (src/core/fault.h) */
#define MAX_REGION 31

static int parse_filter_fields(ctx *c, const ma_ynode *map, ma_filter *f)
{
    f->mark = map->mark;
    const ma_ynode *m = ma_ymap_get(map, "method"), *p = ma_ymap_get(map, "path"), *r = ma_ymap_get(map, "route"),
                   *s = ma_ymap_get(map, "status");
    if (m) {
        if (!(f->method = read_string(c, m, "method")))
            return -1;
        for (char *q = f->method; *q; q++) {
            if (!isalpha((unsigned char)*q))
                return fail(c, m, "method must be a word such as GET or POST");
            *q = (char)toupper((unsigned char)*q);
        }
    }
    if (p) {
        if (!(f->path = read_string(c, p, "path")))
            return -1;
        if (f->path[0] != '/')
            return fail(c, p, "path must start with / (a glob: * within a segment, ** across)");
    }
    if (r) {
        if (!(f->route = read_string(c, r, "route")))
            return -1;
        if (!ma_is_route(f->route))
            return fail_unknown(c, r, "route", f->route, ma_route_names, MA_NROUTES);
    }
    if (s) {
        json_t *j = ma_yaml_to_json(s, c->err);
        int ok = j && json_is_integer(j) && json_integer_value(j) >= 100 && json_integer_value(j) <= 599;
        if (ok)
            f->status = (int)json_integer_value(j);
        json_decref(j);
        if (!ok)
            return fail(c, s, "status must be an HTTP status code (100 to 599)");
    }
    const ma_ynode *fa = ma_ymap_get(map, "fault"), *rg = ma_ymap_get(map, "region");
    if (fa) {
        json_t *j = fa->type == MA_Y_SCALAR ? ma_yaml_to_json(fa, c->err) : NULL;
        int ok = json_is_boolean(j);
        if (ok)
            f->fault = json_is_true(j) ? 1 : -1;
        json_decref(j);
        if (!ok)
            return fail(c, fa, "fault must be true (requests the server applied a fault to) or false (requests "
                               "without one)");
    }
    if (rg) {
        json_t *j = rg->type == MA_Y_SCALAR ? ma_yaml_to_json(rg, c->err) : NULL;
        int ok = json_is_integer(j) && json_integer_value(j) >= 0 && json_integer_value(j) <= MAX_REGION;
        if (ok) {
            f->has_region = 1;
            f->region = (int)json_integer_value(j);
        }
        json_decref(j);
        if (!ok)
            return fail(c, rg, "region must be a region's index, 0 to %d (the listener, as in X-Mockapi-Region)",
                        MAX_REGION);
    }
    return 0;
}

/* A filter: a route name, or a mapping of method/path/route/status. */
static int parse_filter(ctx *c, const ma_ynode *n, ma_filter *f, const char *what)
{
    memset(f, 0, sizeof *f);
    if (n->type == MA_Y_SCALAR) {
        ma_ynode fake = {0};
        fake.type = MA_Y_MAP;
        fake.mark = n->mark;
        ma_ynode key = {0};
        key.type = MA_Y_SCALAR;
        key.text = (char *)"route";
        key.len = 5;
        ma_ynode *kids[2] = {&key, (ma_ynode *)n};
        fake.kids = kids;
        fake.nkids = 2;
        return parse_filter_fields(c, &fake, f);
    }
    if (want_map(c, n, what) < 0 || check_keys(c, n, what, filter_keys, NFILTER_KEYS, 0) < 0)
        return -1;
    if (n->nkids == 0)
        return fail(c, n, "%s needs at least one of method, path, route, status, fault, region", what);
    return parse_filter_fields(c, n, f);
}

static void filter_free(ma_filter *f)
{
    free(f->method);
    free(f->path);
    free(f->route);
}

static void filter_describe(ma_buf *b, const ma_filter *f)
{
    int any = 0;
    if (f->method) {
        ma_buf_printf(b, "%s", f->method);
        any = 1;
    }
    if (f->path) {
        ma_buf_printf(b, "%s%s", any ? " " : "", f->path);
        any = 1;
    }
    if (f->route) {
        ma_buf_printf(b, "%s%s%s", any ? " " : "", f->path || f->method ? "route=" : "", f->route);
        any = 1;
    }
    if (f->status) {
        ma_buf_printf(b, "%sstatus=%d", any ? " " : "", f->status);
        any = 1;
    }
    if (f->fault) {
        ma_buf_printf(b, "%sfault=%s", any ? " " : "", f->fault > 0 ? "true" : "false");
        any = 1;
    }
    if (f->has_region)
        ma_buf_printf(b, "%sregion=%d", any ? " " : "", f->region);
}

/* ---- expectations ---- */

static void describe_ops(ma_buf *b, const ma_check *g)
{
    if (g->kind == MA_CHECK_OP) {
        char *v = ma_json_show(g->value);
        ma_buf_printf(b, "%s %s", ma_op_name(g->op), v);
        free(v);
        return;
    }
    for (size_t i = 0; i < g->nkids; i++) {
        if (i)
            ma_buf_puts(b, ", ");
        describe_ops(b, g->kids[i]);
    }
}

static const char *const common_keys[] = {"name", "within"};

static int keys_for(ctx *c, const ma_ynode *map, const char *what, const char *const *extra, size_t n, int ops)
{
    const char *all[16];
    size_t m = 0;
    all[m++] = common_keys[0];
    all[m++] = common_keys[1];
    for (size_t i = 0; i < n; i++)
        all[m++] = extra[i];
    return check_keys(c, map, what, all, m, ops);
}

static int parse_counter(ctx *c, const ma_ynode *n, ma_expectation *e)
{
    static const char *const keys[] = {"counter"};
    const ma_ynode *cn = ma_ymap_get(n, "counter");
    if (keys_for(c, n, "a counter expectation", keys, 1, OPS_NUMBER) < 0)
        return -1;
    if (!(e->counter = read_string(c, cn, "counter")))
        return -1;
    if (!in_list(e->counter, ma_counter_names, MA_NCOUNTERS))
        return fail_unknown(c, cn, "counter", e->counter, ma_counter_names, MA_NCOUNTERS);
    if (number_operands_ok(c, n) < 0)
        return -1;
    ma_check *g = ma_check_group(MA_CHECK_AND, n->mark);
    int r = parse_ops(c, n, NULL, NULL, g, number_ops, NNUMBER_OPS, "a counter");
    if (r <= 0) {
        ma_check_free(g);
        return r == 0 ? fail(c, cn, "counter %s needs an operator, e.g. equals: 1 or atLeast: 3", e->counter) : -1;
    }
    e->count = simplify(g);
    return 0;
}

static int parse_last(ctx *c, const ma_ynode *n, ma_expectation *e)
{
    static const char *const keys[] = {"lastRequest", "body", "json"};
    if (keys_for(c, n, "a lastRequest expectation", keys, 3, 0) < 0)
        return -1;
    const ma_ynode *kn = ma_ymap_get(n, "lastRequest");
    if (!(e->key = read_string(c, kn, "lastRequest")))
        return -1;
    if (!in_list(e->key, ma_capture_keys, MA_NKEYS))
        return fail_unknown(c, kn, "capture key", e->key, ma_capture_keys, MA_NKEYS);
    const ma_ynode *body = ma_ymap_get(n, "body"), *js = ma_ymap_get(n, "json");
    ma_check *g = ma_check_group(MA_CHECK_AND, n->mark);
    c->last_key = e->key; /* a capture is a body alone: subjects are errors */
    if (body) {
        ma_check *k = parse_check(c, body, 0);
        if (!k)
            goto fail;
        ma_check_add(g, k);
    }
    if (js) {
        if (js->type != MA_Y_SEQ && js->type != MA_Y_MAP) {
            fail(c, js, "json takes a list of checks such as - {path: $.status, equals: ok}");
            goto fail;
        }
        ma_check *k = parse_check(c, js, 1);
        if (!k)
            goto fail;
        ma_check_add(g, k);
    }
    c->last_key = NULL;
    if (g->nkids == 0) {
        ma_check_free(g);
        return 0;
    }
    e->body = simplify(g);
    return 0;
fail:
    c->last_key = NULL;
    ma_check_free(g);
    return -1;
}

/* The key node of key in map, or NULL. */
static const ma_ynode *key_node(const ma_ynode *map, const char *key)
{
    for (size_t i = 0; map && map->type == MA_Y_MAP && i < map->nkids; i += 2)
        if (strcmp(map->kids[i]->text, key) == 0)
            return map->kids[i];
    return NULL;
}

/* groupBy: {segment: N | header: NAME | query: NAME | auth: FIELD | path: JSONPATH} */
static int parse_groupby(ctx *c, const ma_ynode *key, const ma_ynode *n, ma_expectation *e)
{
    static const char *const gkeys[] = {"segment", "header", "query", "auth", "path"};
    static const char *const one_of = "segment: N, header: NAME, query: NAME, auth: FIELD or path: JSONPATH";
    if (n->type != MA_Y_MAP)
        return fail(c, n, "groupBy takes one of %s, e.g. groupBy: {segment: 3}", one_of);
    if (check_keys(c, n, "groupBy", gkeys, 5, 0) < 0)
        return -1;
    if (n->nkids == 0)
        return fail(c, n, "groupBy needs one of %s", one_of);
    if (n->nkids > 2)
        return fail(c, n->kids[2], "groupBy takes one key, and this one has %s and %s", n->kids[0]->text,
                    n->kids[2]->text);
    const ma_ynode *k = n->kids[0], *v = n->kids[1];
    if (strcmp(k->text, "segment") == 0) {
        json_t *j = want_scalar(c, v, "segment") < 0 ? NULL : ma_yaml_to_json(v, c->err);
        int ok = json_is_integer(j) && json_integer_value(j) >= -1000 && json_integer_value(j) <= 1000;
        long long seg = ok ? (long long)json_integer_value(j) : 0;
        json_decref(j);
        if (!ok)
            return fail(c, v, "segment needs a whole number: 3 is the path's third segment (1-based; -1 is the last)");
        if (seg == 0)
            return fail(c, v, "segment 0: segments count from 1 (/v1/nodes/n1/heartbeat: 3 is n1), or from the end "
                              "with -1 for the last");
        e->groupby = ma_groupby_segment(key->mark, (int)seg);
    } else if (strcmp(k->text, "path") == 0) {
        ma_path *p = parse_path(c, v);
        if (!p)
            return -1;
        if (ma_path_is_multi(p)) {
            ma_path_free(p);
            return fail(c, v, "groupBy path must select one value per request, and %s may select several "
                              "(no [*] or .*)", v->text);
        }
        e->groupby = ma_groupby_path(key->mark, p);
    } else {
        ma_subject *s = parse_subject(c, k, v);
        if (!s)
            return -1;
        e->groupby = ma_groupby_subject(key->mark, s);
    }
    return 0;
}

static int parse_requests(ctx *c, const ma_ynode *n, ma_expectation *e)
{
    static const char *const keys[] = {"requests", "count", "each", "any", "none", "inOrder", "groupBy", "groups"};
    if (keys_for(c, n, "a requests expectation", keys, 8, 0) < 0)
        return -1;
    if (parse_filter(c, ma_ymap_get(n, "requests"), &e->filter, "requests") < 0)
        return -1;
    const ma_ynode *cn = ma_ymap_get(n, "count"), *io = ma_ymap_get(n, "inOrder");
    if (cn) {
        if (!(e->count = parse_count(c, cn)))
            return -1;
    } else
        /* inOrder says itself when fewer requests than its checks matched */
        e->count = default_count(n->mark, io ? 0 : 1);
    const char *names[3] = {"each", "any", "none"};
    ma_check **slots[3] = {&e->each, &e->any, &e->none};
    for (int i = 0; i < 3; i++) {
        const ma_ynode *k = ma_ymap_get(n, names[i]);
        if (k && !(*slots[i] = parse_check(c, k, 0)))
            return -1;
    }
    if (io) {
        const ma_ynode *ik = key_node(n, "inOrder");
        if (io->type != MA_Y_SEQ || io->nkids == 0)
            return fail(c, io, "inOrder takes a list of checks, the first for the first matching request, the "
                               "second for the next, ... (e.g. - {response: status, equals: 503})");
        e->inorder_mark = ik->mark;
        e->inorder = ma_xcalloc(io->nkids, sizeof *e->inorder);
        e->inorder_marks = ma_xcalloc(io->nkids, sizeof *e->inorder_marks);
        for (size_t i = 0; i < io->nkids; i++) {
            e->inorder_marks[i] = io->kids[i]->mark;
            if (!(e->inorder[i] = parse_check(c, io->kids[i], 0)))
                return -1;
            e->ninorder = i + 1;
        }
    }
    const ma_ynode *gb = ma_ymap_get(n, "groupBy"), *gn = ma_ymap_get(n, "groups");
    if (gn && !gb)
        return fail(c, key_node(n, "groups"), "groups counts the groups of a groupBy, and there is none: add "
                                              "groupBy (e.g. groupBy: {segment: 3})");
    if (gb) {
        const ma_ynode *gk = key_node(n, "groupBy");
        if (parse_groupby(c, gk, gb, e) < 0)
            return -1;
        /* zero requests make zero groups: by default that fails, not passes */
        if (gn ? !(e->groups = parse_count_as(c, gn, "groups")) : !(e->groups = default_count(gk->mark, 1)))
            return -1;
    }
    return 0;
}

static int parse_order(ctx *c, const ma_ynode *n, ma_expectation *e)
{
    static const char *const keys[] = {"order"};
    if (keys_for(c, n, "an order expectation", keys, 1, 0) < 0)
        return -1;
    const ma_ynode *o = ma_ymap_get(n, "order");
    if (o->type != MA_Y_SEQ || o->nkids < 2)
        return fail(c, o, "order takes a list of at least two routes or filters, e.g. [register, heartbeat]");
    e->steps = ma_xcalloc(o->nkids, sizeof *e->steps);
    for (size_t i = 0; i < o->nkids; i++) {
        e->nsteps = i + 1;
        if (parse_filter(c, o->kids[i], &e->steps[i], "an order step") < 0)
            return -1;
    }
    return 0;
}

static int parse_interval(ctx *c, const ma_ynode *n, ma_expectation *e)
{
    static const char *const keys[] = {"interval"};
    static const char *const ikeys[] = {"method", "path",  "route", "status",   "fault",
                                        "region", "count", "every", "tolerance"};
    if (keys_for(c, n, "an interval expectation", keys, 1, 0) < 0)
        return -1;
    const ma_ynode *iv = ma_ymap_get(n, "interval");
    if (want_map(c, iv, "interval") < 0 || check_keys(c, iv, "interval", ikeys, 9, 0) < 0)
        return -1;
    if (parse_filter_fields(c, iv, &e->filter) < 0)
        return -1;
    if (!e->filter.method && !e->filter.path && !e->filter.route && !e->filter.status && !e->filter.fault &&
        !e->filter.has_region)
        return fail(c, iv, "interval needs route (or method/path/status/fault/region) to say which requests");
    const ma_ynode *every = ma_ymap_get(iv, "every"), *tol = ma_ymap_get(iv, "tolerance"),
                   *cn = ma_ymap_get(iv, "count");
    if (!every)
        return fail(c, iv, "interval needs every: (the expected gap, e.g. 1s)");
    if (read_duration(c, every, "every", &e->every_ns) < 0)
        return -1;
    e->every_mark = every->mark;
    for (size_t i = 0; i < iv->nkids; i += 2)
        if (iv->kids[i + 1] == every)
            e->every_mark = iv->kids[i]->mark; /* the key, as for an operator */
    if (e->every_ns <= 0)
        return fail(c, every, "every must be more than zero");
    if (tol) {
        if (read_duration(c, tol, "tolerance", &e->tolerance_ns) < 0)
            return -1;
    } else
        e->tolerance_ns = e->every_ns / 10;
    if (cn) {
        if (!(e->count = parse_count(c, cn)))
            return -1;
    } else
        e->count = default_count(iv->mark, 2);
    return 0;
}

static void make_name(ma_expectation *e)
{
    ma_buf b = {0};
    switch (e->kind) {
    case MA_EXP_COUNTER:
        ma_buf_printf(&b, "%s ", e->counter);
        describe_ops(&b, e->count);
        break;
    case MA_EXP_LAST:
        ma_buf_printf(&b, "last %s request", e->key);
        break;
    case MA_EXP_REQUESTS:
        ma_buf_puts(&b, "requests ");
        filter_describe(&b, &e->filter);
        if (e->groupby)
            ma_buf_printf(&b, " by %s", e->groupby->text);
        break;
    case MA_EXP_ORDER:
        ma_buf_puts(&b, "order ");
        for (size_t i = 0; i < e->nsteps; i++) {
            if (i)
                ma_buf_puts(&b, " < ");
            filter_describe(&b, &e->steps[i]);
        }
        break;
    case MA_EXP_INTERVAL:
        ma_buf_puts(&b, "interval ");
        filter_describe(&b, &e->filter);
        ma_buf_puts(&b, " every ");
        ma_format_duration(&b, e->every_ns);
        ma_buf_puts(&b, " +/- ");
        ma_format_duration(&b, e->tolerance_ns);
        break;
    }
    e->name = ma_buf_steal(&b);
}

static void expectation_free(ma_expectation *e)
{
    free(e->name);
    free(e->counter);
    free(e->key);
    ma_check_free(e->count);
    ma_check_free(e->body);
    ma_check_free(e->each);
    ma_check_free(e->any);
    ma_check_free(e->none);
    for (size_t i = 0; i < e->ninorder; i++)
        ma_check_free(e->inorder[i]);
    free(e->inorder);
    free(e->inorder_marks);
    ma_groupby_free(e->groupby);
    ma_check_free(e->groups);
    filter_free(&e->filter);
    for (size_t i = 0; i < e->nsteps; i++)
        filter_free(&e->steps[i]);
    free(e->steps);
}

static const char *const kind_keys[] = {"counter", "lastRequest", "requests", "order", "interval"};

static int parse_expectation(ctx *c, const ma_ynode *n, ma_expectation *e)
{
    memset(e, 0, sizeof *e);
    if (want_map(c, n, "an expectation") < 0)
        return -1;
    e->mark = n->mark;
    int kinds = 0;
    const ma_ynode *first = NULL;
    for (int i = 0; i < 5; i++) {
        const ma_ynode *k = ma_ymap_get(n, kind_keys[i]);
        if (!k)
            continue;
        if (kinds++) {
            return fail(c, k, "an expectation has exactly one of counter, lastRequest, requests, order, interval "
                              "(this one also has %s)", first->text);
        }
        e->kind = (ma_exp_kind)i;
        for (size_t j = 0; j < n->nkids; j += 2)
            if (n->kids[j + 1] == k)
                first = n->kids[j];
    }
    if (!kinds) {
        /* a misspelt kind gets its suggestion, anything else the list */
        for (size_t j = 0; j < n->nkids; j += 2) {
            const char *k = n->kids[j]->text;
            if (!in_list(k, common_keys, 2) && ma_suggest(k, kind_keys, 5))
                return fail_unknown(c, n->kids[j], "key", k, kind_keys, 5);
        }
        return fail(c, n, "an expectation needs one of counter, lastRequest, requests, order, interval");
    }
    for (int i = 0; i < 2 && e->kind != MA_EXP_REQUESTS; i++) {
        static const char *const gkeys[] = {"groupBy", "groups"};
        const ma_ynode *k = key_node(n, gkeys[i]);
        if (k)
            return fail(c, k, "%s applies to requests expectations only (e.g. - requests: heartbeat, "
                              "groupBy: {segment: 3}, count: {atLeast: 3})", k->text);
    }
    const ma_ynode *name = ma_ymap_get(n, "name"), *within = ma_ymap_get(n, "within");
    if (name && !(e->name = read_string(c, name, "name"))) /* an empty name reports as nothing */
        return -1;
    if (within && read_duration(c, within, "within", &e->within_ns) < 0)
        return -1;
    int r;
    switch (e->kind) {
    case MA_EXP_COUNTER:
        r = parse_counter(c, n, e);
        break;
    case MA_EXP_LAST:
        r = parse_last(c, n, e);
        break;
    case MA_EXP_REQUESTS:
        r = parse_requests(c, n, e);
        break;
    case MA_EXP_ORDER:
        r = parse_order(c, n, e);
        break;
    default:
        r = parse_interval(c, n, e);
        break;
    }
    if (r < 0)
        return -1;
    if (!e->name)
        make_name(e);
    return 0;
}

void ma_spec_free(ma_spec *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        expectation_free(&s->v[i]);
    free(s->v);
    free(s->server);
    free(s->session);
    free(s->text);
    free(s->file);
    free(s);
}

/* each: NULL stops at the first error (in err); otherwise every error is
 * handed to each, and an error inside one expectation does not stop the
 * next from being checked (the file still fails as a whole). */
static int spec_parse(const char *file, const char *text, size_t len, ma_spec **out, ma_error *err,
                      ma_error_fn each, void *arg)
{
    size_t nerr = 0;
    *out = NULL;
    ma_spec *s = ma_xcalloc(1, sizeof *s);
    s->file = ma_xstrdup(file);
    s->text = ma_xstrndup(text, len);
    s->len = len;
    ma_ynode *root = NULL;
    ctx c = {s->file, err, NULL, s->text, s->len};
    memset(err, 0, sizeof *err);
    if (ma_yaml_parse(s->file, s->text, s->len, &root, err) < 0)
        goto fail;
    const ma_ynode *list = root;
    if (!root) {
        fail(&c, NULL, "the file is empty: it needs expectations:");
        goto fail;
    }
    if (root->type == MA_Y_MAP) {
        static const char *const top[] = {"server", "session", "expectations"};
        if (check_keys(&c, root, "the top level", top, 3, 0) < 0)
            goto fail;
        const ma_ynode *srv = ma_ymap_get(root, "server");
        if (srv && !(s->server = read_string(&c, srv, "server")))
            goto fail;
        const ma_ynode *ses = ma_ymap_get(root, "session");
        if (ses && !(s->session = read_session(&c, ses)))
            goto fail;
        list = ma_ymap_get(root, "expectations");
        if (!list) {
            fail(&c, root, "no expectations: list");
            goto fail;
        }
    }
    if (list->type != MA_Y_SEQ) {
        fail(&c, list, "expectations must be a list (lines starting with -), not %s", ma_ytype_name(list));
        goto fail;
    }
    if (list->nkids == 0) {
        fail(&c, list, "the expectations list is empty");
        goto fail;
    }
    s->v = ma_xcalloc(list->nkids, sizeof *s->v);
    for (size_t i = 0; i < list->nkids; i++) {
        s->n = i + 1;
        if (parse_expectation(&c, list->kids[i], &s->v[i]) < 0) {
            if (!each)
                goto fail;
            err->mark.file = file;
            remember_source(err, text, len);
            each(err, arg);
            nerr++;
            memset(err, 0, sizeof *err);
        }
    }
    if (nerr) {
        ma_ynode_free(root);
        ma_spec_free(s);
        return -1;
    }
    ma_ynode_free(root);
    *out = s;
    return 0;
fail:
    /* the marks point into s, which is freed: re-point at the caller's name */
    err->mark.file = file;
    remember_source(err, text, len);
    if (each)
        each(err, arg);
    ma_ynode_free(root);
    ma_spec_free(s);
    return -1;
}

int ma_spec_parse(const char *file, const char *text, size_t len, ma_spec **out, ma_error *err)
{
    return spec_parse(file, text, len, out, err, NULL, NULL);
}

static int spec_load(const char *file, ma_spec **out, ma_error *err, ma_error_fn each, void *arg)
{
    memset(err, 0, sizeof *err);
    *out = NULL;
    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
    if (!f) {
        err->mark.file = file;
        snprintf(err->msg, sizeof err->msg, "cannot open: %s", strerror(errno));
        if (each)
            each(err, arg);
        return -1;
    }
    ma_buf b = {0};
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        ma_buf_add(&b, chunk, n);
        if (b.len > 64u << 20) {
            err->mark.file = file;
            snprintf(err->msg, sizeof err->msg, "larger than 64 MiB");
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        err->mark.file = file;
        snprintf(err->msg, sizeof err->msg, "read error");
        rc = -1;
    }
    if (f != stdin)
        fclose(f);
    if (rc == 0)
        rc = spec_parse(file, ma_buf_str(&b), b.len, out, err, each, arg);
    else if (each)
        each(err, arg);
    ma_buf_free(&b);
    return rc;
}

int ma_spec_load(const char *file, ma_spec **out, ma_error *err)
{
    return spec_load(file, out, err, NULL, NULL);
}

int ma_spec_load_each(const char *file, ma_spec **out, ma_error_fn each, void *arg)
{
    ma_error err;
    return spec_load(file, out, &err, each, arg);
}
