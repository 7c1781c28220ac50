/* report.h: presenting results: text for people (colour optional), one
 * JSON document for programs, JUnit XML for CI. Everything written goes
 * through ma_mask first, so the mock's secrets (the NSK and the local
 * bearer token) are never printed, whatever a body holds. */
#ifndef MA_REPORT_H
#define MA_REPORT_H

#include <stdio.h>

#include "eval.h"

typedef struct {
    int color; /* ANSI colours (text only) */
    int quiet; /* text: leave passing expectations out */
    const char *server; /* shown in the JSON document */
    const char *session; /* the session read (--session or session:), or NULL: shown when set */
} ma_report_opts;

/* Replaces every secret in s with "[masked]". Returns a new string. */
char *ma_mask(const char *s);

/* The counts: passed, and failed (which includes untrusted). */
void ma_report_counts(const ma_result *rs, size_t n, size_t *passed, size_t *failed, size_t *untrusted);

/* Text: "session: ID" first when a session was read (quiet or not), one
 * line per expectation, details under failures, and the closing "N passed,
 * M failed" line. */
void ma_report_text(FILE *out, const ma_result *rs, size_t n, const ma_report_opts *o);
/* JSON: one document (see assert/README.md). */
void ma_report_json(FILE *out, const ma_result *rs, size_t n, int exit_code, const ma_report_opts *o);
/* GitHub Actions: one "::error file=F,line=L,col=C,title=T::MESSAGE" line
 * per failed or untrusted expectation (the message is the text report's
 * details), nothing for passes. */
void ma_report_github(FILE *out, const ma_result *rs, size_t n);
/* JUnit XML to path; session (NULL: none) is each testsuite's property
 * "session". 0, or -1 with err filled. */
int ma_report_junit(const char *path, const ma_result *rs, size_t n, double total_s, const char *session, char *err,
                    size_t errlen);

#endif
