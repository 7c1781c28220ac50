/* strict_body.c: the strict profile's request bodies (strict_body.h).
 *
 * Every check function runs in two stages, as the production server does:
 * decode (the whole body, nested entries included, before anything else:
 * any failure there is the route's `malformed_*` code), then the route's
 * semantic checks in the header's order. The first failure is the answer;
 * the functions return 0 when the body is accepted, else the verdict's
 * status (400 or 422) with *v filled.
 *
 * Decoding, and how it differs from Go's encoding/json (which the
 * production server uses with unknown fields disallowed):
 * - jansson (json_loadb) with JSON_REJECT_DUPLICATES: a member given twice
 *   is refused. Go would silently keep the last one; an agent that sends
 *   two has a bug the mock should show, not hide.
 * - Member names match exactly (Go matches them case-insensitively).
 * - Invalid UTF-8 is refused (Go replaces it with U+FFFD); \u0000 is
 *   decoded (JSON_ALLOW_NUL) so that a NUL in a string member is refused
 *   with that member's name rather than as a parse error.
 * - null counts as absent, as in Go (it leaves the field unset).
 * - A member absent where the seed names a code for "missing" gets that
 *   code (heartbeat binary_checksum_empty / binary_version_empty,
 *   capabilities binary_checksum_invalid, a hook's declared_hook_invalid, a
 *   violation's kind / detected_by / artifact_id codes); any other
 *   required member absent is the malformed code.
 * - Times are RFC 3339 (mk_sb_time); one that is not is a decode error
 *   (Go's time.Time refuses it while decoding).
 * - nat_summary (heartbeat) must be an object and register's capabilities
 *   an object; their contents are not checked (the seed does not give
 *   their schema). register's metadata is an object of strings.
 *
 * Details are one line: every value or member name from the body is shown
 * escaped (quotes, backslashes, control bytes, invalid UTF-8 and the
 * Unicode line breaks U+0085/U+2028/U+2029) and cut to 64 bytes.
 *
 * Pure functions; no state, no locks. */
#include "strict_body.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gojson.h"
#include "suggest.h"

enum { SHOWN_MAX = 64, SHOWN_CAP = SHOWN_MAX + 3 }; /* 64 bytes between the quotes, + quotes + NUL */

void mk_sb_free(void *doc)
{
    json_decref((json_t *)doc);
}

/* ---- details -------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when it is not one
 * (overlong forms, surrogates and values past U+10FFFF are not); *cp gets
 * the code point. */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c = s[0], v, min;
    size_t len;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

/* s[0..n) as a quoted, escaped, one-line string of at most `max` bytes
 * between its quotes (cut ones end in "..."): out has max + 3 bytes. An
 * escape or a UTF-8 sequence is never split. Returns out. */
static char *shown_max(const char *s, size_t n, char *out, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t w = 0, i = 0;
    out[w++] = '"';
    while (i < n) {
        char e[12];
        size_t el, step = 1;
        unsigned cp = 0;
        size_t ul = utf8_seq(p + i, n - i, &cp);
        if (ul == 1 && (cp == '"' || cp == '\\')) {
            e[0] = '\\', e[1] = (char)cp, el = 2;
        } else if (ul == 1 && (cp == '\n' || cp == '\r' || cp == '\t')) {
            e[0] = '\\', e[1] = cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't', el = 2;
        } else if (ul == 1 && (cp < 0x20 || cp == 0x7f)) {
            el = (size_t)snprintf(e, sizeof e, "\\u%04x", cp);
        } else if (ul == 0) {
            el = (size_t)snprintf(e, sizeof e, "\\x%02x", p[i]);
        } else if (cp == 0x85 || cp == 0x2028 || cp == 0x2029) { /* line breaks to Unicode */
            el = (size_t)snprintf(e, sizeof e, "\\u%04x", cp);
            step = ul;
        } else {
            memcpy(e, p + i, ul);
            el = step = ul;
        }
        /* room for this piece, and for "..." if more follows */
        size_t room = max - (w - 1);
        bool last = i + step == n;
        if (el > room || (!last && el + 3 > room)) {
            /* every piece before left room >= 3 when more followed it */
            memcpy(out + w, "...", 3);
            w += 3;
            break;
        }
        memcpy(out + w, e, el);
        w += el;
        i += step;
    }
    out[w++] = '"';
    out[w] = '\0';
    return out;
}

static char *shown(const char *s, size_t n, char out[SHOWN_CAP])
{
    return shown_max(s, n, out, SHOWN_MAX);
}

static int fail(mk_sb_verdict *v, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(mk_sb_verdict *v, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(v->detail, sizeof v->detail, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof v->detail) {
        /* cut: never inside a UTF-8 sequence (the details are sized to
         * fit; this is the guard should one not) */
        size_t end = sizeof v->detail - 1, lead = end; /* end: the NUL */
        while (lead > 0 && ((unsigned char)v->detail[lead - 1] & 0xc0) == 0x80)
            lead--;
        if (lead > 0) { /* detail[lead - 1] starts the last sequence */
            unsigned char c = (unsigned char)v->detail[lead - 1];
            size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
            if (lead - 1 + need > end)
                v->detail[lead - 1] = '\0';
        }
    }
    v->status = status;
    v->code = code;
    return status;
}

static const char *kind_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* " (did you mean \"x\"?)" when word is close to one of c[0..n), else "". */
static const char *did_you_mean(const char *word, const char *const *c, size_t n, char *buf, size_t cap)
{
    const char *sug = word ? mk_suggest(word, c, n) : NULL;
    buf[0] = '\0';
    if (sug)
        snprintf(buf, cap, " (did you mean \"%s\"?)", sug);
    return buf;
}

/* ---- text checks ---------------------------------------------------------- */

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool mk_sb_sha256_valid(const char *s, size_t len)
{
    if (len >= 7 && memcmp(s, "sha256:", 7) == 0)
        s += 7, len -= 7;
    if (len != 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_hex((unsigned char)s[i]))
            return false;
    return true;
}

/* "SHA256:" and 43 unpadded standard base64 characters: the 32-byte
 * digest as `ssh-keygen -l` prints it. sodium refuses a last character
 * whose unused bits are set, so only the canonical spelling passes. */
static bool ssh_fingerprint_valid(const char *s, size_t len)
{
    unsigned char bin[32];
    size_t got = 0;
    const char *end = NULL;
    if (len != 7 + 43 || memcmp(s, "SHA256:", 7) != 0)
        return false;
    if (sodium_base642bin(bin, sizeof bin, s + 7, 43, NULL, &got, &end,
                          sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0)
        return false;
    return end == s + len && got == 32;
}

/* Standard base64 with padding of exactly 32 bytes, not all zero (a
 * Curve25519 public key). Writes why not into why. */
static bool public_key_valid(const char *s, size_t len, const char **why)
{
    unsigned char bin[32];
    size_t got = 0;
    const char *end = NULL;
    if (len != 44 || sodium_base642bin(bin, sizeof bin, s, len, NULL, &got, &end,
                                       sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != s + len || got != 32) {
        *why = "not standard base64 (with padding) of exactly 32 bytes";
        return false;
    }
    if (sodium_is_zero(bin, sizeof bin)) {
        *why = "the all-zero key";
        return false;
    }
    return true;
}

/* Go's strings.TrimSpace: true when s holds nothing but Unicode white
 * space (unicode.IsSpace). */
static bool blank(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned cp;
        size_t l = utf8_seq(p + i, n - i, &cp);
        if (l == 0)
            return false;
        bool space = (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
                     (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
                     cp == 0x205f || cp == 0x3000;
        if (!space)
            return false;
        i += l;
    }
    return true;
}

/* ---- RFC 3339 ------------------------------------------------------------- */


/* As mk_sb_time; *sub is set when the fraction has a non-zero digit past
 * the millisecond (the time is then a little after *ms), so that a skew
 * check can refuse 60.0005 s. The text is read as the production API's Go
 * decoder reads a time.Time (gojson.h gj_time_parse: upper-case T and Z,
 * no leap second), so the mock refuses what it refuses. */
static bool parse_time(const char *s, size_t n, int64_t *ms, bool *sub)
{
    gj_time t;
    if (gj_time_parse(s, n, &t) != 0)
        return false;
    *ms = t.sec * 1000 + t.nsec / 1000000;
    *sub = t.nsec % 1000000 != 0;
    return true;
}

bool mk_sb_time(const char *s, size_t len, int64_t *ms)
{
    bool sub;
    int64_t t;
    if (!parse_time(s, len, &t, &sub))
        return false;
    *ms = t;
    return true;
}

/* ---- endpoints ------------------------------------------------------------ */

/* NULL when the IPv4 address a may be a peer's endpoint, else why not. */
static const char *v4_refusal(const unsigned char a[4])
{
    if (a[0] == 127)
        return "the host is a loopback address";
    if (!a[0] && !a[1] && !a[2] && !a[3])
        return "the host is the unspecified address";
    if (a[0] >= 224 && a[0] <= 239)
        return "the host is a multicast address";
    if (a[0] == 169 && a[1] == 254)
        return "the host is a link-local address";
    if (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255) /* as Go's IsGlobalUnicast */
        return "the host is the broadcast address";
    return NULL;
}

static const char *v6_refusal(const unsigned char a[16])
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, mapped, 12) == 0)
        return v4_refusal(a + 12); /* ::ffff:127.0.0.1 is loopback all the same */
    bool zero10 = sodium_is_zero(a, 15);
    if (zero10 && a[15] == 1)
        return "the host is a loopback address";
    if (zero10 && a[15] == 0)
        return "the host is the unspecified address";
    if (a[0] == 0xff)
        return "the host is a multicast address";
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return "the host is a link-local address";
    return NULL;
}

/* host:port or [v6]:port with an IP literal host: NULL when fine, else why
 * not (a static phrase). */
static const char *endpoint_refusal(const char *s, size_t n)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *colon;
    size_t hl;
    bool v6 = n > 0 && s[0] == '[';
    if (n == 0)
        return "empty";
    if (v6) {
        const char *rb = memchr(s, ']', n);
        if (!rb)
            return "no ']' after the IPv6 address";
        if (rb + 1 == s + n || rb[1] != ':')
            return "no ':' and port after ']'";
        colon = rb + 1;
        hl = (size_t)(rb - s - 1);
        if (hl >= sizeof host)
            return "the host is not an IPv6 address";
        memcpy(host, s + 1, hl);
    } else {
        colon = NULL;
        for (size_t i = n; i-- > 0;)
            if (s[i] == ':') {
                colon = s + i;
                break;
            }
        if (!colon)
            return "no ':' and port";
        hl = (size_t)(colon - s);
        if (memchr(s, ':', hl))
            return "an IPv6 host must be in brackets ([addr]:port)";
        if (hl >= sizeof host)
            return "the host is not an IP address (host names are not accepted)";
        memcpy(host, s, hl);
    }
    host[hl] = '\0';
    if (memchr(host, '\0', hl))
        return "the host holds a NUL byte";
    /* the port: 1..65535 in decimal digits, nothing else */
    const char *p = colon + 1, *e = s + n;
    if (p == e)
        return "the port is empty";
    unsigned long port = 0;
    for (; p < e; p++) {
        if (*p < '0' || *p > '9')
            return "the port is not a decimal number";
        port = port * 10 + (unsigned long)(*p - '0');
        if (port > 65535)
            return "the port is outside 1..65535";
    }
    if (port == 0)
        return "the port is outside 1..65535";
    if (v6) {
        unsigned char a[16];
        if (inet_pton(AF_INET6, host, a) != 1)
            return "the host is not an IPv6 address";
        return v6_refusal(a);
    }
    unsigned char a[4];
    if (inet_pton(AF_INET, host, a) != 1)
        return "the host is not an IP address (host names are not accepted)";
    return v4_refusal(a);
}

/* ---- decoding ------------------------------------------------------------- */

typedef enum { K_STRING, K_TIME, K_OBJECT, K_ARRAY, K_STRMAP } field_kind;

typedef struct field {
    const char *name;
    field_kind kind;
    bool required; /* absent (or null) is the malformed code */
} field;

/* The body as one JSON object: 0 with *root (also stored in *doc), or the
 * malformed verdict's status. */
static int load(const char *body, size_t len, const char *malformed, void **doc, json_t **root,
                mk_sb_verdict *v)
{
    json_error_t err;
    char a[SHOWN_CAP], b[SHOWN_CAP * 2];
    *doc = NULL;
    *root = NULL;
    size_t ws = 0; /* JSON's white space only: other blanks are not JSON */
    while (ws < len && (body[ws] == ' ' || body[ws] == '\t' || body[ws] == '\n' || body[ws] == '\r'))
        ws++;
    if (ws == len)
        return fail(v, 400, malformed, "the body is empty; expected a JSON object");
    json_t *j = json_loadb(body, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (!j) {
        size_t pos = err.position < 0 ? 0 : (size_t)err.position;
        if (json_error_code(&err) == json_error_duplicate_key && pos > 0 && pos <= len &&
            body[pos - 1] == '"') {
            /* the token just read is the key: find its opening quote (the
             * first one before it not escaped by an odd run of '\') */
            size_t q = pos - 1;
            while (q > 0) {
                q--;
                if (body[q] != '"')
                    continue;
                size_t bs = 0;
                while (q >= bs + 1 && body[q - bs - 1] == '\\')
                    bs++;
                if (bs % 2 == 0)
                    break;
            }
            json_t *k = json_loadb(body + q, pos - q, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
            if (json_is_string(k)) {
                fail(v, 400, malformed, "duplicate member %s at byte %zu",
                     shown(json_string_value(k), json_string_length(k), a), q);
                json_decref(k);
                return v->status;
            }
            json_decref(k);
        }
        /* jansson's message may quote the text near the error: escaped
         * (without the quotes around the whole: it is not a value) */
        char *t = shown_max(err.text, strnlen(err.text, sizeof err.text), b, sizeof b - 3);
        t[strlen(t) - 1] = '\0';
        return fail(v, 400, malformed, "invalid JSON at byte %zu: %s", pos, t + 1);
    }
    *doc = j;
    if (!json_is_object(j))
        return fail(v, 400, malformed, "the body is %s; expected a JSON object", kind_name(j));
    *root = j;
    return 0;
}

/* "path: " or "" for a top-level member, into buf. */
static const char *at(const char *path, char *buf, size_t cap)
{
    if (!*path)
        return "";
    snprintf(buf, cap, "%s: ", path);
    return buf;
}

/* Decodes object o against its schema fs[0..n): every member known (an
 * unknown one is refused, with a "did you mean"), of its kind, each
 * required one present; vals[i] gets each member's value (NULL when absent
 * or null). path names o in details ("" at the top). */
static int decode_object(const json_t *o, const char *path, const field *fs, size_t n, const json_t **vals,
                         const char *malformed, mk_sb_verdict *v)
{
    char a[SHOWN_CAP], pb[96], mb[SHOWN_CAP];
    const char *names[16];
    const char *key;
    json_t *val;
    for (size_t i = 0; i < n; i++) {
        vals[i] = NULL;
        names[i] = fs[i].name;
    }
    if (!json_is_object(o))
        return fail(v, 400, malformed, "%s: not an object (%s)", path, kind_name(o));
    json_object_foreach((json_t *)o, key, val)
    {
        size_t klen = strlen(key); /* a key with a NUL never matches: refused whole */
        size_t i = 0;
        while (i < n && strcmp(key, fs[i].name) != 0)
            i++;
        if (i == n) {
            char sb[96];
            return fail(v, 400, malformed, "%sunknown member %s%s", at(path, pb, sizeof pb),
                        shown(key, klen, a), did_you_mean(key, names, n, sb, sizeof sb));
        }
        if (json_is_null(val))
            continue;
        snprintf(mb, sizeof mb, "%s%s%s", path, *path ? "." : "", fs[i].name);
        switch (fs[i].kind) {
        case K_STRING:
        case K_TIME:
            if (!json_is_string(val))
                return fail(v, 400, malformed, "%s: not a string (%s)", mb, kind_name(val));
            if (strlen(json_string_value(val)) != json_string_length(val))
                return fail(v, 400, malformed, "%s: holds a NUL character (\\u0000)", mb);
            if (fs[i].kind == K_TIME) {
                int64_t ms;
                if (!mk_sb_time(json_string_value(val), json_string_length(val), &ms))
                    return fail(v, 400, malformed, "%s: not an RFC 3339 date-time: %s", mb,
                                shown(json_string_value(val), json_string_length(val), a));
            }
            break;
        case K_OBJECT:
        case K_STRMAP:
            if (!json_is_object(val))
                return fail(v, 400, malformed, "%s: not an object (%s)", mb, kind_name(val));
            if (fs[i].kind == K_STRMAP) {
                const char *k2;
                json_t *v2;
                json_object_foreach(val, k2, v2)
                {
                    if (!json_is_string(v2))
                        return fail(v, 400, malformed, "%s[%s]: not a string (%s)", mb,
                                    shown(k2, strlen(k2), a), kind_name(v2));
                }
            }
            break;
        case K_ARRAY:
            if (!json_is_array(val))
                return fail(v, 400, malformed, "%s: not an array (%s)", mb, kind_name(val));
            break;
        }
        vals[i] = val;
    }
    for (size_t i = 0; i < n; i++)
        if (fs[i].required && !vals[i])
            return fail(v, 400, malformed, "%s%s%s: missing", path, *path ? "." : "", fs[i].name);
    return 0;
}

/* Decodes each entry of array arr (named name) against fs; the values go
 * to vals[entry * n + field]. */
static int decode_entries(const json_t *arr, const char *name, const field *fs, size_t n, const json_t **vals,
                          const char *malformed, mk_sb_verdict *v)
{
    char path[64];
    for (size_t e = 0; e < json_array_size(arr); e++) {
        snprintf(path, sizeof path, "%s[%zu]", name, e);
        int rc = decode_object(json_array_get(arr, e), path, fs, n, vals + e * n, malformed, v);
        if (rc)
            return rc;
    }
    return 0;
}

static const char *str(const json_t *j)
{
    return j ? json_string_value(j) : NULL;
}

static size_t slen(const json_t *j)
{
    return j ? json_string_length(j) : 0;
}

/* The time member j (already decoded) vs wall_ms: 0, or the skew verdict.
 * An endpoint's report may also be older than the endpoint TTL (ttl_ms >
 * 0). Exactly 60 s either way passes. */
static int skew(const json_t *j, const char *name, int64_t wall_ms, int64_t ttl_ms, const char *code,
                mk_sb_verdict *v)
{
    int64_t t = 0;
    bool sub = false;
    char a[SHOWN_CAP];
    parse_time(str(j), slen(j), &t, &sub);
    /* the time is t + a fraction of a ms when sub: ahead by more than 60 s
     * already at exactly 60 000 ms; behind only from 60 001 */
    int64_t ahead = t - wall_ms, behind = wall_ms - t;
    if (ttl_ms > 0 && behind > ttl_ms)
        return fail(v, 400, code, "%s %s is %lld.%03lld s old, older than the endpoint TTL (%lld s)", name,
                    shown(str(j), slen(j), a), (long long)(behind / 1000), (long long)(behind % 1000),
                    (long long)(ttl_ms / 1000));
    if (ahead > MK_SB_SKEW_MS || (ahead == MK_SB_SKEW_MS && sub))
        return fail(v, 400, code, "%s %s is %s%lld.%03lld s ahead of the server's clock (at most %d s allowed)",
                    name, shown(str(j), slen(j), a), sub ? "over " : "", (long long)(ahead / 1000),
                    (long long)(ahead % 1000), MK_SB_SKEW_MS / 1000);
    if (behind > MK_SB_SKEW_MS)
        return fail(v, 400, code, "%s %s is %lld.%03lld s behind the server's clock (at most %d s allowed)",
                    name, shown(str(j), slen(j), a), (long long)(behind / 1000), (long long)(behind % 1000),
                    MK_SB_SKEW_MS / 1000);
    return 0;
}

#define NFIELDS(fs) (sizeof fs / sizeof fs[0])

/* ---- heartbeat ------------------------------------------------------------ */

int mk_sb_heartbeat_check(const char *body, size_t len, int64_t wall_ms, mk_sb_heartbeat *out, void **doc,
                          mk_sb_verdict *v)
{
    static const char *const M = "malformed_heartbeat_request";
    static const field fs[] = {{"client_now", K_TIME, true},
                               {"binary_checksum", K_STRING, false},
                               {"binary_version", K_STRING, false},
                               {"nat_summary", K_OBJECT, false}};
    enum { CLIENT_NOW, CHECKSUM, VERSION };
    const json_t *vals[NFIELDS(fs)];
    json_t *root;
    char a[SHOWN_CAP];
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = load(body, len, M, doc, &root, v)) ||
        (rc = decode_object(root, "", fs, NFIELDS(fs), vals, M, v)))
        return rc;
    /* the seed: "binary_checksum missing or not a 32-byte SHA-256" */
    if (!vals[CHECKSUM])
        return fail(v, 400, "binary_checksum_empty", "binary_checksum: missing");
    if (!mk_sb_sha256_valid(str(vals[CHECKSUM]), slen(vals[CHECKSUM])))
        return fail(v, 400, "binary_checksum_empty",
                    "binary_checksum: not a SHA-256 (64 hex digits, optionally after \"sha256:\"): %s",
                    shown(str(vals[CHECKSUM]), slen(vals[CHECKSUM]), a));
    if (!vals[VERSION])
        return fail(v, 400, "binary_version_empty", "binary_version: missing");
    if (blank(str(vals[VERSION]), slen(vals[VERSION])))
        return fail(v, 400, "binary_version_empty", "binary_version: empty after trimming white space: %s",
                    shown(str(vals[VERSION]), slen(vals[VERSION]), a));
    if ((rc = skew(vals[CLIENT_NOW], "client_now", wall_ms, 0, "clock_skew", v)))
        return rc;
    out->binary_version = str(vals[VERSION]);
    out->binary_checksum = str(vals[CHECKSUM]);
    mk_sb_time(str(vals[CLIENT_NOW]), slen(vals[CLIENT_NOW]), &out->client_now_ms);
    return 0;
}

/* ---- endpoint ------------------------------------------------------------- */

int mk_sb_endpoint_check(const char *body, size_t len, int64_t wall_ms, mk_sb_endpoint *out, void **doc,
                         mk_sb_verdict *v)
{
    static const char *const M = "malformed_endpoint_request";
    static const field fs[] = {
        {"endpoint", K_STRING, true}, {"nat_type", K_STRING, true}, {"reported_at", K_TIME, true}};
    enum { ENDPOINT, NAT_TYPE, REPORTED_AT };
    const json_t *vals[NFIELDS(fs)];
    json_t *root;
    char a[SHOWN_CAP];
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = load(body, len, M, doc, &root, v)) ||
        (rc = decode_object(root, "", fs, NFIELDS(fs), vals, M, v)))
        return rc;
    const char *why = endpoint_refusal(str(vals[ENDPOINT]), slen(vals[ENDPOINT]));
    if (why)
        return fail(v, 400, "endpoint_unparseable", "endpoint %s: %s (expected host:port or [ipv6]:port with a "
                    "routable IP address and a port in 1..65535)",
                    shown(str(vals[ENDPOINT]), slen(vals[ENDPOINT]), a), why);
    if ((rc = skew(vals[REPORTED_AT], "reported_at", wall_ms, MK_NODE_ENDPOINT_TTL_MS, "endpoint_clock_skew", v)))
        return rc;
    out->endpoint = str(vals[ENDPOINT]);
    out->nat_type = str(vals[NAT_TYPE]);
    mk_sb_time(str(vals[REPORTED_AT]), slen(vals[REPORTED_AT]), &out->reported_at_ms);
    return 0;
}

/* ---- capabilities --------------------------------------------------------- */

int mk_sb_capabilities_check(const char *body, size_t len, mk_caps *out, void **doc, mk_sb_verdict *v)
{
    static const char *const M = "malformed_capabilities_request";
    static const field fs[] = {{"binary_version", K_STRING, true},
                               {"binary_checksum", K_STRING, false},
                               {"ssh_host_key_fingerprint", K_STRING, false},
                               {"declared_hooks", K_ARRAY, false}};
    static const field hf[] = {{"name", K_STRING, false}, {"checksum", K_STRING, false}};
    enum { VERSION, CHECKSUM, FINGERPRINT, HOOKS };
    const json_t *vals[NFIELDS(fs)];
    json_t *root;
    const json_t **hv = NULL;
    char a[SHOWN_CAP];
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = load(body, len, M, doc, &root, v)) ||
        (rc = decode_object(root, "", fs, NFIELDS(fs), vals, M, v)))
        return rc;
    size_t nh = vals[HOOKS] ? json_array_size(vals[HOOKS]) : 0;
    if (nh) {
        hv = malloc(nh * NFIELDS(hf) * sizeof *hv);
        if (!hv)
            return fail(v, 400, M, "declared_hooks: too many to decode"); /* out of memory */
        if ((rc = decode_entries(vals[HOOKS], "declared_hooks", hf, NFIELDS(hf), hv, M, v)))
            goto out;
    }
    if (blank(str(vals[VERSION]), slen(vals[VERSION]))) {
        rc = fail(v, 400, M, "binary_version: empty after trimming white space: %s",
                  shown(str(vals[VERSION]), slen(vals[VERSION]), a));
        goto out;
    }
    if (!vals[CHECKSUM]) {
        rc = fail(v, 400, "binary_checksum_invalid", "binary_checksum: missing");
        goto out;
    }
    if (!mk_sb_sha256_valid(str(vals[CHECKSUM]), slen(vals[CHECKSUM]))) {
        rc = fail(v, 400, "binary_checksum_invalid",
                  "binary_checksum: not a SHA-256 (64 hex digits, optionally after \"sha256:\"): %s",
                  shown(str(vals[CHECKSUM]), slen(vals[CHECKSUM]), a));
        goto out;
    }
    if (vals[FINGERPRINT] && !ssh_fingerprint_valid(str(vals[FINGERPRINT]), slen(vals[FINGERPRINT]))) {
        rc = fail(v, 400, "ssh_host_key_fingerprint_invalid",
                  "ssh_host_key_fingerprint: not \"SHA256:\" and 43 unpadded base64 characters: %s",
                  shown(str(vals[FINGERPRINT]), slen(vals[FINGERPRINT]), a));
        goto out;
    }
    if (nh > MK_NODE_HOOKS_MAX) {
        rc = fail(v, 400, "declared_hooks_too_many", "declared_hooks: %zu entries, at most %d", nh,
                  MK_NODE_HOOKS_MAX);
        goto out;
    }
    for (size_t i = 0; i < nh; i++) {
        const json_t *name = hv[i * 2], *sum = hv[i * 2 + 1];
        if (!name || blank(str(name), slen(name))) {
            rc = fail(v, 400, "declared_hook_invalid", "declared_hooks[%zu].name: %s", i,
                      name ? "empty" : "missing");
            goto out;
        }
        if (!sum || !mk_sb_sha256_valid(str(sum), slen(sum))) {
            if (!sum)
                rc = fail(v, 400, "declared_hook_invalid", "declared_hooks[%zu].checksum: missing", i);
            else
                rc = fail(v, 400, "declared_hook_invalid",
                          "declared_hooks[%zu].checksum: not a SHA-256 (64 hex digits, optionally after "
                          "\"sha256:\"): %s",
                          i, shown(str(sum), slen(sum), a));
            goto out;
        }
    }
    for (size_t i = 1; i < nh; i++)
        for (size_t k = 0; k < i; k++) {
            const json_t *x = hv[i * 2], *y = hv[k * 2];
            if (slen(x) == slen(y) && memcmp(str(x), str(y), slen(x)) == 0) {
                rc = fail(v, 400, "declared_hook_duplicate",
                          "declared_hooks[%zu].name: %s, as declared_hooks[%zu] already", i,
                          shown(str(x), slen(x), a), k);
                goto out;
            }
        }
    out->binary_version = str(vals[VERSION]);
    out->binary_checksum = str(vals[CHECKSUM]);
    out->ssh_host_key_fingerprint = str(vals[FINGERPRINT]);
    out->nhooks = nh;
    for (size_t i = 0; i < nh; i++) {
        out->hooks[i].name = str(hv[i * 2]);
        out->hooks[i].checksum = str(hv[i * 2 + 1]);
    }
    rc = 0;
out:
    free(hv);
    return rc;
}

/* ---- integrity violations ------------------------------------------------- */

int mk_sb_violations_check(const char *body, size_t len, size_t *count, void **doc, mk_sb_verdict *v)
{
    static const char *const M = "malformed_integrity_violations_request";
    static const field fs[] = {{"violations", K_ARRAY, true}};
    static const field ef[] = {{"kind", K_STRING, false},
                               {"detected_by", K_STRING, false},
                               {"artifact_id", K_STRING, false},
                               {"checksum", K_STRING, false},
                               {"host_key_fingerprint", K_STRING, false}};
    enum { KIND, DETECTED_BY, ARTIFACT_ID, CHECKSUM, FINGERPRINT, NEF };
    static const char *const kinds[] = {"binary_checksum_mismatch", "hook_checksum_mismatch",
                                        "ssh_host_key_mismatch"};
    static const char *const detectors[] = {"startup", "watcher", "periodic"};
    const json_t *vals[NFIELDS(fs)];
    json_t *root;
    const json_t **ev = NULL;
    char a[SHOWN_CAP], sb[96];
    int rc;
    *count = 0;
    if ((rc = load(body, len, M, doc, &root, v)) ||
        (rc = decode_object(root, "", fs, NFIELDS(fs), vals, M, v)))
        return rc;
    size_t n = json_array_size(vals[0]);
    if (n) {
        ev = malloc(n * NEF * sizeof *ev);
        if (!ev)
            return fail(v, 400, M, "violations: too many to decode"); /* out of memory */
        if ((rc = decode_entries(vals[0], "violations", ef, NEF, ev, M, v)))
            goto out;
    }
    *count = n;
    if (n == 0) {
        rc = fail(v, 400, "integrity_violations_empty", "violations: empty; at least one violation is needed");
        goto out;
    }
    if (n > MK_SB_VIOLATIONS_MAX) {
        rc = fail(v, 400, "integrity_violations_too_many", "violations: %zu entries, at most %d", n,
                  MK_SB_VIOLATIONS_MAX);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t **e = ev + i * NEF;
        size_t kind = 0, det = 0;
        while (kind < 3 && !(e[KIND] && strcmp(str(e[KIND]), kinds[kind]) == 0))
            kind++;
        if (kind == 3) {
            did_you_mean(str(e[KIND]), kinds, 3, sb, sizeof sb);
            rc = fail(v, 400, "integrity_violation_kind_invalid",
                      "violations[%zu].kind: %s%s; one of binary_checksum_mismatch, hook_checksum_mismatch, "
                      "ssh_host_key_mismatch",
                      i, e[KIND] ? shown(str(e[KIND]), slen(e[KIND]), a) : "missing", sb);
            goto out;
        }
        while (det < 3 && !(e[DETECTED_BY] && strcmp(str(e[DETECTED_BY]), detectors[det]) == 0))
            det++;
        if (det == 3) {
            did_you_mean(str(e[DETECTED_BY]), detectors, 3, sb, sizeof sb);
            rc = fail(v, 400, "integrity_violation_detected_by_invalid",
                      "violations[%zu].detected_by: %s%s; one of startup, watcher, periodic", i,
                      e[DETECTED_BY] ? shown(str(e[DETECTED_BY]), slen(e[DETECTED_BY]), a) : "missing", sb);
            goto out;
        }
        if (!e[ARTIFACT_ID] || blank(str(e[ARTIFACT_ID]), slen(e[ARTIFACT_ID]))) {
            rc = fail(v, 400, "integrity_violation_artifact_id_empty", "violations[%zu].artifact_id: %s", i,
                      e[ARTIFACT_ID] ? "empty" : "missing");
            goto out;
        }
        bool host = kind == 2;
        const char *own = host ? "host_key_fingerprint" : "checksum";
        const char *other = host ? "checksum" : "host_key_fingerprint";
        if (e[host ? CHECKSUM : FINGERPRINT]) {
            rc = fail(v, 400, "integrity_violation_kind_mismatch",
                      "violations[%zu]: kind %s carries %s, not %s", i, kinds[kind], own, other);
            goto out;
        }
        if (!e[host ? FINGERPRINT : CHECKSUM]) {
            rc = fail(v, 400, "integrity_violation_kind_mismatch", "violations[%zu]: kind %s needs %s", i,
                      kinds[kind], own);
            goto out;
        }
        if (!host && !mk_sb_sha256_valid(str(e[CHECKSUM]), slen(e[CHECKSUM]))) {
            rc = fail(v, 400, "integrity_violation_checksum_invalid",
                      "violations[%zu].checksum: not a SHA-256 (64 hex digits, optionally after \"sha256:\"): %s",
                      i, shown(str(e[CHECKSUM]), slen(e[CHECKSUM]), a));
            goto out;
        }
        if (host && !ssh_fingerprint_valid(str(e[FINGERPRINT]), slen(e[FINGERPRINT]))) {
            rc = fail(v, 400, "integrity_violation_host_key_fingerprint_invalid",
                      "violations[%zu].host_key_fingerprint: not \"SHA256:\" and 43 unpadded base64 "
                      "characters: %s",
                      i, shown(str(e[FINGERPRINT]), slen(e[FINGERPRINT]), a));
            goto out;
        }
    }
    rc = 0;
out:
    free(ev);
    return rc;
}

/* ---- key rotation, register ----------------------------------------------- */

int mk_sb_keys_rotate_check(const char *body, size_t len, const char **new_key, void **doc, mk_sb_verdict *v)
{
    static const char *const M = "malformed_keys_rotate_request";
    static const field fs[] = {{"new_public_key", K_STRING, true}};
    const json_t *vals[NFIELDS(fs)];
    json_t *root;
    const char *why;
    char a[SHOWN_CAP];
    int rc;
    *new_key = NULL;
    if ((rc = load(body, len, M, doc, &root, v)) ||
        (rc = decode_object(root, "", fs, NFIELDS(fs), vals, M, v)))
        return rc;
    if (!public_key_valid(str(vals[0]), slen(vals[0]), &why))
        return fail(v, 422, "keys_rotate_public_key_invalid", "new_public_key: %s: %s", why,
                    shown(str(vals[0]), slen(vals[0]), a));
    *new_key = str(vals[0]);
    return 0;
}

int mk_sb_register_check(const char *body, size_t len, mk_sb_register *out, void **doc, mk_sb_verdict *v)
{
    static const char *const M = "malformed_register_request";
    static const field fs[] = {{"token", K_STRING, true},
                               {"public_key", K_STRING, true},
                               {"hostname", K_STRING, true},
                               {"metadata", K_STRMAP, false},
                               {"capabilities", K_OBJECT, false}};
    enum { TOKEN, PUBLIC_KEY, HOSTNAME };
    const json_t *vals[NFIELDS(fs)];
    json_t *root;
    const char *why;
    char a[SHOWN_CAP];
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = load(body, len, M, doc, &root, v)) ||
        (rc = decode_object(root, "", fs, NFIELDS(fs), vals, M, v)))
        return rc;
    if (blank(str(vals[TOKEN]), slen(vals[TOKEN])))
        return fail(v, 400, M, "token: empty");
    if (blank(str(vals[HOSTNAME]), slen(vals[HOSTNAME])))
        return fail(v, 400, M, "hostname: empty");
    /* a host name is at most 253 bytes (RFC 1035); the registry keeps it
     * for the node's life, so nothing longer gets in */
    if (slen(vals[HOSTNAME]) > 253)
        return fail(v, 400, M, "hostname: %zu bytes, more than a host name's 253", slen(vals[HOSTNAME]));
    if (strlen(str(vals[TOKEN])) > 256)
        return fail(v, 400, M, "token: more than 256 bytes");
    if (!public_key_valid(str(vals[PUBLIC_KEY]), slen(vals[PUBLIC_KEY]), &why))
        return fail(v, 422, "register_public_key_invalid", "public_key: %s: %s", why,
                    shown(str(vals[PUBLIC_KEY]), slen(vals[PUBLIC_KEY]), a));
    out->token = str(vals[TOKEN]);
    out->public_key = str(vals[PUBLIC_KEY]);
    out->hostname = str(vals[HOSTNAME]);
    return 0;
}
