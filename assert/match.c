/* match.c: operators, and/or/not, JSON equality, subset and diff (see
 * match.h). Pure: no I/O, no globals that change. */
#include "match.h"

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subject.h"

const char *const ma_op_names[MA_OP_COUNT_] = {
    "equals",  "notEquals", "contains", "notContains", "startsWith", "endsWith",
    "greaterThan", "lessThan", "atLeast", "atMost", "between", "exists",
    "notExists", "in", "notIn", "matches", "notMatches", "subset",
};

const char *ma_op_name(ma_op op)
{
    return op < MA_OP_COUNT_ ? ma_op_names[op] : "?";
}

int ma_op_by_name(const char *name, ma_op *op)
{
    for (int i = 0; i < MA_OP_COUNT_; i++) {
        if (strcmp(ma_op_names[i], name) == 0) {
            *op = (ma_op)i;
            return 0;
        }
    }
    return -1;
}

/* ---- checks: construction ---- */

static int is_comparable(const json_t *v)
{
    return json_is_number(v) || json_is_string(v);
}

ma_check *ma_check_op(ma_mark mark, ma_path *path, ma_op op, json_t *value, char *why, size_t whylen)
{
    const char *bad = NULL;
    regex_t *re = NULL;
    switch (op) {
    case MA_OP_STARTS_WITH:
    case MA_OP_ENDS_WITH:
        if (!json_is_string(value))
            bad = "needs a string";
        break;
    case MA_OP_GREATER_THAN:
    case MA_OP_LESS_THAN:
    case MA_OP_AT_LEAST:
    case MA_OP_AT_MOST:
        if (!is_comparable(value))
            bad = "needs a number (or a string, compared byte by byte)";
        break;
    case MA_OP_BETWEEN: {
        json_t *lo = json_array_get(value, 0), *hi = json_array_get(value, 1);
        if (!json_is_array(value) || json_array_size(value) != 2 || !is_comparable(lo) || !is_comparable(hi) ||
            json_is_number(lo) != json_is_number(hi))
            bad = "needs a list of two numbers, [low, high] (both ends included)";
        break;
    }
    case MA_OP_EXISTS:
    case MA_OP_NOT_EXISTS:
        if (json_is_null(value)) {
            json_decref(value);
            value = json_true();
        } else if (!json_is_boolean(value))
            bad = "needs true or false";
        break;
    case MA_OP_IN:
    case MA_OP_NOT_IN:
        if (!json_is_array(value))
            bad = "needs a list of values";
        break;
    case MA_OP_MATCHES:
    case MA_OP_NOT_MATCHES: {
        if (!json_is_string(value)) {
            bad = "needs a regular expression (a string)";
            break;
        }
        re = ma_xmalloc(sizeof *re);
        int rc = regcomp(re, json_string_value(value), REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char msg[200];
            regerror(rc, re, msg, sizeof msg);
            free(re);
            snprintf(why, whylen, "%s: invalid regular expression: %s", ma_op_name(op), msg);
            ma_path_free(path);
            json_decref(value);
            return NULL;
        }
        break;
    }
    default:
        break;
    }
    if (bad) {
        snprintf(why, whylen, "%s %s", ma_op_name(op), bad);
        ma_path_free(path);
        json_decref(value);
        return NULL;
    }
    ma_check *c = ma_xcalloc(1, sizeof *c);
    c->kind = MA_CHECK_OP;
    c->mark = mark;
    c->path = path;
    c->op = op;
    c->value = value;
    c->re = re;
    return c;
}

ma_check *ma_check_group(ma_check_kind kind, ma_mark mark)
{
    ma_check *c = ma_xcalloc(1, sizeof *c);
    c->kind = kind;
    c->mark = mark;
    return c;
}

void ma_check_add(ma_check *group, ma_check *kid)
{
    group->kids = ma_xrealloc(group->kids, (group->nkids + 1) * sizeof *group->kids);
    group->kids[group->nkids++] = kid;
}

void ma_check_free(ma_check *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nkids; i++)
        ma_check_free(c->kids[i]);
    free(c->kids);
    ma_path_free(c->path);
    ma_subject_free(c->subject);
    json_decref(c->value);
    if (c->re) {
        regfree(c->re);
        free(c->re);
    }
    free(c);
}

/* ---- failures ---- */

void ma_failures_add(ma_failures *f, ma_mark mark, int depth, const char *path, const char *what,
                     const json_t *expected, const json_t *actual, int actual_shown)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        f->v = ma_xrealloc(f->v, f->cap * sizeof *f->v);
    }
    ma_failure *x = &f->v[f->n++];
    x->path = ma_xstrdup(path ? path : "");
    x->what = ma_xstrdup(what ? what : "");
    /* deep copies: the failure outlives the documents it came from */
    x->expected = expected ? json_deep_copy(expected) : NULL;
    x->actual = actual ? json_deep_copy(actual) : NULL;
    if ((expected && !x->expected) || (actual && !x->actual))
        ma_oom();
    x->actual_shown = actual_shown;
    x->mark = mark;
    x->depth = depth;
}

static void failures_append(ma_failures *to, ma_failures *from, int extra_depth)
{
    for (size_t i = 0; i < from->n; i++) {
        if (to->n == to->cap) {
            to->cap = to->cap ? to->cap * 2 : 8;
            to->v = ma_xrealloc(to->v, to->cap * sizeof *to->v);
        }
        to->v[to->n] = from->v[i];
        to->v[to->n].depth += extra_depth;
        to->n++;
    }
    free(from->v);
    from->v = NULL;
    from->n = from->cap = 0;
}

void ma_failures_free(ma_failures *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].path);
        free(f->v[i].what);
        json_decref(f->v[i].expected);
        json_decref(f->v[i].actual);
    }
    free(f->v);
    f->v = NULL;
    f->n = f->cap = 0;
}

/* ---- JSON equality, order, subset, diff ---- */

/* Compares two numbers or two strings: sets *cmp to <0, 0, >0. Returns -1
 * if they are not comparable (different kinds, NaN). */
static int compare(const json_t *a, const json_t *b, int *cmp)
{
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        *cmp = x < y ? -1 : x > y;
        return 0;
    }
    if (json_is_number(a) && json_is_number(b)) {
        double x = json_number_value(a), y = json_number_value(b);
        if (isnan(x) || isnan(y))
            return -1;
        *cmp = x < y ? -1 : x > y;
        return 0;
    }
    if (json_is_string(a) && json_is_string(b)) {
        size_t la = json_string_length(a), lb = json_string_length(b);
        int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
        *cmp = c ? c : (la < lb ? -1 : la > lb);
        return 0;
    }
    return -1;
}

int ma_json_equal(const json_t *a, const json_t *b)
{
    if (!a || !b)
        return a == b;
    if (json_is_number(a) && json_is_number(b)) {
        int c;
        return compare(a, b, &c) == 0 && c == 0;
    }
    if (json_typeof(a) != json_typeof(b))
        return 0;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!ma_json_equal(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)a, k, v) {
            if (!ma_json_equal(v, json_object_get(b, k)))
                return 0;
        }
        return 1;
    }
    default: /* true, false, null */
        return 1;
    }
}

int ma_json_subset(const json_t *want, const json_t *have)
{
    if (!want || !have)
        return 0;
    if (json_is_object(want)) {
        if (!json_is_object(have))
            return 0;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)want, k, v) {
            json_t *h = json_object_get(have, k);
            if (!h || !ma_json_subset(v, h))
                return 0;
        }
        return 1;
    }
    if (json_is_array(want)) {
        if (!json_is_array(have) || json_array_size(want) != json_array_size(have))
            return 0;
        for (size_t i = 0; i < json_array_size(want); i++)
            if (!ma_json_subset(json_array_get(want, i), json_array_get(have, i)))
                return 0;
        return 1;
    }
    return ma_json_equal(want, have);
}

typedef struct {
    ma_failures *out;
    ma_mark mark;
    int depth;
    size_t limit;
    size_t count;
    int subset;
} differ;

static void diff_add(differ *d, const char *path, const char *what, const json_t *want, const json_t *have,
                     int shown)
{
    if (d->count == d->limit)
        ma_failures_add(d->out, d->mark, d->depth, path, "... further differences not shown", NULL, NULL, 0);
    d->count++;
    if (d->count > d->limit)
        return;
    ma_failures_add(d->out, d->mark, d->depth, path, what, want, have, shown);
}

static void diff_rec(differ *d, const json_t *want, const json_t *have, const char *path)
{
    if (json_is_object(want) && json_is_object(have)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)want, k, v) {
            char *p = ma_xstrdup(path);
            ma_path_append_key(&p, k);
            json_t *h = json_object_get(have, k);
            if (!h)
                diff_add(d, p, "missing member", v, NULL, 1);
            else
                diff_rec(d, v, h, p);
            free(p);
        }
        if (!d->subset) {
            json_object_foreach((json_t *)have, k, v) {
                if (json_object_get(want, k))
                    continue;
                char *p = ma_xstrdup(path);
                ma_path_append_key(&p, k);
                diff_add(d, p, "unexpected member", NULL, v, 1);
                free(p);
            }
        }
        return;
    }
    if (json_is_array(want) && json_is_array(have)) {
        size_t nw = json_array_size(want), nh = json_array_size(have);
        if (nw != nh) {
            char what[96];
            snprintf(what, sizeof what, "array of %zu element%s, expected %zu", nh, nh == 1 ? "" : "s", nw);
            diff_add(d, path, what, want, have, 1);
            return;
        }
        for (size_t i = 0; i < nw; i++) {
            char *p = ma_xstrdup(path);
            ma_path_append_index(&p, i);
            diff_rec(d, json_array_get(want, i), json_array_get(have, i), p);
            free(p);
        }
        return;
    }
    if (!ma_json_equal(want, have))
        diff_add(d, path, "value differs", want, have, 1);
}

void ma_json_diff(const json_t *want, const json_t *have, const char *path, int subset, ma_mark mark,
                  int depth, size_t limit, ma_failures *out)
{
    differ d = {out, mark, depth, limit ? limit : 1, 0, subset};
    if (!have) {
        diff_add(&d, path, "missing", want, NULL, 1);
        return;
    }
    diff_rec(&d, want, have, path);
}

/* ---- evaluating one operator on one value ---- */

#define DIFF_LIMIT 20

static int str_contains(const json_t *hay, const json_t *needle)
{
    size_t lh = json_string_length(hay), ln = json_string_length(needle);
    const char *h = json_string_value(hay), *n = json_string_value(needle);
    if (ln == 0)
        return 1;
    for (size_t i = 0; i + ln <= lh; i++)
        if (memcmp(h + i, n, ln) == 0)
            return 1;
    return 0;
}

/* Returns 1 (holds), 0 (does not), or -1 (the value is of the wrong kind;
 * *kind names what was needed). */
static int op_holds(const ma_check *c, const json_t *v, const char **kind)
{
    const json_t *x = c->value;
    int cmp;
    switch (c->op) {
    case MA_OP_EQUALS:
        return ma_json_equal(x, v);
    case MA_OP_NOT_EQUALS:
        return !ma_json_equal(x, v);
    case MA_OP_SUBSET:
        return ma_json_subset(x, v);
    case MA_OP_CONTAINS:
    case MA_OP_NOT_CONTAINS: {
        int has;
        if (json_is_string(v) && json_is_string(x))
            has = str_contains(v, x);
        else if (json_is_array(v)) {
            has = 0;
            for (size_t i = 0; i < json_array_size(v) && !has; i++)
                has = ma_json_subset(x, json_array_get(v, i));
        } else if (json_is_object(v) && json_is_string(x))
            has = json_object_get(v, json_string_value(x)) != NULL;
        else {
            *kind = json_is_string(x) ? "a string, a list or an object" : "a list";
            return -1;
        }
        return c->op == MA_OP_CONTAINS ? has : !has;
    }
    case MA_OP_STARTS_WITH:
    case MA_OP_ENDS_WITH: {
        if (!json_is_string(v)) {
            *kind = "a string";
            return -1;
        }
        size_t lv = json_string_length(v), lx = json_string_length(x);
        if (lx > lv)
            return 0;
        const char *s = json_string_value(v) + (c->op == MA_OP_STARTS_WITH ? 0 : lv - lx);
        return memcmp(s, json_string_value(x), lx) == 0;
    }
    case MA_OP_GREATER_THAN:
    case MA_OP_LESS_THAN:
    case MA_OP_AT_LEAST:
    case MA_OP_AT_MOST:
        if (compare(v, x, &cmp) < 0) {
            *kind = json_is_string(x) ? "a string" : "a number";
            return -1;
        }
        switch (c->op) {
        case MA_OP_GREATER_THAN:
            return cmp > 0;
        case MA_OP_LESS_THAN:
            return cmp < 0;
        case MA_OP_AT_LEAST:
            return cmp >= 0;
        default:
            return cmp <= 0;
        }
    case MA_OP_BETWEEN: {
        int lo, hi;
        if (compare(v, json_array_get(x, 0), &lo) < 0 || compare(v, json_array_get(x, 1), &hi) < 0) {
            *kind = json_is_string(json_array_get(x, 0)) ? "a string" : "a number";
            return -1;
        }
        return lo >= 0 && hi <= 0;
    }
    case MA_OP_IN:
    case MA_OP_NOT_IN: {
        int found = 0;
        for (size_t i = 0; i < json_array_size(x) && !found; i++)
            found = ma_json_equal(json_array_get(x, i), v);
        return c->op == MA_OP_IN ? found : !found;
    }
    case MA_OP_MATCHES:
    case MA_OP_NOT_MATCHES: {
        if (!json_is_string(v)) {
            *kind = "a string";
            return -1;
        }
        int m = regexec(c->re, json_string_value(v), 0, NULL, 0) == 0;
        return c->op == MA_OP_MATCHES ? m : !m;
    }
    default:
        return 0;
    }
}

/* The values c applies to: its subject's in entry, else doc's at its path. */
static size_t select_values(const ma_check *c, json_t *doc, const json_t *entry, ma_hit **hits)
{
    if (c->subject) {
        *hits = NULL;
        return entry ? ma_subject_select(c->subject, entry, hits) : 0;
    }
    return ma_path_select(c->path, doc, hits);
}

static void free_values(const ma_check *c, ma_hit *hits, size_t n)
{
    if (c->subject)
        ma_subject_hits_free(hits, n);
    else
        ma_hits_free(hits, n);
}

static const char *place_text(const ma_check *c)
{
    return c->subject ? c->subject->text : ma_path_text(c->path);
}

static int eval_op(const ma_check *c, json_t *doc, const json_t *entry, ma_failures *out, int depth)
{
    ma_hit *hits = NULL;
    size_t n = select_values(c, doc, entry, &hits);
    const char *ptext = place_text(c);
    int ok = 1;
    int want_present = -1; /* exists / notExists */
    if (c->op == MA_OP_EXISTS)
        want_present = json_is_true(c->value);
    else if (c->op == MA_OP_NOT_EXISTS)
        want_present = !json_is_true(c->value);
    if (want_present == 1) {
        ok = n > 0;
        if (!ok && out)
            ma_failures_add(out, c->mark, depth, ptext, c->op == MA_OP_EXISTS ? "exists" : "notExists: false", NULL,
                            NULL, 1);
    } else if (want_present == 0) {
        ok = n == 0;
        for (size_t i = 0; i < n && out; i++)
            ma_failures_add(out, c->mark, depth, hits[i].path, c->op == MA_OP_EXISTS ? "exists: false" : "notExists",
                            NULL, hits[i].value, 1);
    } else if (n == 0) {
        ok = 0;
        if (out)
            ma_failures_add(out, c->mark, depth, ptext, ma_op_name(c->op), c->value, NULL, 1);
    } else {
        for (size_t i = 0; i < n; i++) {
            const char *kind = NULL;
            int r = op_holds(c, hits[i].value, &kind);
            if (r == 1)
                continue;
            ok = 0;
            if (!out)
                break;
            if (r < 0) {
                char *what = ma_xasprintf("%s needs %s", ma_op_name(c->op), kind);
                ma_failures_add(out, c->mark, depth, hits[i].path, what, c->value, hits[i].value, 1);
                free(what);
            } else if ((c->op == MA_OP_EQUALS || c->op == MA_OP_SUBSET) &&
                       ((json_is_object(c->value) && json_is_object(hits[i].value)) ||
                        (json_is_array(c->value) && json_is_array(hits[i].value)))) {
                /* containers: name each place that differs */
                ma_json_diff(c->value, hits[i].value, hits[i].path, c->op == MA_OP_SUBSET, c->mark, depth,
                             DIFF_LIMIT, out);
            } else {
                ma_failures_add(out, c->mark, depth, hits[i].path, ma_op_name(c->op), c->value, hits[i].value, 1);
            }
        }
    }
    free_values(c, hits, n);
    return ok;
}

static int eval_rec(const ma_check *c, json_t *doc, const json_t *entry, ma_failures *out, int depth)
{
    switch (c->kind) {
    case MA_CHECK_OP:
        return eval_op(c, doc, entry, out, depth);
    case MA_CHECK_AND: {
        int ok = 1;
        for (size_t i = 0; i < c->nkids; i++) {
            if (!eval_rec(c->kids[i], doc, entry, out, depth)) {
                ok = 0;
                if (!out)
                    break;
            }
        }
        return ok;
    }
    case MA_CHECK_OR: {
        ma_failures why = {0};
        for (size_t i = 0; i < c->nkids; i++) {
            if (eval_rec(c->kids[i], doc, entry, out ? &why : NULL, 0)) {
                ma_failures_free(&why);
                return 1;
            }
        }
        if (out) {
            char *what = ma_xasprintf("or: none of the %zu alternatives held", c->nkids);
            ma_failures_add(out, c->mark, depth, "", what, NULL, NULL, 0);
            free(what);
            failures_append(out, &why, depth + 1);
        }
        return 0;
    }
    case MA_CHECK_NOT: {
        const ma_check *k = c->nkids ? c->kids[0] : NULL;
        if (!k || !eval_rec(k, doc, entry, NULL, 0))
            return 1;
        if (out) {
            if (k->kind == MA_CHECK_OP) {
                ma_hit *hits = NULL;
                size_t n = select_values(k, doc, entry, &hits);
                char *what = ma_xasprintf("not %s (it held)", ma_op_name(k->op));
                int shows_operand = k->op != MA_OP_EXISTS && k->op != MA_OP_NOT_EXISTS;
                ma_failures_add(out, c->mark, depth, n ? hits[0].path : place_text(k), what,
                                shows_operand ? k->value : NULL, n ? hits[0].value : NULL, 1);
                free(what);
                free_values(k, hits, n);
            } else {
                ma_failures_add(out, c->mark, depth, "", "not: the negated checks all held", NULL, NULL, 0);
            }
        }
        return 0;
    }
    }
    return 0;
}

int ma_check_eval(const ma_check *c, json_t *doc, ma_failures *out)
{
    return eval_rec(c, doc, NULL, out, 0);
}

int ma_check_eval_entry(const ma_check *c, json_t *doc, const json_t *entry, ma_failures *out)
{
    return eval_rec(c, doc, entry, out, 0);
}

/* ---- bodies and display ---- */

json_t *ma_json_from_body(const char *body, size_t len)
{
    json_error_t err;
    json_t *v = json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!v && strstr(err.text, "too big"))
        v = json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &err);
    if (v)
        return v;
    return json_stringn(body, len); /* NULL if not UTF-8 */
}

char *ma_json_show(const json_t *v)
{
    if (!v)
        return ma_xstrdup("(missing)");
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    if (!s)
        ma_oom();
    /* jansson's allocator is malloc by default: hand over a plain copy */
    char *r = ma_xstrdup(s);
    free(s);
    return r;
}
