/* strict.h: the strict profile's request path (README "The strict profile").
 *
 * A strict session answers the agent-facing routes as the production mesh
 * API does (seed 004), and the one request path (dispatch.c) hands the
 * routes it covers to mk_strict_run. The checks run in the seed's order,
 * the first failure answering as problem+json (problem.h):
 *   1. authenticate  401, WWW-Authenticate: Bearer (RFC 6750 attributes
 *                    when a token was sent)
 *   2. the path id   400 invalid_node_id (a UUID's text form)
 *   3. authorise     403 (a sibling node's key; a node key on an operator
 *                    route), before any existence check: no id oracle
 *   4. body cap      413 (4 KiB or 32 KiB per route, after gunzip too)
 *   5. decode        400 malformed_* (strict_body.h), then semantic 400/422,
 *                    then clock skew 400
 *   6. existence     404, then state conflicts (409), then the answer.
 * The request's credential is classified for the journal (mk_auth) on
 * every agent-facing route of a strict session, never kept raw. */
#ifndef MK_STRICT_H
#define MK_STRICT_H

#include <stdbool.h>
#include <stddef.h>

#include "dispatch.h"
#include "nodes.h"
#include "router.h"

typedef struct mockapi mockapi;
typedef struct mk_session mk_session;

typedef enum mk_auth_class {
    MK_AUTH_NONE,      /* no Authorization header */
    MK_AUTH_MALFORMED, /* not "Bearer <token68>" */
    MK_AUTH_UNKNOWN,   /* a bearer nobody issued */
    MK_AUTH_NODE_KEY,  /* a live node's NSK */
    MK_AUTH_REVOKED,   /* the NSK of a node that deregistered */
    MK_AUTH_API_TOKEN, /* "psk_..." (an operator's API token) */
    MK_AUTH_ADMIN,     /* the server's -admin-token */
    MK_AUTH_BOOTSTRAP, /* register's body token */
} mk_auth_class;

/* The journal's words: "none", "malformed", ... */
const char *mk_auth_class_name(mk_auth_class c);

/* What the journal records of a strict request's credential. */
typedef struct mk_auth {
    bool known;                      /* classified (a strict session's agent route) */
    mk_auth_class cls;
    char token[24];                  /* "sha256:" + 8 hex digits, or "" for none */
    char node[MK_NODE_ID_LEN + 1];   /* the node the key belongs to, or "" */
    bool skipped;                    /* the skip-auth fault key */
} mk_auth;

/* Classifies req's Authorization into a (a strict session S). */
void mk_strict_classify(const mockapi *m, mk_session *S, const mk_request *req, mk_auth *a);

/* Whether the strict profile answers route rt itself (mk_strict_run). */
bool mk_strict_handles(const mk_route *rt);

typedef enum mk_strict_step {
    MK_STRICT_ANSWERED, /* resp holds the answer (or the refusal) */
    MK_STRICT_CONTINUE, /* checks passed: the reference responder answers
                         * (events, state) */
} mk_strict_step;

/* Runs the strict checks and answer for a route mk_strict_handles.
 * skip_auth: the request's fault has skip-auth. *jbody, *jlen and *gzipped
 * receive what the journal records of the body (the decoded bytes, kept
 * in `decoded`, which the caller frees). */
mk_strict_step mk_strict_run(mockapi *m, mk_session *S, const mk_request *req, mk_response *resp,
                             const mk_match *mt, mk_auth *a, bool skip_auth, mk_buf *decoded,
                             const char **jbody, size_t *jlen, bool *gzipped);

/* Validates a bootstrap token list (mockapi_config.bootstrap_tokens):
 * 0, or -1 with the reason in err. */
int mk_strict_tokens_check(const char *list, char *err, size_t errlen);

#endif
