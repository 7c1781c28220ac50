/* case_file.h: the data-driven cases of tests/cases (format:
 * tests/cases/README.md), shared by the two runners: test_cases.c sends
 * each exchange over HTTP, test_cases_direct.c hands it to mk_dispatch
 * without a socket. Both parse with case_parse, build bodies with
 * case_bodies and judge responses with case_check, so a case means the same
 * to both.
 *
 * Failures are collected per case (case_begin .. case_failures) and printed
 * as "file:line: what" as they are found; nothing here is thread-safe. */
#ifndef MT_CASE_FILE_H
#define MT_CASE_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "harness.h"

#define CASES_DIR MOCKAPI_TOP "/tests/cases"

typedef enum ck_kind {
    CK_STATUS,         /* n = exact status, or 1..5 with class set */
    CK_HEADER_EQ,      /* a = name, b = value */
    CK_HEADER_ABSENT,  /* a = name */
    CK_HEADER_PRESENT, /* a = name */
    CK_BODY,           /* b = exact bytes */
    CK_BODY_MATCH,     /* b = pattern, '*' matches any run of bytes */
    CK_GOLDEN,         /* a = golden name */
    CK_COUNTER,        /* a = counter name, n = value */
    CK_CAPTURE,        /* a = key, b = exact bytes */
    CK_CAPTURE_SENT,   /* a = key: equals this exchange's body before gzip */
    CK_CAPTURE_WIRE,   /* a = key: equals this exchange's body as sent */
    CK_NO_CAPTURE,     /* a = key */
} ck_kind;

typedef struct ck {
    ck_kind kind;
    int line;
    bool status_class;
    long long n;
    char *a;
    unsigned char *b;
    size_t blen;
} ck;

typedef struct exch {
    int line;
    char *method;
    char *path;        /* as written: raw, with the query */
    char **headers;    /* "Name: value" as written; "Name:" removes a client default */
    size_t nheaders;
    unsigned char *body;
    size_t blen;
    bool has_body;
    int gzip; /* 0 none, 1 gzip + Content-Encoding: gzip, 2 gzip only */
    long long truncate; /* -1: whole body */
    ck *checks;
    size_t nchecks;
} exch;

typedef struct case_file {
    const char *path;
    mockapi_config cfg;
    exch *ex;
    size_t nex;
    char err[512];
} case_file;

/* Parses cf->path completely (cfg starts from mt_config_init). Returns 0,
 * or -1 with the reason in cf->err. Either way release with case_free. */
int case_parse(case_file *cf);
void case_free(case_file *cf);

/* The body of e with key substituted: *sent before gzip, *wire as it goes
 * out (gzipped, truncated); both malloc'd (free() them), NULL without a
 * body. Returns 0, or -1 on out-of-memory. */
int case_bodies(const exch *e, const char *key, unsigned char **sent, size_t *sentn,
                unsigned char **wire, size_t *wiren);

/* Starts collecting the failures of the case in path. */
void case_begin(const char *path);
/* Reports a failure at line of the current case; counts it. */
void case_fail_at(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Failures since case_begin. */
int case_failures(void);

/* What case_check reads besides the response: the instance, its signing
 * key, and a way to fetch GET /test/assertions from it the way the runner
 * talks to it (0 and *out filled, or -1; *out is released by the caller
 * with mt_response_free either way). */
typedef struct case_target {
    mockapi *m;
    const char *key;
    int (*get_assertions)(void *user, mt_response *out);
    void *user;
} case_target;

/* Checks every expectation of e against r (sent and wire as from
 * case_bodies), reporting each failure. */
void case_check(const case_target *t, const exch *e, const mt_response *r, const unsigned char *sent,
                size_t sentn, const unsigned char *wire, size_t wiren);

/* Runs one cmocka group with one test per .case file of tests/cases, sorted,
 * named prefix + file name, each calling fn with the file's path as its
 * state. Returns the number of failed tests (1 if the group cannot be
 * built). */
int case_run_group(const char *group, const char *prefix, void (*fn)(void **state));

#endif
