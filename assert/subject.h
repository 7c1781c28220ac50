/* subject.h: what a check on a journal entry looks at when it is not the
 * body. A check names at most one subject:
 *
 *   header: NAME          the request's header(s) of that name (any case)
 *   query: NAME           the query parameter(s) of that name, decoded
 *   response: FIELD       status, body_size, duration_us (numbers), error
 *                         (the X-Mockapi-Error reason of a 4xx, or null) or
 *                         region (the listener's index, or null)
 *   responseHeader: NAME  the mock's response header(s) of that name
 *   fault: FIELD          the fault the server applied: source, rule, spec,
 *                         wire (null when none was; rule null for a header)
 *   auth: FIELD           how a strict session classified the request's
 *                         credential (its entry's "auth" member): class,
 *                         token (a fingerprint), node (null when absent:
 *                         a reference session has no auth member), skipped
 *                         (true or false: skip-auth applied)
 *
 * Each occurrence is one selected value, as a JSON path's wildcard selects
 * several. The journal keeps only a fingerprint of a secret header's value
 * (names.h MK_SECRET_HEADERS), so a check on one compares fingerprints: its
 * operand is turned into the same "redacted sha256:xxxxxxxx" form when the
 * file is read, and the value written in the file is never shown. The
 * same goes for auth token, whose fingerprint is "sha256:xxxxxxxx" (the
 * token alone, without "Bearer ").
 *
 * Pure: libcurl only to percent-decode, libsodium only to hash. */
#ifndef MA_SUBJECT_H
#define MA_SUBJECT_H

#include <jansson.h>
#include <stddef.h>

#include "jpath.h"
#include "match.h"

typedef enum {
    MA_SUBJ_HEADER,
    MA_SUBJ_QUERY,
    MA_SUBJ_RESPONSE,
    MA_SUBJ_RESPONSE_HEADER,
    MA_SUBJ_FAULT,
    MA_SUBJ_AUTH,
    MA_SUBJ_COUNT_
} ma_subject_kind;

typedef enum {
    MA_RESP_STATUS,
    MA_RESP_BODY_SIZE,
    MA_RESP_DURATION_US,
    MA_RESP_ERROR,
    MA_RESP_REGION,
    MA_RESP_COUNT_
} ma_resp_field;

typedef enum { MA_FAULT_SOURCE, MA_FAULT_RULE, MA_FAULT_SPEC, MA_FAULT_WIRE, MA_FAULT_COUNT_ } ma_fault_field;

typedef enum { MA_AUTH_CLASS, MA_AUTH_TOKEN, MA_AUTH_NODE, MA_AUTH_SKIPPED, MA_AUTH_COUNT_ } ma_auth_field;

/* The token classes a strict session writes (issue 17's design). */
#define MA_AUTH_NCLASSES 8
extern const char *const ma_auth_classes[MA_AUTH_NCLASSES];

/* The keys as written in YAML ("header", ...), response's, fault's and
 * auth's fields. */
extern const char *const ma_subject_words[MA_SUBJ_COUNT_];
extern const char *const ma_response_fields[MA_RESP_COUNT_];
extern const char *const ma_fault_fields[MA_FAULT_COUNT_];
extern const char *const ma_auth_fields[MA_AUTH_COUNT_];

typedef struct ma_subject {
    ma_subject_kind kind;
    ma_resp_field field; /* MA_SUBJ_RESPONSE */
    ma_fault_field ffield; /* MA_SUBJ_FAULT */
    ma_auth_field afield;  /* MA_SUBJ_AUTH */
    char *name;          /* the header or parameter name as written; response: the field (owned) */
    int secret;          /* a value the journal keeps only as a fingerprint: a secret
                            request header, or auth token */
    char *text;          /* how failures name it: "header User-Agent", "query \"a b\"" (owned) */
} ma_subject;

/* 0 with *kind if word is a subject key, else -1. */
int ma_subject_word(const char *word, ma_subject_kind *kind);
/* 0 with *field if name is one of ma_response_fields, else -1. */
int ma_response_field(const char *name, ma_resp_field *field);
/* 0 with *field if name is one of ma_fault_fields, else -1. */
int ma_fault_field_of(const char *name, ma_fault_field *field);
/* 0 with *field if name is one of ma_auth_fields, else -1. */
int ma_auth_field_of(const char *name, ma_auth_field *field);
/* 1 if s reads only what the journal store keeps of each entry (fault,
 * region: no need to parse or fetch the entry). */
int ma_subject_kept(const ma_subject *s);
/* 1 if s has exactly one value on every entry (null or false when there is
 * nothing to say): fault, response region, auth. exists means nothing there. */
int ma_subject_always(const ma_subject *s);

/* A subject of kind on name (for MA_SUBJ_RESPONSE, MA_SUBJ_FAULT and
 * MA_SUBJ_AUTH a field name, checked by the caller with ma_response_field,
 * ma_fault_field_of, ma_auth_field_of). NULL with why when the name cannot
 * be one: a header name must be an HTTP token, a parameter name not empty;
 * both valid UTF-8. */
ma_subject *ma_subject_new(ma_subject_kind kind, const char *name, char *why, size_t whylen);
void ma_subject_free(ma_subject *s);

/* 0 if operator op can check s; -1 with why (a secret header has only a
 * fingerprint; a number has no substrings). */
int ma_subject_op_ok(const ma_subject *s, ma_op op, char *why, size_t whylen);
/* Checks that *value (the operand, owned) fits s (header values are
 * strings, response status a number, ...), and for a secret header
 * replaces each compared string by its fingerprint. 0, or -1 with why. */
int ma_subject_operand(const ma_subject *s, ma_op op, json_t **value, char *why, size_t whylen);

/* Every value of s in entry (a journal entry object of GET /test/requests),
 * in arrival order. Returns the number of hits; each hit's value is a new
 * reference: free with ma_subject_hits_free. */
size_t ma_subject_select(const ma_subject *s, const json_t *entry, ma_hit **hits);
void ma_subject_hits_free(ma_hit *hits, size_t n);

/* 1 if the journal keeps only a fingerprint of the request header name. */
int ma_is_secret_header(const char *name);
/* 1 if text names a secret header anywhere, in any case: a line of an
 * expectation file that may hold a credential next to it. */
int ma_mentions_secret_header(const char *text);
/* "redacted sha256:" and the first 8 hex digits of the SHA-256 of the
 * len bytes at value: what the journal keeps of a secret header. Caller
 * frees. */
char *ma_fingerprint(const char *value, size_t len);
/* "sha256:" and the same 8 hex digits: what a strict session's journal
 * keeps of a bearer token (auth token). Caller frees. */
char *ma_token_fingerprint(const char *token, size_t len);
/* 1 if text names the auth token subject ("auth: token", quoted or not,
 * any case): a line that may hold a token next to it. */
int ma_mentions_auth_token(const char *text);

/* Decodes one component of a query string ('+' is a space, %XX a byte)
 * into a JSON string; when the bytes are not UTF-8, the text as written
 * (still percent-encoded) instead. New reference. */
json_t *ma_query_decode(const char *s, size_t len);

#endif
