/* match.h: the pure matcher of mockassert. A check (an operator applied to
 * the values at a JSON path, or an and / or / not of checks) is evaluated
 * against a JSON document; every way it fails is reported as a failure with
 * the concrete JSON path that differs, what was expected and what was
 * there. No I/O; jansson values; POSIX regular expressions.
 *
 * Numbers compare by value, exactly (1 equals 1.0; numbers jansson cannot
 * hold are kept as their text and compared as decimals: number.h); objects
 * compare ignoring member order. */
#ifndef MA_MATCH_H
#define MA_MATCH_H

#include <jansson.h>
#include <stddef.h>

#include "jpath.h"
#include "util.h"

typedef enum {
    MA_OP_EQUALS,
    MA_OP_NOT_EQUALS,
    MA_OP_CONTAINS,
    MA_OP_NOT_CONTAINS,
    MA_OP_STARTS_WITH,
    MA_OP_ENDS_WITH,
    MA_OP_GREATER_THAN,
    MA_OP_LESS_THAN,
    MA_OP_AT_LEAST,
    MA_OP_AT_MOST,
    MA_OP_BETWEEN,
    MA_OP_EXISTS,
    MA_OP_NOT_EXISTS,
    MA_OP_IN,
    MA_OP_NOT_IN,
    MA_OP_MATCHES,
    MA_OP_NOT_MATCHES,
    MA_OP_SUBSET,
    MA_OP_LENGTH,
    MA_OP_TYPE,
    MA_OP_COUNT_
} ma_op;

/* The operator's name as written in YAML ("atLeast"), and back. */
const char *ma_op_name(ma_op op);
int ma_op_by_name(const char *name, ma_op *op); /* 0, or -1 if unknown */
/* Every operator name, for "did you mean" (MA_OP_COUNT_ entries). */
extern const char *const ma_op_names[MA_OP_COUNT_];

/* The names the type operator takes ("number" includes "integer"). */
#define MA_NTYPES 7
extern const char *const ma_type_names[MA_NTYPES];
/* The type name of a value (never "number" for an integer); NULL for NULL. */
const char *ma_type_of(const json_t *v);

typedef enum { MA_CHECK_OP, MA_CHECK_AND, MA_CHECK_OR, MA_CHECK_NOT } ma_check_kind;

struct ma_subject; /* subject.h */

typedef struct ma_check {
    ma_check_kind kind;
    ma_mark mark;            /* where the check is written */
    ma_path *path;           /* OP: the values it applies to; NULL is $ */
    struct ma_subject *subject; /* OP: instead of path, a request header, query parameter or
                                 * response field of the journal entry (owned; subject.h) */
    ma_op op;                /* OP */
    json_t *value;           /* OP: the operand (owned) */
    void *re;                /* OP matches/notMatches: compiled regex_t (owned) */
    struct ma_check **kids;  /* AND/OR: the checks; NOT: one; OP length: the
                                check on the length (one, as count: takes) */
    size_t nkids;
} ma_check;

/* A new OP check on path (taken; NULL = $) with operand value (taken).
 * Returns NULL with why filled when the operand does not fit the operator
 * (e.g. between needs [low, high], matches a valid regular expression,
 * length a whole number or a mapping of count operators, type a type name
 * or a list of them). */
ma_check *ma_check_op(ma_mark mark, ma_path *path, ma_op op, json_t *value, char *why, size_t whylen);
/* A length check whose condition was built by the caller (spec.c, with
 * the marks of each operator): count (taken) is a check on a whole number
 * at $, as count: takes; value (taken) is the operand as written, shown
 * in failures. */
ma_check *ma_check_length(ma_mark mark, ma_path *path, json_t *value, ma_check *count);
ma_check *ma_check_group(ma_check_kind kind, ma_mark mark);
void ma_check_add(ma_check *group, ma_check *kid); /* takes kid */
void ma_check_free(ma_check *c);

/* One reason a check failed. */
typedef struct {
    char *path;       /* the concrete JSON path that differs (owned) */
    char *what;       /* what was wrong, e.g. "equals", "missing member" (owned) */
    json_t *expected; /* owned, or NULL when there is nothing to show */
    json_t *actual;   /* owned, or NULL when the value is absent */
    int actual_shown; /* 1 if actual (or its absence) is worth printing */
    ma_mark mark;     /* the check that failed */
    int depth;        /* nesting under or/not explanations (0 = top) */
} ma_failure;

typedef struct {
    ma_failure *v;
    size_t n;
    size_t cap;
} ma_failures;

void ma_failures_add(ma_failures *f, ma_mark mark, int depth, const char *path, const char *what,
                     const json_t *expected, const json_t *actual, int actual_shown);
void ma_failures_free(ma_failures *f);

/* Evaluates c against doc (doc NULL: there is no document, every path is
 * missing). Returns 1 if it holds, 0 if not; when out is non-NULL the
 * failures are appended to it. */
int ma_check_eval(const ma_check *c, json_t *doc, ma_failures *out);
/* The same for a journal entry (its object from GET /test/requests): doc
 * is its body, entry what checks with a subject read. With entry NULL a
 * subject selects nothing. */
int ma_check_eval_entry(const ma_check *c, json_t *doc, const json_t *entry, ma_failures *out);

/* A check is true, false, or unknown: an operator (other than exists /
 * notExists) on a path that selects nothing cannot be judged, and stays
 * unknown through not (and/or follow Kleene's logic: a false in an and, a
 * true in an or decides). ma_check_eval holds only for true; a none: is
 * broken by an entry that is true or unknown, so a misspelt path cannot
 * make a not: or a none: pass. */
typedef enum { MA_FALSE = 0, MA_TRUE = 1, MA_UNKNOWN = 2 } ma_truth;
ma_truth ma_check_truth(const ma_check *c, json_t *doc, const json_t *entry, ma_failures *out);
/* What of a journal entry c (and the checks under it) reads besides the
 * body: MA_READS_BODY nothing (no subject), MA_READS_KEPT only what the
 * journal store keeps of each entry (fault, region: subject.h
 * ma_subject_kept), MA_READS_WHOLE the entry object (headers, query,
 * response). */
enum { MA_READS_BODY = 0, MA_READS_KEPT = 1, MA_READS_WHOLE = 2 };
int ma_check_reads_entry(const ma_check *c);
/* 1 if c (or a check under it) is an operator on the body (a path, or
 * none: $), 0 if it reads only subjects. */
int ma_check_reads_body(const ma_check *c);

/* Deep equality as described above. */
int ma_json_equal(const json_t *a, const json_t *b);
/* 1 if want is a subset of have: objects need each of want's members
 * (recursively a subset), arrays need the same length with each element
 * a subset, scalars are equal. */
int ma_json_subset(const json_t *want, const json_t *have);
/* Appends one failure per differing place under path (exact when subset is
 * 0, subset otherwise). At most limit failures (then one "... more"). */
void ma_json_diff(const json_t *want, const json_t *have, const char *path, int subset, ma_mark mark,
                  int depth, size_t limit, ma_failures *out);

/* Parses a body: JSON if it is JSON (numbers exact: those jansson cannot
 * hold keep their text, number.h), otherwise the text as a JSON string, or
 * NULL if the text is not valid UTF-8. Returns a new reference. */
json_t *ma_json_from_body(const char *body, size_t len);

/* Compact JSON text of v for people (caller frees); "(missing)" for NULL.
 * Exact numbers are written as their text. */
char *ma_json_show(const json_t *v);

#endif
