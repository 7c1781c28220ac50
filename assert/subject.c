/* subject.c: see subject.h. */
#include "subject.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fault.h"
#include "names.h"
#include "number.h"

const char *const ma_subject_words[MA_SUBJ_COUNT_] = {"header", "query", "response", "responseHeader", "fault", "auth"};
const char *const ma_response_fields[MA_RESP_COUNT_] = {"status", "body_size", "duration_us", "error", "region"};
const char *const ma_fault_fields[MA_FAULT_COUNT_] = {"source", "rule", "spec", "wire"};
const char *const ma_auth_fields[MA_AUTH_COUNT_] = {"class", "token", "node", "skipped"};
const char *const ma_auth_classes[MA_AUTH_NCLASSES] = {"none",      "bootstrap", "node_key", "revoked",
                                                       "api_token", "admin",     "unknown",  "malformed"};

int ma_subject_word(const char *word, ma_subject_kind *kind)
{
    for (int i = 0; i < MA_SUBJ_COUNT_; i++) {
        if (strcmp(word, ma_subject_words[i]) == 0) {
            *kind = (ma_subject_kind)i;
            return 0;
        }
    }
    return -1;
}

int ma_response_field(const char *name, ma_resp_field *field)
{
    for (int i = 0; i < MA_RESP_COUNT_; i++) {
        if (strcmp(name, ma_response_fields[i]) == 0) {
            *field = (ma_resp_field)i;
            return 0;
        }
    }
    return -1;
}

int ma_fault_field_of(const char *name, ma_fault_field *field)
{
    for (int i = 0; i < MA_FAULT_COUNT_; i++) {
        if (strcmp(name, ma_fault_fields[i]) == 0) {
            *field = (ma_fault_field)i;
            return 0;
        }
    }
    return -1;
}

int ma_auth_field_of(const char *name, ma_auth_field *field)
{
    for (int i = 0; i < MA_AUTH_COUNT_; i++) {
        if (strcmp(name, ma_auth_fields[i]) == 0) {
            *field = (ma_auth_field)i;
            return 0;
        }
    }
    return -1;
}

int ma_subject_kept(const ma_subject *s)
{
    return s->kind == MA_SUBJ_FAULT || (s->kind == MA_SUBJ_RESPONSE && s->field == MA_RESP_REGION);
}

int ma_subject_always(const ma_subject *s)
{
    /* auth is not kept by the store (it is read from the entry), but like
     * fault every entry has each field: null (or false) says "none" */
    return ma_subject_kept(s) || s->kind == MA_SUBJ_AUTH;
}

int ma_is_secret_header(const char *name)
{
#define SECRET_NAME_(n) n,
    static const char *const secret[] = {MK_SECRET_HEADERS(SECRET_NAME_)};
#undef SECRET_NAME_
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++)
        if (strcasecmp(name, secret[i]) == 0)
            return 1;
    return 0;
}

int ma_mentions_secret_header(const char *text)
{
#define SECRET_NAME_(n) n,
    static const char *const secret[] = {MK_SECRET_HEADERS(SECRET_NAME_)};
#undef SECRET_NAME_
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++)
        if (strcasestr(text, secret[i]))
            return 1;
    return 0;
}

/* prefix and the first 8 hex digits of the SHA-256 of the len bytes at value */
static char *fingerprint_with(const char *prefix, const char *value, size_t len)
{
    /* the hash itself needs no initialisation, but libsodium asks for it
     * before any use; it is idempotent */
    if (sodium_init() < 0)
        ma_oom();
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)value, len);
    return ma_xasprintf("%s%02x%02x%02x%02x", prefix, h[0], h[1], h[2], h[3]);
}

char *ma_fingerprint(const char *value, size_t len)
{
    return fingerprint_with("redacted sha256:", value, len);
}

char *ma_token_fingerprint(const char *token, size_t len)
{
    /* the journal's auth member says "sha256:" alone: it is never anything
     * but a fingerprint, where a header's value could be */
    return fingerprint_with("sha256:", token, len);
}

int ma_mentions_auth_token(const char *text)
{
    for (const char *p = text; (p = strcasestr(p, "auth")) != NULL;) {
        p += 4;
        const char *q = p;
        q += strspn(q, "\"' \t");
        if (*q++ != ':')
            continue;
        q += strspn(q, "\"' \t");
        if (strncasecmp(q, "token", 5) == 0)
            return 1;
    }
    return 0;
}

/* RFC 9110 tchar: what a header field name is made of. */
static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int is_token(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return 0;
    return 1;
}

/* "header NAME": the name bare when it is a token, else quoted as JSON */
static char *subject_text(const char *word, const char *name)
{
    if (is_token(name))
        return ma_xasprintf("%s %s", word, name);
    json_t *j = json_string(name);
    char *q = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    if (!q)
        ma_oom();
    char *t = ma_xasprintf("%s %s", word, q);
    free(q);
    return t;
}

ma_subject *ma_subject_new(ma_subject_kind kind, const char *name, char *why, size_t whylen)
{
    const char *word = ma_subject_words[kind];
    json_t *utf8 = json_string(name);
    json_decref(utf8);
    if (!utf8) {
        snprintf(why, whylen, "%s: the name is not valid UTF-8", word);
        return NULL;
    }
    if ((kind == MA_SUBJ_HEADER || kind == MA_SUBJ_RESPONSE_HEADER) && !is_token(name)) {
        snprintf(why, whylen,
                 "%s: \"%s\" is not a header name (letters, digits and !#$%%&'*+-.^_`|~, no spaces or colon)",
                 word, name);
        return NULL;
    }
    if (kind == MA_SUBJ_QUERY && !*name) {
        snprintf(why, whylen, "query: the parameter name must not be empty");
        return NULL;
    }
    ma_subject *s = ma_xcalloc(1, sizeof *s);
    s->kind = kind;
    s->name = ma_xstrdup(name);
    if (kind == MA_SUBJ_RESPONSE)
        ma_response_field(name, &s->field);
    if (kind == MA_SUBJ_FAULT)
        ma_fault_field_of(name, &s->ffield);
    if (kind == MA_SUBJ_AUTH)
        ma_auth_field_of(name, &s->afield);
    s->secret = (kind == MA_SUBJ_HEADER && ma_is_secret_header(name)) ||
                (kind == MA_SUBJ_AUTH && s->afield == MA_AUTH_TOKEN);
    s->text = subject_text(word, name);
    return s;
}

void ma_subject_free(ma_subject *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->text);
    free(s);
}

/* ---- operators and operands ---- */

static int number_valued(const ma_subject *s)
{
    return (s->kind == MA_SUBJ_RESPONSE && s->field != MA_RESP_ERROR) ||
           (s->kind == MA_SUBJ_FAULT && s->ffield == MA_FAULT_RULE);
}

static int boolean_valued(const ma_subject *s)
{
    return s->kind == MA_SUBJ_AUTH && s->afield == MA_AUTH_SKIPPED;
}

/* A value that is null when there is nothing to say: response error and
 * region, every fault field on a request without a fault, and auth's
 * strings (no token, no node, no auth member at all in a reference
 * session). */
static int nullable(const ma_subject *s)
{
    return s->kind == MA_SUBJ_FAULT || (s->kind == MA_SUBJ_AUTH && !boolean_valued(s)) ||
           (s->kind == MA_SUBJ_RESPONSE && (s->field == MA_RESP_ERROR || s->field == MA_RESP_REGION));
}

/* ops[0, n) as "a, b or c"; exists and notExists left out when skip_exists */
static void op_list(char *out, size_t len, const ma_op *ops, size_t n, int skip_exists)
{
    size_t at = 0, shown = 0, total = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        total += !(skip_exists && (ops[i] == MA_OP_EXISTS || ops[i] == MA_OP_NOT_EXISTS));
    for (size_t i = 0; i < n && at < len; i++) {
        if (skip_exists && (ops[i] == MA_OP_EXISTS || ops[i] == MA_OP_NOT_EXISTS))
            continue;
        at += (size_t)snprintf(out + at, len - at, "%s%s", shown ? (shown + 1 == total ? " or " : ", ") : "",
                               ma_op_name(ops[i]));
        shown++;
    }
}

/* What an always-there subject holds when there is nothing to say. */
static const char *always_none(const ma_subject *s)
{
    if (s->kind == MA_SUBJ_FAULT)
        return "null when no fault was applied";
    if (s->kind == MA_SUBJ_RESPONSE)
        return "null when the request came to no region";
    switch (s->afield) {
    case MA_AUTH_CLASS:
        return "null only in a reference session, which classifies no credential";
    case MA_AUTH_TOKEN:
        return "null when no token was sent (or in a reference session)";
    case MA_AUTH_NODE:
        return "null when the token names no node (or in a reference session)";
    default:
        return "false when authentication was not skipped";
    }
}

int ma_subject_op_ok(const ma_subject *s, ma_op op, char *why, size_t whylen)
{
    static const ma_op secret_ops[] = {MA_OP_EQUALS, MA_OP_NOT_EQUALS, MA_OP_IN,
                                       MA_OP_NOT_IN, MA_OP_EXISTS,     MA_OP_NOT_EXISTS};
    static const ma_op number_ops[] = {MA_OP_EQUALS,   MA_OP_NOT_EQUALS, MA_OP_IN,      MA_OP_NOT_IN,
                                       MA_OP_GREATER_THAN, MA_OP_LESS_THAN, MA_OP_AT_LEAST, MA_OP_AT_MOST,
                                       MA_OP_BETWEEN,  MA_OP_EXISTS,     MA_OP_NOT_EXISTS};
    static const ma_op boolean_ops[] = {MA_OP_EQUALS, MA_OP_NOT_EQUALS, MA_OP_IN, MA_OP_NOT_IN};
    const ma_op *ok = NULL;
    size_t n = 0;
    int always = ma_subject_always(s);
    if (always && (op == MA_OP_EXISTS || op == MA_OP_NOT_EXISTS)) {
        /* always there: a null (or false) says "none", which exists would not see */
        snprintf(why, whylen, "%s does not apply to %s: it is always there, %s (use %s)", ma_op_name(op), s->text,
                 always_none(s),
                 boolean_valued(s) ? "equals: true or equals: false" : "equals: null or notEquals: null");
        return -1;
    }
    if (s->secret) {
        ok = secret_ops;
        n = sizeof secret_ops / sizeof secret_ops[0];
    } else if (boolean_valued(s)) {
        ok = boolean_ops;
        n = sizeof boolean_ops / sizeof boolean_ops[0];
    } else if (number_valued(s)) {
        ok = number_ops;
        n = sizeof number_ops / sizeof number_ops[0];
    } else {
        return 0; /* a string: every operator; the operand says the rest */
    }
    for (size_t i = 0; i < n; i++)
        if (ok[i] == op)
            return 0;
    char list[256];
    op_list(list, sizeof list, ok, n, always); /* exists, notExists: refused above */
    if (s->secret)
        snprintf(why, whylen,
                 "%s cannot check %s: the server keeps only a fingerprint of it (sha256 of the whole %s), "
                 "so only the whole %s can be compared: use %s",
                 ma_op_name(op), s->text, s->kind == MA_SUBJ_AUTH ? "token" : "value",
                 s->kind == MA_SUBJ_AUTH ? "token" : "value", list);
    else if (boolean_valued(s))
        snprintf(why, whylen, "%s does not apply to %s, true or false (use %s)", ma_op_name(op), s->text, list);
    else
        snprintf(why, whylen, "%s does not apply to %s, a number (use %s)", ma_op_name(op), s->text, list);
    return -1;
}

/* 1 if v is a value s can hold, as an operand of op */
static int fits(const ma_subject *s, ma_op op, const json_t *v)
{
    int null_ok = nullable(s) && (op == MA_OP_EQUALS || op == MA_OP_NOT_EQUALS || op == MA_OP_IN ||
                                  op == MA_OP_NOT_IN || op == MA_OP_SUBSET);
    if (null_ok && json_is_null(v))
        return 1;
    if (boolean_valued(s))
        return json_is_boolean(v);
    if (number_valued(s))
        return ma_is_number(v); /* 1e400 and 18446744073709551615 are numbers too (number.h) */
    return json_is_string(v);
}

/* Replaces the string v (owned) by its fingerprint (of s's kind); a null
 * (auth token: no token) stays. */
static json_t *fingerprinted(const ma_subject *s, json_t *v)
{
    if (!json_is_string(v))
        return v;
    char *fp = s->kind == MA_SUBJ_AUTH ? ma_token_fingerprint(json_string_value(v), json_string_length(v))
                                       : ma_fingerprint(json_string_value(v), json_string_length(v));
    json_t *r = json_string(fp);
    free(fp);
    json_decref(v);
    if (!r)
        ma_oom();
    return r;
}

/* Whether t is a fault wire text as the server writes it (mk_fault_wire_text):
 * response[+rst], fin, rst, timeout, garbage, partial:N[+rst], or a stream's
 * keys joined by '+' (retry:N, stall:N, cut-after:N, cut-mid). */
static int wire_text_ok(const char *t)
{
    static const char *const words[] = {"response", "fin", "rst", "timeout", "garbage",
                                        "response+rst"}; /* a partial=N; then=rst past the body */
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strcmp(t, words[i]))
            return 1;
    size_t d;
    if (!strncmp(t, "partial:", 8)) {
        t += 8;
        if (!(d = strspn(t, "0123456789")))
            return 0;
        return !t[d] || !strcmp(t + d, "+rst");
    }
    /* in the server's order, each at most once */
    static const char *const keys[] = {"retry:", "stall:", "cut-after:", "cut-mid"};
    size_t next = 0;
    for (;;) {
        size_t i = next;
        while (i < 4 && strncmp(t, keys[i], strlen(keys[i])))
            i++;
        if (i == 4)
            return 0;
        t += strlen(keys[i]);
        next = i + 1;
        if (i < 3) {
            if (!(d = strspn(t, "0123456789")))
                return 0;
            t += d;
        }
        if (!*t)
            return 1;
        if (*t++ != '+')
            return 0;
    }
}

/* For a fault source or wire operand that the server never writes, why
 * (with a did-you-mean); NULL when t is fine. */
static const char *fault_value_bad(const ma_subject *s, const char *t, char *why, size_t whylen)
{
    if (s->ffield == MA_FAULT_SOURCE) {
        static const char *const sources[] = {"header", "rule", "flag"};
        if (!strcmp(t, "header") || !strcmp(t, "rule") || !strcmp(t, "flag"))
            return NULL;
        const char *near = ma_suggest(t, sources, 3);
        snprintf(why, whylen, "fault source is header, rule or flag (or null), not \"%.64s\"%s%s%s", t,
                 near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "");
        return why;
    }
    if (s->ffield == MA_FAULT_SPEC) {
        /* the journal holds the canonical form: "first=2; status=503" would
         * never equal the "status=503; first=2" it shows */
        mk_fault f;
        char err[200], canon[300];
        if (mk_fault_parse(t, strlen(t), &f, err, sizeof err) != 0) {
            snprintf(why, whylen, "fault spec \"%.64s\" is not a fault the server applies: %s", t, err);
            return why;
        }
        size_t n = mk_fault_format(&f, canon, sizeof canon);
        if (n < sizeof canon && strcmp(canon, t) != 0) {
            snprintf(why, whylen, "fault spec: the journal writes this fault as \"%s\" (its canonical form, "
                                  "docs/faults.md), not \"%.64s\"", canon, t);
            return why;
        }
        return NULL;
    }
    if (s->ffield == MA_FAULT_WIRE && !wire_text_ok(t)) {
        /* the spec's key where the wire has its own word */
        static const char *const keys[][2] = {{"drop", "fin"},      {"reset", "rst"},      {"hang", "timeout"},
                                              {"status", "response"}, {"delay", "response"}, {"slow", "response"},
                                              {"partial", "partial:N"}};
        static const char *const words[] = {"response", "fin", "rst", "timeout", "garbage"};
        const char *near = NULL;
        for (size_t i = 0; i < sizeof keys / sizeof keys[0] && !near; i++)
            if (!strncmp(t, keys[i][0], strlen(keys[i][0])) &&
                (!t[strlen(keys[i][0])] || t[strlen(keys[i][0])] == '='))
                near = keys[i][1];
        if (!near)
            near = ma_suggest(t, words, sizeof words / sizeof words[0]);
        snprintf(why, whylen,
                 "fault wire is what went on the wire: response, fin, rst, timeout, garbage, partial:N, "
                 "partial:N+rst, or a stream's keys such as cut-after:3; not \"%.64s\"%s%s%s",
                 t, near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "");
        return why;
    }
    return NULL;
}

/* For an auth class operand that the server never writes, why (with a
 * did-you-mean); for an auth token operand written as what the journal
 * shows rather than the token itself, why (without the value: it may be a
 * credential); NULL when t is fine. */
static const char *auth_value_bad(const ma_subject *s, const char *t, size_t len, char *why, size_t whylen)
{
    if (s->afield == MA_AUTH_TOKEN) {
        /* the journal hashes the bearer's token, not the header's value;
         * and a fingerprint copied from a failure would be hashed again */
        if (len >= 7 && strncasecmp(t, "Bearer ", 7) == 0) {
            snprintf(why, whylen, "auth token is the token alone, without \"Bearer \" (the journal hashes what "
                                  "follows it): write the token only");
            return why;
        }
        if (len == 15 && !strncmp(t, "sha256:", 7) && strspn(t + 7, "0123456789abcdef") == 8) {
            snprintf(why, whylen, "auth token: write the token itself, not its fingerprint: mockassert turns the "
                                  "token into \"sha256:...\" when it reads the file, and would hash this again");
            return why;
        }
        return NULL;
    }
    if (s->afield != MA_AUTH_CLASS)
        return NULL;
    for (size_t i = 0; i < MA_AUTH_NCLASSES; i++)
        if (!strcmp(t, ma_auth_classes[i]))
            return NULL;
    /* names the seed and HTTP use for the same things, then case, then spelling */
    static const char *const aliases[][2] = {{"nsk", "node_key"},      {"node_secret_key", "node_key"},
                                             {"psk", "api_token"},     {"api_key", "api_token"},
                                             {"operator", "api_token"}, {"bootstrap_token", "bootstrap"},
                                             {"missing", "none"},      {"absent", "none"},
                                             {"invalid", "unknown"},   {"deregistered", "revoked"}};
    const char *near = NULL;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0] && !near; i++)
        if (!strcasecmp(t, aliases[i][0]))
            near = aliases[i][1];
    for (size_t i = 0; i < MA_AUTH_NCLASSES && !near; i++)
        if (!strcasecmp(t, ma_auth_classes[i]))
            near = ma_auth_classes[i];
    if (!near)
        near = ma_suggest(t, ma_auth_classes, MA_AUTH_NCLASSES);
    snprintf(why, whylen,
             "auth class is none, bootstrap, node_key, revoked, api_token, admin, unknown or malformed (or null), "
             "not \"%.64s\"%s%s%s",
             t, near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "");
    return why;
}

int ma_subject_operand(const ma_subject *s, ma_op op, json_t **value, char *why, size_t whylen)
{
    json_t *v = *value;
    int ok = 1;
    switch (op) {
    case MA_OP_EXISTS:
    case MA_OP_NOT_EXISTS:
        return 0;
    case MA_OP_IN:
    case MA_OP_NOT_IN:
        if (!json_is_array(v))
            return 0; /* ma_check_op says a list is needed */
        for (size_t i = 0; i < json_array_size(v); i++)
            ok &= fits(s, op, json_array_get(v, i));
        break;
    case MA_OP_BETWEEN:
        if (!json_is_array(v))
            return 0;
        for (size_t i = 0; i < json_array_size(v); i++)
            ok &= fits(s, op, json_array_get(v, i));
        break;
    case MA_OP_EQUALS:
    case MA_OP_NOT_EQUALS:
    case MA_OP_SUBSET:
    case MA_OP_CONTAINS:
    case MA_OP_NOT_CONTAINS:
    case MA_OP_STARTS_WITH:
    case MA_OP_ENDS_WITH:
    case MA_OP_GREATER_THAN:
    case MA_OP_LESS_THAN:
    case MA_OP_AT_LEAST:
    case MA_OP_AT_MOST:
    case MA_OP_MATCHES:
    case MA_OP_NOT_MATCHES:
        ok = fits(s, op, v);
        break;
    default:
        return 0; /* an operator about the value's shape, not a value to compare with */
    }
    if (!ok) {
        int list = op == MA_OP_IN || op == MA_OP_NOT_IN || op == MA_OP_BETWEEN;
        /* null is an operand where it can be compared (equals, in, ...) */
        const char *or_null = nullable(s) && op != MA_OP_BETWEEN && fits(s, op, json_null()) ? " or null" : "";
        if (boolean_valued(s))
            snprintf(why, whylen, "%s is true or false: %s needs %s", s->text, ma_op_name(op),
                     list ? "a list of true and false" : "true or false");
        else if (number_valued(s) && nullable(s))
            snprintf(why, whylen, "%s is a number or null: %s needs %s%s", s->text, ma_op_name(op),
                     list ? "a list of numbers" : "a number", or_null);
        else if (number_valued(s))
            snprintf(why, whylen, "%s is a number: %s needs %s", s->text, ma_op_name(op),
                     list ? "a list of numbers" : "a number");
        else if (nullable(s))
            snprintf(why, whylen, "%s is a string or null: %s needs %s%s", s->text, ma_op_name(op),
                     list ? "a list of strings" : "a string", or_null);
        else
            snprintf(why, whylen, "%s values are strings: %s needs %s (quote a number: \"5\")", s->text,
                     ma_op_name(op), list ? "a list of strings" : "a string");
        return -1;
    }
    /* fault source and wire take a few words: "Header" or "reset" (the wire
     * says rst) would fail every equals and pass every notEquals unsaid */
    if (s->kind == MA_SUBJ_FAULT && s->ffield != MA_FAULT_RULE &&
        (op == MA_OP_EQUALS || op == MA_OP_NOT_EQUALS || op == MA_OP_IN || op == MA_OP_NOT_IN)) {
        size_t n = json_is_array(v) ? json_array_size(v) : 1;
        for (size_t i = 0; i < n; i++) {
            const char *t = json_string_value(json_is_array(v) ? json_array_get(v, i) : v);
            if (t && fault_value_bad(s, t, why, whylen))
                return -1;
        }
    }
    /* auth class takes eight words, as fault source three; auth token
     * the token, not what the journal shows of it */
    if (s->kind == MA_SUBJ_AUTH && (op == MA_OP_EQUALS || op == MA_OP_NOT_EQUALS || op == MA_OP_IN ||
                                    op == MA_OP_NOT_IN || op == MA_OP_SUBSET)) {
        size_t n = json_is_array(v) ? json_array_size(v) : 1;
        for (size_t i = 0; i < n; i++) {
            const json_t *x = json_is_array(v) ? json_array_get(v, i) : v;
            if (json_is_string(x) && auth_value_bad(s, json_string_value(x), json_string_length(x), why, whylen))
                return -1;
        }
    }
    if (s->secret) {
        if (json_is_string(v)) {
            *value = fingerprinted(s, v);
        } else if (json_is_array(v)) {
            for (size_t i = 0; i < json_array_size(v); i++) {
                json_t *x = json_incref(json_array_get(v, i));
                if (json_array_set_new(v, i, fingerprinted(s, x)))
                    ma_oom();
            }
        }
    }
    return 0;
}

/* ---- selecting values ---- */

json_t *ma_query_decode(const char *s, size_t len)
{
    /* '+' is a space in a query (HTML forms); %2B stays a '+' because the
     * pluses are replaced before the %XX are decoded */
    char *plus = ma_xstrndup(s, len);
    for (char *p = plus; *p; p++)
        if (*p == '+')
            *p = ' ';
    int outlen = 0;
    char *d = curl_easy_unescape(NULL, plus, (int)len, &outlen);
    free(plus);
    if (!d)
        ma_oom();
    json_t *v = json_stringn(d, (size_t)outlen);
    curl_free(d);
    if (!v)
        v = json_stringn(s, len); /* not UTF-8 once decoded: compare it as written */
    if (!v)
        ma_oom(); /* the journal's query is JSON text, so UTF-8 */
    return v;
}

typedef struct {
    json_t **v;
    size_t n;
} values;

static void push(values *vs, json_t *v)
{
    vs->v = ma_xrealloc(vs->v, (vs->n + 1) * sizeof *vs->v);
    vs->v[vs->n++] = v;
}

/* The values of [[name, value], ...] whose name is name (any case). */
static void header_values(const json_t *list, const char *name, values *out)
{
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *pair = json_array_get(list, i);
        const char *n = json_string_value(json_array_get(pair, 0));
        json_t *v = json_array_get(pair, 1);
        if (n && json_is_string(v) && strcasecmp(n, name) == 0)
            push(out, json_incref(v));
    }
}

static void query_values(const char *q, const char *name, values *out)
{
    size_t want = strlen(name);
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len) {
            const char *eq = memchr(q, '=', len);
            size_t nlen = eq ? (size_t)(eq - q) : len;
            json_t *n = ma_query_decode(q, nlen);
            if (json_string_length(n) == want && memcmp(json_string_value(n), name, want) == 0)
                push(out, eq ? ma_query_decode(eq + 1, len - nlen - 1) : json_string(""));
            json_decref(n);
        }
        q += len;
        if (*q == '&')
            q++;
    }
}

size_t ma_subject_select(const ma_subject *s, const json_t *entry, ma_hit **hits)
{
    values vs = {0};
    json_t *resp = json_object_get(entry, "response");
    switch (s->kind) {
    case MA_SUBJ_HEADER:
        header_values(json_object_get(entry, "headers"), s->name, &vs);
        break;
    case MA_SUBJ_QUERY:
        query_values(json_string_value(json_object_get(entry, "query")), s->name, &vs);
        break;
    case MA_SUBJ_RESPONSE: {
        if (s->field == MA_RESP_REGION) {
            /* the entry's own member, present only when regions are on */
            json_t *r = json_object_get(entry, "region");
            push(&vs, json_is_integer(r) && json_integer_value(r) >= 0 ? json_incref(r) : json_null());
            break;
        }
        json_t *v = json_object_get(resp, ma_response_fields[s->field]);
        if (v)
            push(&vs, json_incref(v));
        break;
    }
    case MA_SUBJ_FAULT: {
        /* null when no fault was applied, and a header's fault has no rule */
        json_t *v = json_object_get(json_object_get(entry, "fault"), ma_fault_fields[s->ffield]);
        push(&vs, v ? json_incref(v) : json_null());
        break;
    }
    case MA_SUBJ_AUTH: {
        /* a reference session's entries have no auth member: every field
         * null, skipped false (it is written only when true) */
        json_t *v = json_object_get(json_object_get(entry, "auth"), ma_auth_fields[s->afield]);
        if (s->afield == MA_AUTH_SKIPPED)
            push(&vs, json_boolean(json_is_true(v)));
        else
            push(&vs, json_is_string(v) ? json_incref(v) : json_null());
        break;
    }
    default:
        header_values(json_object_get(resp, "headers"), s->name, &vs);
        break;
    }
    *hits = vs.n ? ma_xcalloc(vs.n, sizeof **hits) : NULL;
    for (size_t i = 0; i < vs.n; i++) {
        /* several occurrences are told apart by their index, as a path's [i] */
        (*hits)[i].path = vs.n > 1 ? ma_xasprintf("%s[%zu]", s->text, i) : ma_xstrdup(s->text);
        (*hits)[i].value = vs.v[i];
    }
    free(vs.v);
    return vs.n;
}

void ma_subject_hits_free(ma_hit *hits, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(hits[i].path);
        json_decref(hits[i].value);
    }
    free(hits);
}
