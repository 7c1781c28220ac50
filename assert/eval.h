/* eval.h: evaluating expectations against a running mockapi. The server is
 * reached only through ma_source.get (the client in production, canned
 * answers in tests). What it reads is cached for the run and refreshed
 * after every server-side wait (GET /test/wait): the journal incrementally
 * (since=<last seq>), counters and captures whole.
 *
 * A verdict is MA_UNTRUSTED when it cannot be trusted: the server is
 * unreachable or answered something unexpected, or the journal evicted
 * entries the expectation needed and the verdict could change with them. */
#ifndef MA_EVAL_H
#define MA_EVAL_H

#include <jansson.h>
#include <stdint.h>

#include "match.h"
#include "spec.h"

typedef struct {
    void *ctx;
    /* GET path_and_query; 0 with *status and *body (owned, NUL-terminated)
     * or -1 with err filled when the server cannot be reached. */
    int (*get)(void *ctx, const char *path_and_query, long extra_ms, long *status, char **body, size_t *len,
               char *err, size_t errlen);
    /* Optional (NULL: get is used): the same GET, but a 200 answer's body
     * is handed to sink piece by piece as it arrives instead of being held
     * (*body is then NULL); sink returns 0, or -1 to stop reading (the call
     * then returns 0 all the same). Any other status: *body as with get. */
    int (*stream)(void *ctx, const char *path_and_query, long *status, char **body, size_t *len,
                  int (*sink)(void *arg, const char *p, size_t n), void *arg, char *err, size_t errlen);
} ma_source;

typedef enum { MA_PASS, MA_FAIL, MA_UNTRUSTED } ma_status;

/* A journal entry shown to explain a failure, with why it did not satisfy
 * the expectation's body check (why may be empty). */
typedef struct {
    json_t *entry; /* owned reference */
    ma_failures why;
} ma_near;

typedef struct {
    const ma_expectation *exp; /* borrowed */
    const char *file;          /* borrowed */
    ma_status status;
    char *actual;              /* one line on what was found, or NULL (owned) */
    ma_failures failures;
    char *reason;              /* MA_UNTRUSTED: why (owned) */
    ma_near *near;             /* nearest journal entries, nearest first */
    size_t nnear;
    char *near_title;          /* what near holds and how it is ordered (owned) */
    int64_t elapsed_ns;
} ma_result;

typedef struct {
    ma_source src;
    size_t max_nearest; /* entries to show per failure (0: none) */
    int64_t start_ns;   /* monotonic time the run started (within counts from it) */
    const char *server; /* the URL, to name it in reasons (NULL: "the server") */
} ma_eval_opts;

typedef struct ma_evaluator ma_evaluator;

ma_evaluator *ma_eval_new(const ma_eval_opts *o);
void ma_eval_free(ma_evaluator *ev);
/* Tells the evaluator which expectations will be run (before the first
 * ma_eval_run), so that the journal, read once, is read for all of them:
 * the checks of requests expectations are applied to each body as it
 * arrives (requests.h). Optional: an expectation not announced is
 * evaluated all the same, fetching the bodies it needs again. The
 * expectations are borrowed and must outlive the evaluator. */
void ma_eval_prepare(ma_evaluator *ev, const ma_expectation *e, size_t n);
/* Evaluates e and fills out (free with ma_result_free). Never fails: a
 * problem with the server becomes an MA_UNTRUSTED result. */
void ma_eval_run(ma_evaluator *ev, const ma_expectation *e, const char *file, ma_result *out);
void ma_result_free(ma_result *r);

/* Identifies the server positively as a mockapi: GET /test/assertions
 * must answer 200 with a JSON object holding every counter of
 * MOCKAPI_COUNTERS as an integer. 0 (with *assertions, the parsed answer,
 * when assertions is not NULL: the caller owns it), or -1 with *why (the
 * caller frees): unreachable, or not a mockapi and what it answered. Any
 * verdict drawn from another server would be a guess (exit 3). */
int ma_identify(const ma_source *src, const char *server, json_t **assertions, char **why);
/* 1 if a 404 from /test/last-request/KEY is mockapi's own "nothing
 * captured" answer (docs/contract.md, row 28), not some other 404. */
int ma_is_no_capture(const char *body, size_t len);

/* Monotonic clock in ns. */
int64_t ma_now_ns(void);

#endif
