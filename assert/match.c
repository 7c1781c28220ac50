/* match.c: operators, and/or/not, JSON equality, subset and diff (see
 * match.h). Pure: no I/O, no globals that change. */
#include "match.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subject.h"
#include "number.h"

const char *const ma_op_names[MA_OP_COUNT_] = {
    "equals",  "notEquals", "contains", "notContains", "startsWith", "endsWith",
    "greaterThan", "lessThan", "atLeast", "atMost", "between", "exists",
    "notExists", "in", "notIn", "matches", "notMatches", "subset", "length", "type",
};

const char *const ma_type_names[MA_NTYPES] = {"null", "boolean", "integer", "number", "string", "array", "object"};

const char *ma_type_of(const json_t *v)
{
    if (!v)
        return NULL;
    if (ma_number_is(v))
        return ma_number_is_integer(v) ? "integer" : "number";
    switch (json_typeof(v)) {
    case JSON_NULL:
        return "null";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_STRING:
        return "string";
    case JSON_ARRAY:
        return "array";
    default:
        return "object";
    }
}

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

static int compare(const json_t *a, const json_t *b, int *cmp);

/* ---- checks: construction ---- */

static int is_comparable(const json_t *v)
{
    return ma_is_number(v) || json_is_string(v);
}

/* The operators of a count condition, which length takes too. */
static const ma_op count_ops[] = {MA_OP_EQUALS,  MA_OP_NOT_EQUALS, MA_OP_GREATER_THAN, MA_OP_LESS_THAN,
                                  MA_OP_AT_LEAST, MA_OP_AT_MOST,    MA_OP_BETWEEN};

/* length's operand as a count check (mark: the length's), or NULL with why */
static ma_check *length_count(ma_mark mark, const json_t *value, char *why, size_t whylen)
{
    if (json_is_integer(value) && json_integer_value(value) >= 0)
        return ma_check_op(mark, NULL, MA_OP_EQUALS, json_incref((json_t *)value), why, whylen);
    if (!ma_is_object(value) || json_object_size(value) == 0) {
        snprintf(why, whylen, "length needs a whole number (0 or more) or a mapping such as {atLeast: 1}");
        return NULL;
    }
    ma_check *g = ma_check_group(MA_CHECK_AND, mark);
    const char *name;
    json_t *x;
    json_object_foreach((json_t *)value, name, x) {
        ma_op op;
        int ok = ma_op_by_name(name, &op) == 0, known = 0;
        for (size_t i = 0; ok && i < sizeof count_ops / sizeof count_ops[0]; i++)
            known |= count_ops[i] == op;
        if (!known) {
            snprintf(why, whylen, "length: %s is not a count operator (equals, notEquals, greaterThan, lessThan, "
                     "atLeast, atMost, between)", name);
            ma_check_free(g);
            return NULL;
        }
        int whole = op == MA_OP_BETWEEN ? json_is_array(x) && json_array_size(x) == 2 &&
                                              json_is_integer(json_array_get(x, 0)) &&
                                              json_is_integer(json_array_get(x, 1))
                                        : json_is_integer(x);
        ma_check *k = whole ? ma_check_op(mark, NULL, op, json_incref(x), why, whylen) : NULL;
        if (!k) {
            if (!whole)
                snprintf(why, whylen, "length: %s needs %s", name,
                         op == MA_OP_BETWEEN ? "[low, high], two whole numbers" : "a whole number");
            ma_check_free(g);
            return NULL;
        }
        ma_check_add(g, k);
    }
    return g;
}

/* A name in type's operand: a string, or null (YAML's plain `null` is
 * read as the value null, and means the type null). NULL if neither. */
static const char *type_name_in(const json_t *x)
{
    return json_is_null(x) ? "null" : json_string_value(x);
}

/* type's operand: a type name or a non-empty list of them */
static const char *type_operand_bad(const json_t *value, char *why, size_t whylen)
{
    size_t n = json_is_array(value) ? json_array_size(value) : 1;
    if (n == 0 || (!json_is_array(value) && !type_name_in(value)))
        return "needs a type name (null, boolean, integer, number, string, array, object) or a list of them";
    for (size_t i = 0; i < n; i++) {
        const json_t *x = json_is_array(value) ? json_array_get(value, i) : value;
        const char *name = type_name_in(x);
        if (!name)
            return "needs a type name (null, boolean, integer, number, string, array, object) or a list of them";
        int known = 0;
        for (int t = 0; t < MA_NTYPES; t++)
            known |= strcmp(name, ma_type_names[t]) == 0;
        if (!known) {
            const char *s = ma_suggest(name, ma_type_names, MA_NTYPES);
            snprintf(why, whylen, "type: unknown type \"%s\"%s%s%s", name, s ? " (did you mean " : "",
                     s ? s : "", s ? "?)" : " (expected one of: null, boolean, integer, number, string, array, object)");
            return why;
        }
    }
    return NULL;
}

static ma_check *new_op(ma_mark mark, ma_path *path, ma_op op, json_t *value)
{
    ma_check *c = ma_xcalloc(1, sizeof *c);
    c->kind = MA_CHECK_OP;
    c->mark = mark;
    c->path = path;
    c->op = op;
    c->value = value;
    return c;
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
        int cmp = 0;
        if (!json_is_array(value) || json_array_size(value) != 2 || !is_comparable(lo) || !is_comparable(hi) ||
            ma_is_number(lo) != ma_is_number(hi))
            bad = "needs a list of two numbers, [low, high] (both ends included)";
        else if (compare(lo, hi, &cmp) == 0 && cmp > 0)
            /* nothing is between them: it could never hold, and under
             * not: or none: it would always pass */
            bad = "needs [low, high] with low first: nothing is between these two";
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
        else if (json_array_size(value) == 0) /* in: [] never holds, notIn: [] always */
            bad = "needs a list of at least one value";
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
    case MA_OP_LENGTH: {
        ma_check *count = length_count(mark, value, why, whylen);
        if (!count) {
            ma_path_free(path);
            json_decref(value);
            return NULL;
        }
        return ma_check_length(mark, path, value, count);
    }
    case MA_OP_TYPE:
        bad = type_operand_bad(value, why, whylen);
        if (bad == why) { /* an unknown name: why says it all */
            ma_path_free(path);
            json_decref(value);
            return NULL;
        }
        if (!bad && json_is_null(value)) { /* shown as the name it is */
            json_decref(value);
            if (!(value = json_string("null")))
                ma_oom();
        }
        for (size_t i = 0; !bad && i < json_array_size(value); i++)
            if (json_is_null(json_array_get(value, i)) && json_array_set_new(value, i, json_string("null")))
                ma_oom();
        break;
    default:
        break;
    }
    if (bad) {
        snprintf(why, whylen, "%s %s", ma_op_name(op), bad);
        ma_path_free(path);
        json_decref(value);
        return NULL;
    }
    ma_check *c = new_op(mark, path, op, value);
    c->re = re;
    return c;
}

ma_check *ma_check_length(ma_mark mark, ma_path *path, json_t *value, ma_check *count)
{
    ma_check *c = new_op(mark, path, MA_OP_LENGTH, value);
    ma_check_add(c, count);
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

/* Compares two numbers (exactly: number.h) or two strings: sets *cmp to
 * <0, 0, >0. Returns -1 if they are not comparable (different kinds). */
static int compare(const json_t *a, const json_t *b, int *cmp)
{
    if (ma_number_compare(a, b, cmp) == 0)
        return 0;
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
    if (ma_is_number(a) && ma_is_number(b)) {
        int c;
        return compare(a, b, &c) == 0 && c == 0;
    }
    if (json_typeof(a) != json_typeof(b) || ma_number_is(a) || ma_number_is(b))
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
    if (ma_is_object(want)) {
        if (!ma_is_object(have))
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
    if (ma_is_object(want) && ma_is_object(have)) {
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

/* The length length counts: elements, members, or Unicode code points
 * (jansson strings are UTF-8: every byte but a continuation byte starts
 * one). -1 for other kinds. */
static long long length_of(const json_t *v)
{
    if (json_is_array(v))
        return (long long)json_array_size(v);
    if (ma_is_object(v))
        return (long long)json_object_size(v);
    if (!json_is_string(v))
        return -1;
    const unsigned char *p = (const unsigned char *)json_string_value(v);
    long long n = 0;
    for (size_t i = 0; i < json_string_length(v); i++)
        n += (p[i] & 0xC0) != 0x80;
    return n;
}

static json_t *length_json(const json_t *v)
{
    json_t *j = json_integer(length_of(v));
    if (!j)
        ma_oom();
    return j;
}

static int type_holds(const json_t *want, const json_t *v)
{
    const char *t = ma_type_of(v);
    size_t n = json_is_array(want) ? json_array_size(want) : 1;
    for (size_t i = 0; i < n; i++) {
        const char *w = type_name_in(json_is_array(want) ? json_array_get(want, i) : want);
        if (w && (strcmp(w, t) == 0 || (strcmp(w, "number") == 0 && strcmp(t, "integer") == 0)))
            return 1;
    }
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
        } else if (ma_is_object(v) && json_is_string(x))
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
        /* REG_STARTEND: the whole string, a NUL (\u0000) included; plain
         * regexec would stop at it, so "^abc$" matched "abc\u0000evil" */
        regmatch_t span = {0, (regoff_t)json_string_length(v)};
        int m = regexec(c->re, json_string_value(v), 1, &span, REG_STARTEND) == 0;
        return c->op == MA_OP_MATCHES ? m : !m;
    }
    case MA_OP_LENGTH: {
        if (length_of(v) < 0) {
            *kind = "a string, a list or an object";
            return -1;
        }
        json_t *n = length_json(v);
        int ok = ma_check_eval(c->kids[0], n, NULL);
        json_decref(n);
        return ok;
    }
    case MA_OP_TYPE:
        return type_holds(x, v);
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

/* The failures of a length or type check that did not hold on v (at path):
 * length reports the length against each operator that failed (at that
 * operator's mark when the operand is a mapping); type names the type. */
static void length_type_failures(const ma_check *c, const ma_hit *h, ma_failures *out, int depth)
{
    if (c->op == MA_OP_TYPE) {
        static const char *const phrase[MA_NTYPES] = {"null",     "a boolean", "an integer", "a number",
                                                      "a string", "an array",  "an object"};
        const char *t = ma_type_of(h->value), *it = t;
        for (int k = 0; k < MA_NTYPES; k++)
            if (strcmp(t, ma_type_names[k]) == 0)
                it = phrase[k];
        char *what = ma_xasprintf("type (it is %s)", it);
        ma_failures_add(out, c->mark, depth, h->path, what, c->value, h->value, 1);
        free(what);
        return;
    }
    ma_failures why = {0};
    json_t *n = length_json(h->value);
    ma_check_eval(c->kids[0], n, &why);
    for (size_t i = 0; i < why.n; i++) {
        int plain = json_is_integer(c->value); /* length: N */
        char *what = plain ? ma_xstrdup("length") : ma_xasprintf("length %s", why.v[i].what);
        ma_failures_add(out, plain ? c->mark : why.v[i].mark, depth, h->path, what, why.v[i].expected, n, 1);
        free(what);
    }
    ma_failures_free(&why);
    json_decref(n);
}

static ma_truth eval_op(const ma_check *c, json_t *doc, const json_t *entry, ma_failures *out, int depth)
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
        ok = MA_UNKNOWN; /* nothing to judge: not false either */
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
            } else if (c->op == MA_OP_LENGTH || c->op == MA_OP_TYPE) {
                length_type_failures(c, &hits[i], out, depth);
            } else if ((c->op == MA_OP_EQUALS || c->op == MA_OP_SUBSET) &&
                       ((ma_is_object(c->value) && ma_is_object(hits[i].value)) ||
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
    return ok == MA_UNKNOWN ? MA_UNKNOWN : ok ? MA_TRUE : MA_FALSE;
}

static ma_truth eval_rec(const ma_check *c, json_t *doc, const json_t *entry, ma_failures *out, int depth)
{
    switch (c->kind) {
    case MA_CHECK_OP:
        return eval_op(c, doc, entry, out, depth);
    case MA_CHECK_AND: {
        ma_truth t = MA_TRUE;
        for (size_t i = 0; i < c->nkids; i++) {
            ma_truth k = eval_rec(c->kids[i], doc, entry, out, depth);
            if (k == MA_FALSE)
                t = MA_FALSE;
            else if (k == MA_UNKNOWN && t == MA_TRUE)
                t = MA_UNKNOWN;
            if (t == MA_FALSE && !out)
                break;
        }
        return t;
    }
    case MA_CHECK_OR: {
        ma_failures why = {0};
        ma_truth t = MA_FALSE;
        for (size_t i = 0; i < c->nkids; i++) {
            ma_truth k = eval_rec(c->kids[i], doc, entry, out ? &why : NULL, 0);
            if (k == MA_TRUE) {
                ma_failures_free(&why);
                return MA_TRUE;
            }
            if (k == MA_UNKNOWN)
                t = MA_UNKNOWN;
        }
        if (out) {
            char *what = ma_xasprintf("or: none of the %zu alternatives held", c->nkids);
            ma_failures_add(out, c->mark, depth, "", what, NULL, NULL, 0);
            free(what);
            failures_append(out, &why, depth + 1);
        }
        return t;
    }
    case MA_CHECK_NOT: {
        const ma_check *k = c->nkids ? c->kids[0] : NULL;
        ma_truth kt = k ? eval_rec(k, doc, entry, NULL, 0) : MA_FALSE;
        if (kt == MA_FALSE)
            return MA_TRUE;
        if (kt == MA_UNKNOWN) {
            if (out) {
                ma_failures why = {0};
                eval_rec(k, doc, entry, &why, 0);
                ma_failures_add(out, c->mark, depth, "", "not: cannot tell, a path selects nothing", NULL, NULL, 0);
                failures_append(out, &why, depth + 1);
            }
            return MA_UNKNOWN;
        }
        if (out) {
            if (k->kind == MA_CHECK_OP) {
                ma_hit *hits = NULL;
                size_t n = select_values(k, doc, entry, &hits);
                char *what = ma_xasprintf("not %s (it held)", ma_op_name(k->op));
                int shows_operand = k->op != MA_OP_EXISTS && k->op != MA_OP_NOT_EXISTS;
                /* a length that held shows the length, not the value */
                json_t *len = n && k->op == MA_OP_LENGTH ? length_json(hits[0].value) : NULL;
                ma_failures_add(out, c->mark, depth, n ? hits[0].path : place_text(k), what,
                                shows_operand ? k->value : NULL, len ? len : n ? hits[0].value : NULL, 1);
                json_decref(len);
                free(what);
                free_values(k, hits, n);
            } else {
                ma_failures_add(out, c->mark, depth, "", "not: the negated checks all held", NULL, NULL, 0);
            }
        }
        return MA_FALSE;
    }
    }
    return MA_FALSE;
}

int ma_check_eval(const ma_check *c, json_t *doc, ma_failures *out)
{
    return eval_rec(c, doc, NULL, out, 0) == MA_TRUE;
}

int ma_check_eval_entry(const ma_check *c, json_t *doc, const json_t *entry, ma_failures *out)
{
    return eval_rec(c, doc, entry, out, 0) == MA_TRUE;
}

ma_truth ma_check_truth(const ma_check *c, json_t *doc, const json_t *entry, ma_failures *out)
{
    return eval_rec(c, doc, entry, out, 0);
}

int ma_check_reads_entry(const ma_check *c)
{
    int r = MA_READS_BODY;
    if (c->subject)
        r = ma_subject_kept(c->subject) ? MA_READS_KEPT : MA_READS_WHOLE;
    for (size_t i = 0; i < c->nkids && r != MA_READS_WHOLE; i++) {
        int k = ma_check_reads_entry(c->kids[i]);
        if (k > r)
            r = k;
    }
    return r;
}

int ma_check_reads_body(const ma_check *c)
{
    if (c->kind == MA_CHECK_OP)
        return !c->subject; /* length's own count check is about the length, not the body */
    for (size_t i = 0; i < c->nkids; i++)
        if (ma_check_reads_body(c->kids[i]))
            return 1;
    return 0;
}

/* ---- bodies and display ---- */

json_t *ma_json_from_body(const char *body, size_t len)
{
    json_error_t err;
    json_t *v = json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    /* jansson refuses a body for a number it cannot hold (1e400, integers
     * beyond 64 bits) and reads a few it can hold only roughly (1e-400 as
     * 0.0, reals from 2^53 up rounded): such a body is read again by the
     * span walker, which keeps those numbers' text (number.h). Rare, so
     * the usual body costs one json_loadb and one look at its reals. */
    if ((v && ma_json_may_be_inexact(v)) || (!v && json_error_code(&err) == json_error_numeric_overflow)) {
        json_t *exact = ma_json_load_exact(body, len, 0);
        if (exact) {
            json_decref(v);
            return exact;
        }
    }
    if (v)
        return v;
    return json_stringn(body, len); /* NULL if not UTF-8 */
}

char *ma_json_show(const json_t *v)
{
    if (!v)
        return ma_xstrdup("(missing)");
    char *s = ma_number_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    if (!s)
        ma_oom();
    /* jansson's allocator is malloc by default: hand over a plain copy */
    char *r = ma_xstrdup(s);
    free(s);
    return r;
}
