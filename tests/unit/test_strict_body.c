/* test_strict_body.c: the strict profile's body checks (src/core/strict_body.c).
 *
 * A table gives, for every code each function can answer, bodies that get
 * exactly that status and code (a table-coverage test proves none is
 * missing), and the good bodies with what they fill in. Then: the order
 * of checks (a body failing two gets the earlier), the 60 s skew
 * boundaries both ways, RFC 3339 and SHA-256 text, and nasty input
 * (empty, null, arrays, deep nesting, NUL, invalid UTF-8, line breaks in
 * values) which must give the malformed code with a one-line detail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strict_body.h"
#include "unit.h"

#define SUM "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SUM2 "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
#define KEY "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
#define FP "SHA256:LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE"
#define NOW "2026-12-06T20:45:00Z"
static const int64_t WALL = 1796589900000; /* NOW in ms */

enum route { HB, EP, CAPS, VIOL, KEYS, REG, NROUTES };
static const char *const route_names[] = {"heartbeat", "endpoint", "capabilities", "violations", "keys_rotate",
                                          "register"};

/* A body written with ' for " (readable in C), as a malloc'd exact copy:
 * ASan sees any read past its end. */
static char *body_of(const char *text, size_t *len)
{
    size_t n = strlen(text);
    char *b = malloc(n ? n : 1);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = text[i] == '\'' ? '"' : text[i];
    *len = n;
    return b;
}

typedef struct result {
    int rc;
    mk_sb_verdict v;
    mk_sb_heartbeat hb;
    mk_sb_endpoint ep;
    mk_caps caps;
    size_t count;
    const char *key;
    mk_sb_register reg;
    void *doc;
} result;

/* Runs route r over raw bytes; the caller frees r->doc. */
static void run_raw(enum route r, const char *b, size_t n, result *res)
{
    memset(res, 0, sizeof *res);
    res->v.status = -1;
    res->count = 12345;
    switch (r) {
    case HB: res->rc = mk_sb_heartbeat_check(b, n, WALL, &res->hb, &res->doc, &res->v); break;
    case EP: res->rc = mk_sb_endpoint_check(b, n, WALL, &res->ep, &res->doc, &res->v); break;
    case CAPS: res->rc = mk_sb_capabilities_check(b, n, &res->caps, &res->doc, &res->v); break;
    case VIOL: res->rc = mk_sb_violations_check(b, n, &res->count, &res->doc, &res->v); break;
    case KEYS: res->rc = mk_sb_keys_rotate_check(b, n, &res->key, &res->doc, &res->v); break;
    case REG: res->rc = mk_sb_register_check(b, n, &res->reg, &res->doc, &res->v); break;
    default: fail();
    }
}

/* A refusal's invariants: its status returned, a code, one line of detail. */
static void refusal_sane(const char *what, const result *res)
{
    if (res->rc != 400 && res->rc != 422)
        fail_msg("%s: rc %d", what, res->rc);
    assert_int_equal(res->v.status, res->rc);
    assert_non_null(res->v.code);
    size_t dl = strnlen(res->v.detail, sizeof res->v.detail);
    assert_true(dl > 0 && dl < sizeof res->v.detail);
    if (strchr(res->v.detail, '\n') || strchr(res->v.detail, '\r'))
        fail_msg("%s: detail has a line break: %s", what, res->v.detail);
}

/* Route r's answer to text: status (0: accepted), code, a detail that
 * contains `detail`. */
static void expect(enum route r, const char *text, int status, const char *code, const char *detail)
{
    size_t n;
    char *b = body_of(text, &n);
    result res;
    run_raw(r, b, n, &res);
    if (status == 0) {
        if (res.rc != 0)
            fail_msg("%s %s: refused %d %s: %s", route_names[r], text, res.rc, res.v.code, res.v.detail);
    } else {
        if (res.rc != status || !res.v.code || strcmp(res.v.code, code) != 0)
            fail_msg("%s %s: want %d %s, got %d %s: %s", route_names[r], text, status, code, res.rc,
                     res.v.code ? res.v.code : "(null)", res.v.detail);
        refusal_sane(text, &res);
        if (detail && !strstr(res.v.detail, detail))
            fail_msg("%s %s: detail \"%s\" does not say \"%s\"", route_names[r], text, res.v.detail, detail);
    }
    mk_sb_free(res.doc);
    free(b);
}

#define HB_OK "'client_now':'" NOW "','binary_checksum':'" SUM "','binary_version':'1.2.3'"
#define EP_OK "'nat_type':'full_cone','reported_at':'" NOW "'"
#define CAPS_OK "'binary_version':'1.2.3','binary_checksum':'" SUM "'"
#define V_SUM(k, d) "{'kind':'" k "','detected_by':'" d "','artifact_id':'plexd','checksum':'" SUM "'}"
#define V_HOST "{'kind':'ssh_host_key_mismatch','detected_by':'periodic','artifact_id':'sshd','host_key_fingerprint':'" FP "'}"
#define REG_OK "'token':'boot','hostname':'n1'"

typedef struct row {
    enum route r;
    const char *body;
    int status;
    const char *code;
    const char *detail;
} row;

static const row table[] = {
    /* ---- heartbeat */
    {HB, "{" HB_OK "}", 0, NULL, NULL},
    {HB, "{" HB_OK ",'nat_summary':{'type':'full_cone'}}", 0, NULL, NULL},
    {HB, "{" HB_OK ",'nat_summary':null}", 0, NULL, NULL},
    {HB, "{" HB_OK ",'foo':1}", 400, "malformed_heartbeat_request", "unknown member \"foo\""},
    {HB, "{" HB_OK ",'binary_versoin':'x'}", 400, "malformed_heartbeat_request",
     "unknown member \"binary_versoin\" (did you mean \"binary_version\"?)"},
    {HB, "{'binary_checksum':'" SUM "','binary_version':'1'}", 400, "malformed_heartbeat_request",
     "client_now: missing"},
    {HB, "{'client_now':null,'binary_checksum':'" SUM "','binary_version':'1'}", 400,
     "malformed_heartbeat_request", "client_now: missing"},
    {HB, "{'client_now':1796589900,'binary_checksum':'" SUM "','binary_version':'1'}", 400,
     "malformed_heartbeat_request", "client_now: not a string (a number)"},
    {HB, "{'client_now':'2026-12-06 20:45:00Z','binary_checksum':'" SUM "','binary_version':'1'}", 400,
     "malformed_heartbeat_request", "client_now: not an RFC 3339 date-time: \"2026-12-06 20:45:00Z\""},
    {HB, "{" HB_OK ",'nat_summary':'cone'}", 400, "malformed_heartbeat_request",
     "nat_summary: not an object (a string)"},
    {HB, "{'client_now':'" NOW "','binary_checksum':'" SUM "','binary_version':7}", 400,
     "malformed_heartbeat_request", "binary_version: not a string (a number)"},
    {HB, "{" HB_OK ",'client_now':'" NOW "'}", 400, "malformed_heartbeat_request",
     "duplicate member \"client_now\""},
    {HB, "[{" HB_OK "}]", 400, "malformed_heartbeat_request", "the body is an array; expected a JSON object"},
    {HB, "{" HB_OK "", 400, "malformed_heartbeat_request", "invalid JSON at byte"},
    {HB, "{'client_now':'" NOW "','binary_version':'1'}", 400, "binary_checksum_empty", "binary_checksum: missing"},
    {HB, "{'client_now':'" NOW "','binary_checksum':null,'binary_version':'1'}", 400, "binary_checksum_empty",
     "binary_checksum: missing"},
    {HB, "{'client_now':'" NOW "','binary_checksum':'','binary_version':'1'}", 400, "binary_checksum_empty",
     "binary_checksum: not a SHA-256"},
    {HB, "{'client_now':'" NOW "','binary_checksum':'abc','binary_version':'1'}", 400, "binary_checksum_empty",
     "\"abc\""},
    {HB, "{'client_now':'" NOW "','binary_checksum':'" SUM "0','binary_version':'1'}", 400,
     "binary_checksum_empty", NULL},
    {HB, "{'client_now':'" NOW "','binary_checksum':'" SUM "'}", 400, "binary_version_empty",
     "binary_version: missing"},
    {HB, "{'client_now':'" NOW "','binary_checksum':'" SUM "','binary_version':''}", 400,
     "binary_version_empty", "binary_version: empty after trimming white space"},
    {HB, "{'client_now':'" NOW "','binary_checksum':'" SUM "','binary_version':' \\t\\n\\u00a0\\u3000'}", 400,
     "binary_version_empty", "\" \\t\\n"},
    {HB, "{'client_now':'2026-12-06T20:46:00.001Z','binary_checksum':'" SUM "','binary_version':'1'}", 400,
     "clock_skew", "60.001 s ahead"},
    {HB, "{'client_now':'2026-12-06T20:43:59.999Z','binary_checksum':'" SUM "','binary_version':'1'}", 400,
     "clock_skew", "60.001 s behind"},
    {HB, "{'client_now':'1970-01-01T00:00:00Z','binary_checksum':'" SUM "','binary_version':'1'}", 400,
     "clock_skew", "behind"},

    /* ---- endpoint */
    {EP, "{'endpoint':'203.0.113.7:51820'," EP_OK "}", 0, NULL, NULL},
    {EP, "{'endpoint':'10.0.0.1:1'," EP_OK "}", 0, NULL, NULL},
    {EP, "{'endpoint':'[2001:db8::1]:65535'," EP_OK "}", 0, NULL, NULL},
    {EP, "{'endpoint':'[::ffff:203.0.113.7]:51820'," EP_OK "}", 0, NULL, NULL},
    {EP, "{'endpoint':'203.0.113.7:51820'," EP_OK ",'port':1}", 400, "malformed_endpoint_request",
     "unknown member \"port\""},
    {EP, "{'endpoint':'203.0.113.7:51820','reported_at':'" NOW "'}", 400, "malformed_endpoint_request",
     "nat_type: missing"},
    {EP, "{'nat_type':'x','reported_at':'" NOW "'}", 400, "malformed_endpoint_request", "endpoint: missing"},
    {EP, "{'endpoint':'203.0.113.7:51820','nat_type':'x'}", 400, "malformed_endpoint_request",
     "reported_at: missing"},
    {EP, "{'endpoint':['203.0.113.7',51820]," EP_OK "}", 400, "malformed_endpoint_request",
     "endpoint: not a string (an array)"},
    {EP, "{'endpoint':'203.0.113.7:51820','nat_type':true,'reported_at':'" NOW "'}", 400,
     "malformed_endpoint_request", "nat_type: not a string (a boolean)"},
    {EP, "{'endpoint':'203.0.113.7:51820','nat_type':'x','reported_at':'yesterday'}", 400,
     "malformed_endpoint_request", "reported_at: not an RFC 3339 date-time: \"yesterday\""},
    {EP, "{'endpoint':'','nat_type':'x','reported_at':'" NOW "'}", 400, "endpoint_unparseable", ": empty"},
    {EP, "{'endpoint':'203.0.113.7'," EP_OK "}", 400, "endpoint_unparseable", "no ':' and port"},
    {EP, "{'endpoint':'203.0.113.7:'," EP_OK "}", 400, "endpoint_unparseable", "the port is empty"},
    {EP, "{'endpoint':'203.0.113.7:0'," EP_OK "}", 400, "endpoint_unparseable", "outside 1..65535"},
    {EP, "{'endpoint':'203.0.113.7:65536'," EP_OK "}", 400, "endpoint_unparseable", "outside 1..65535"},
    {EP, "{'endpoint':'203.0.113.7:99999999999999999999999'," EP_OK "}", 400, "endpoint_unparseable",
     "outside 1..65535"},
    {EP, "{'endpoint':'203.0.113.7:+80'," EP_OK "}", 400, "endpoint_unparseable", "not a decimal number"},
    {EP, "{'endpoint':'203.0.113.7:-80'," EP_OK "}", 400, "endpoint_unparseable", "not a decimal number"},
    {EP, "{'endpoint':'203.0.113.7:0x50'," EP_OK "}", 400, "endpoint_unparseable", "not a decimal number"},
    {EP, "{'endpoint':'203.0.113.7: 80'," EP_OK "}", 400, "endpoint_unparseable", "not a decimal number"},
    {EP, "{'endpoint':'example.com:80'," EP_OK "}", 400, "endpoint_unparseable", "host names are not accepted"},
    {EP, "{'endpoint':'203.0.113:80'," EP_OK "}", 400, "endpoint_unparseable", "not an IP address"},
    {EP, "{'endpoint':':80'," EP_OK "}", 400, "endpoint_unparseable", "not an IP address"},
    {EP, "{'endpoint':'127.0.0.1:80'," EP_OK "}", 400, "endpoint_unparseable", "loopback"},
    {EP, "{'endpoint':'127.255.3.4:80'," EP_OK "}", 400, "endpoint_unparseable", "loopback"},
    {EP, "{'endpoint':'0.0.0.0:80'," EP_OK "}", 400, "endpoint_unparseable", "unspecified"},
    {EP, "{'endpoint':'224.0.0.1:80'," EP_OK "}", 400, "endpoint_unparseable", "multicast"},
    {EP, "{'endpoint':'239.255.255.250:1900'," EP_OK "}", 400, "endpoint_unparseable", "multicast"},
    {EP, "{'endpoint':'169.254.1.1:80'," EP_OK "}", 400, "endpoint_unparseable", "link-local"},
    {EP, "{'endpoint':'[::1]:80'," EP_OK "}", 400, "endpoint_unparseable", "loopback"},
    {EP, "{'endpoint':'[::]:80'," EP_OK "}", 400, "endpoint_unparseable", "unspecified"},
    {EP, "{'endpoint':'[ff02::1]:80'," EP_OK "}", 400, "endpoint_unparseable", "multicast"},
    {EP, "{'endpoint':'[fe80::1]:80'," EP_OK "}", 400, "endpoint_unparseable", "link-local"},
    {EP, "{'endpoint':'[febf::1]:80'," EP_OK "}", 400, "endpoint_unparseable", "link-local"},
    {EP, "{'endpoint':'[fe80::1%eth0]:80'," EP_OK "}", 400, "endpoint_unparseable", "not an IPv6 address"},
    {EP, "{'endpoint':'[::ffff:127.0.0.1]:80'," EP_OK "}", 400, "endpoint_unparseable", "loopback"},
    {EP, "{'endpoint':'[::ffff:169.254.0.1]:80'," EP_OK "}", 400, "endpoint_unparseable", "link-local"},
    {EP, "{'endpoint':'2001:db8::1:80'," EP_OK "}", 400, "endpoint_unparseable", "must be in brackets"},
    {EP, "{'endpoint':'[2001:db8::1]'," EP_OK "}", 400, "endpoint_unparseable", "no ':' and port after ']'"},
    {EP, "{'endpoint':'[2001:db8::1:80'," EP_OK "}", 400, "endpoint_unparseable", "no ']'"},
    {EP, "{'endpoint':'[203.0.113.7]:80'," EP_OK "}", 400, "endpoint_unparseable", "not an IPv6 address"},
    {EP, "{'endpoint':'203.0.113.7:80\\n'," EP_OK "}", 400, "endpoint_unparseable", "\"203.0.113.7:80\\n\""},
    {EP, "{'endpoint':'203.0.113.7:80','nat_type':'x','reported_at':'2026-12-06T20:46:00.001Z'}", 400,
     "endpoint_clock_skew", "60.001 s ahead"},
    {EP, "{'endpoint':'203.0.113.7:80','nat_type':'x','reported_at':'2026-12-06T20:43:59.999Z'}", 400,
     "endpoint_clock_skew", "60.001 s behind"},
    {EP, "{'endpoint':'203.0.113.7:80','nat_type':'x','reported_at':'2026-12-06T20:34:59.999Z'}", 400,
     "endpoint_clock_skew", "older than the endpoint TTL (600 s)"},

    /* ---- capabilities */
    {CAPS, "{" CAPS_OK "}", 0, NULL, NULL},
    {CAPS, "{" CAPS_OK ",'ssh_host_key_fingerprint':'" FP "','declared_hooks':[{'name':'a','checksum':'" SUM
           "'},{'name':'b','checksum':'" SUM2 "'}]}",
     0, NULL, NULL},
    {CAPS, "{" CAPS_OK ",'declared_hooks':[]}", 0, NULL, NULL},
    {CAPS, "{" CAPS_OK ",'hooks':[]}", 400, "malformed_capabilities_request", "unknown member \"hooks\""},
    {CAPS, "{'binary_checksum':'" SUM "'}", 400, "malformed_capabilities_request", "binary_version: missing"},
    {CAPS, "{'binary_version':'','binary_checksum':'" SUM "'}", 400, "malformed_capabilities_request",
     "binary_version: empty"},
    {CAPS, "{'binary_version':'  ','binary_checksum':'" SUM "'}", 400, "malformed_capabilities_request",
     "binary_version: empty"},
    {CAPS, "{" CAPS_OK ",'declared_hooks':{}}", 400, "malformed_capabilities_request",
     "declared_hooks: not an array (an object)"},
    {CAPS, "{" CAPS_OK ",'declared_hooks':['a']}", 400, "malformed_capabilities_request",
     "declared_hooks[0]: not an object (a string)"},
    {CAPS, "{" CAPS_OK ",'declared_hooks':[{'name':'a','checksum':'" SUM "','path':'/x'}]}", 400,
     "malformed_capabilities_request", "declared_hooks[0]: unknown member \"path\""},
    {CAPS, "{" CAPS_OK ",'declared_hooks':[{'name':'a','checksum':'" SUM "'},{'name':1}]}", 400,
     "malformed_capabilities_request", "declared_hooks[1].name: not a string (a number)"},
    {CAPS, "{" CAPS_OK ",'ssh_host_key_fingerprint':42}", 400, "malformed_capabilities_request",
     "ssh_host_key_fingerprint: not a string (a number)"},
    {CAPS, "{'binary_version':'1'}", 400, "binary_checksum_invalid", "binary_checksum: missing"},
    {CAPS, "{'binary_version':'1','binary_checksum':'md5:abc'}", 400, "binary_checksum_invalid",
     "not a SHA-256"},
    {CAPS, "{" CAPS_OK ",'ssh_host_key_fingerprint':''}", 400, "ssh_host_key_fingerprint_invalid", "\"\""},
    {CAPS, "{" CAPS_OK ",'ssh_host_key_fingerprint':'SHA256:LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE='}", 400,
     "ssh_host_key_fingerprint_invalid", NULL},
    {CAPS, "{" CAPS_OK ",'ssh_host_key_fingerprint':'sha256:LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE'}", 400,
     "ssh_host_key_fingerprint_invalid", NULL},
    {CAPS, "{" CAPS_OK ",'ssh_host_key_fingerprint':'SHA256:LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIF'}", 400,
     "ssh_host_key_fingerprint_invalid", NULL}, /* non-zero unused bits */
    {CAPS, "{" CAPS_OK ",'ssh_host_key_fingerprint':'SHA256:LXEWQrcmsEQBYnyp-6wy9chTD7GQPMTbAiWHF5IaSIE'}", 400,
     "ssh_host_key_fingerprint_invalid", NULL}, /* URL-safe alphabet */
    {CAPS, "{" CAPS_OK ",'declared_hooks':[{'checksum':'" SUM "'}]}", 400, "declared_hook_invalid",
     "declared_hooks[0].name: missing"},
    {CAPS, "{" CAPS_OK ",'declared_hooks':[{'name':' ','checksum':'" SUM "'}]}", 400, "declared_hook_invalid",
     "declared_hooks[0].name: empty"},
    {CAPS, "{" CAPS_OK ",'declared_hooks':[{'name':'a','checksum':'" SUM "'},{'name':'b'}]}", 400,
     "declared_hook_invalid", "declared_hooks[1].checksum: missing"},
    {CAPS, "{" CAPS_OK ",'declared_hooks':[{'name':'a','checksum':'zz'}]}", 400, "declared_hook_invalid",
     "declared_hooks[0].checksum: not a SHA-256"},
    {CAPS, "{" CAPS_OK ",'declared_hooks':[{'name':'a','checksum':'" SUM "'},{'name':'b','checksum':'" SUM
           "'},{'name':'a','checksum':'" SUM "'}]}",
     400, "declared_hook_duplicate", "declared_hooks[2].name: \"a\", as declared_hooks[0] already"},

    /* ---- integrity violations */
    {VIOL, "{'violations':[" V_SUM("binary_checksum_mismatch", "startup") "]}", 0, NULL, NULL},
    {VIOL, "{'violations':[" V_SUM("hook_checksum_mismatch", "watcher") "," V_HOST "]}", 0, NULL, NULL},
    {VIOL, "{'violations':[],'batch':1}", 400, "malformed_integrity_violations_request",
     "unknown member \"batch\""},
    {VIOL, "{}", 400, "malformed_integrity_violations_request", "violations: missing"},
    {VIOL, "{'violations':{}}", 400, "malformed_integrity_violations_request", "violations: not an array"},
    {VIOL, "{'violations':[1]}", 400, "malformed_integrity_violations_request",
     "violations[0]: not an object (a number)"},
    {VIOL, "{'violations':[{'kind':'ssh_host_key_mismatch','detected_by':'periodic','artifact_id':'s',"
           "'host_key_fingerprint':'" FP "','kinds':1}]}",
     400, "malformed_integrity_violations_request", "violations[0]: unknown member \"kinds\" (did you mean \"kind\"?)"},
    {VIOL, "{'violations':[{'kind':'ssh_host_key_mismatch','kind':'x'}]}", 400,
     "malformed_integrity_violations_request", "duplicate member \"kind\""},
    {VIOL, "{'violations':[]}", 400, "integrity_violations_empty", "violations: empty"},
    {VIOL, "{'violations':[{'kind':'binary_mismatch','detected_by':'startup','artifact_id':'a','checksum':'" SUM
           "'}]}",
     400, "integrity_violation_kind_invalid", "violations[0].kind: \"binary_mismatch\""},
    {VIOL, "{'violations':[{'detected_by':'startup','artifact_id':'a','checksum':'" SUM "'}]}", 400,
     "integrity_violation_kind_invalid", "violations[0].kind: missing"},
    {VIOL, "{'violations':[" V_SUM("binary_checksum_mismatch", "startpu") "]}", 400,
     "integrity_violation_detected_by_invalid", "(did you mean \"startup\"?)"},
    {VIOL, "{'violations':[{'kind':'binary_checksum_mismatch','artifact_id':'a','checksum':'" SUM "'}]}", 400,
     "integrity_violation_detected_by_invalid", "violations[0].detected_by: missing"},
    {VIOL, "{'violations':[{'kind':'binary_checksum_mismatch','detected_by':'startup','checksum':'" SUM "'}]}",
     400, "integrity_violation_artifact_id_empty", "violations[0].artifact_id: missing"},
    {VIOL, "{'violations':[{'kind':'binary_checksum_mismatch','detected_by':'startup','artifact_id':'',"
           "'checksum':'" SUM "'}]}",
     400, "integrity_violation_artifact_id_empty", "violations[0].artifact_id: empty"},
    {VIOL, "{'violations':[{'kind':'binary_checksum_mismatch','detected_by':'startup','artifact_id':'a'}]}", 400,
     "integrity_violation_kind_mismatch", "needs checksum"},
    {VIOL, "{'violations':[{'kind':'hook_checksum_mismatch','detected_by':'startup','artifact_id':'a',"
           "'checksum':'" SUM "','host_key_fingerprint':'" FP "'}]}",
     400, "integrity_violation_kind_mismatch", "carries checksum, not host_key_fingerprint"},
    {VIOL, "{'violations':[{'kind':'ssh_host_key_mismatch','detected_by':'startup','artifact_id':'a',"
           "'checksum':'" SUM "'}]}",
     400, "integrity_violation_kind_mismatch", "carries host_key_fingerprint, not checksum"},
    {VIOL, "{'violations':[{'kind':'ssh_host_key_mismatch','detected_by':'startup','artifact_id':'a'}]}", 400,
     "integrity_violation_kind_mismatch", "needs host_key_fingerprint"},
    {VIOL, "{'violations':[{'kind':'binary_checksum_mismatch','detected_by':'startup','artifact_id':'a',"
           "'checksum':'x'}]}",
     400, "integrity_violation_checksum_invalid", "violations[0].checksum: not a SHA-256"},
    {VIOL, "{'violations':[{'kind':'ssh_host_key_mismatch','detected_by':'startup','artifact_id':'a',"
           "'host_key_fingerprint':'" SUM "'}]}",
     400, "integrity_violation_host_key_fingerprint_invalid", "violations[0].host_key_fingerprint"},

    /* ---- POST /v1/keys/rotate */
    {KEYS, "{'new_public_key':'" KEY "'}", 0, NULL, NULL},
    {KEYS, "{'new_public_key':'" KEY "','node_id':'x'}", 400, "malformed_keys_rotate_request",
     "unknown member \"node_id\""},
    {KEYS, "{}", 400, "malformed_keys_rotate_request", "new_public_key: missing"},
    {KEYS, "{'new_public_key':null}", 400, "malformed_keys_rotate_request", "new_public_key: missing"},
    {KEYS, "{'new_public_key':{}}", 400, "malformed_keys_rotate_request", "new_public_key: not a string (an object)"},
    {KEYS, "{'new_public_key':''}", 422, "keys_rotate_public_key_invalid", "not standard base64"},
    {KEYS, "{'new_public_key':'AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ=='}", 422,
     "keys_rotate_public_key_invalid", "exactly 32 bytes"}, /* 31 bytes */
    {KEYS, "{'new_public_key':'AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE'}", 422,
     "keys_rotate_public_key_invalid", "with padding"},
    {KEYS, "{'new_public_key':'AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=='}", 422,
     "keys_rotate_public_key_invalid", NULL},
    {KEYS, "{'new_public_key':'AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ_='}", 422,
     "keys_rotate_public_key_invalid", NULL},
    {KEYS, "{'new_public_key':'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='}", 422,
     "keys_rotate_public_key_invalid", "the all-zero key"},

    /* ---- register */
    {REG, "{" REG_OK ",'public_key':'" KEY "'}", 0, NULL, NULL},
    {REG, "{" REG_OK ",'public_key':'" KEY "','metadata':{'os':'linux'},'capabilities':{'hooks':[]}}", 0, NULL,
     NULL},
    {REG, "{" REG_OK ",'public_key':'" KEY "','mesh_ip':'x'}", 400, "malformed_register_request",
     "unknown member \"mesh_ip\""},
    {REG, "{'hostname':'n1','public_key':'" KEY "'}", 400, "malformed_register_request", "token: missing"},
    {REG, "{'token':'','hostname':'n1','public_key':'" KEY "'}", 400, "malformed_register_request",
     "token: empty"},
    {REG, "{'token':'b','public_key':'" KEY "'}", 400, "malformed_register_request", "hostname: missing"},
    {REG, "{'token':'b','hostname':' ','public_key':'" KEY "'}", 400, "malformed_register_request",
     "hostname: empty"},
    {REG, "{" REG_OK "}", 400, "malformed_register_request", "public_key: missing"},
    {REG, "{" REG_OK ",'public_key':'" KEY "','metadata':{'os':1}}", 400, "malformed_register_request",
     "metadata[\"os\"]: not a string (a number)"},
    {REG, "{" REG_OK ",'public_key':'" KEY "','capabilities':[]}", 400, "malformed_register_request",
     "capabilities: not an object (an array)"},
    {REG, "{" REG_OK ",'public_key':'wg-pub-key'}", 422, "register_public_key_invalid", "public_key: not standard"},
    {REG, "{" REG_OK ",'public_key':'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='}", 422,
     "register_public_key_invalid", "the all-zero key"},
};

static void test_sb_table(void **st)
{
    (void)st;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        expect(table[i].r, table[i].body, table[i].status, table[i].code, table[i].detail);
}

/* Every code each function can answer has a row in the table (and a
 * good body per route). */
static void test_sb_table_covers_every_code(void **st)
{
    (void)st;
    static const struct {
        enum route r;
        const char *code;
    } codes[] = {
        {HB, NULL},
        {HB, "malformed_heartbeat_request"},
        {HB, "binary_checksum_empty"},
        {HB, "binary_version_empty"},
        {HB, "clock_skew"},
        {EP, NULL},
        {EP, "malformed_endpoint_request"},
        {EP, "endpoint_unparseable"},
        {EP, "endpoint_clock_skew"},
        {CAPS, NULL},
        {CAPS, "malformed_capabilities_request"},
        {CAPS, "binary_checksum_invalid"},
        {CAPS, "ssh_host_key_fingerprint_invalid"},
        {CAPS, "declared_hooks_too_many"}, /* test_sb_many: generated */
        {CAPS, "declared_hook_invalid"},
        {CAPS, "declared_hook_duplicate"},
        {VIOL, NULL},
        {VIOL, "malformed_integrity_violations_request"},
        {VIOL, "integrity_violations_empty"},
        {VIOL, "integrity_violations_too_many"}, /* test_sb_many: generated */
        {VIOL, "integrity_violation_kind_invalid"},
        {VIOL, "integrity_violation_detected_by_invalid"},
        {VIOL, "integrity_violation_artifact_id_empty"},
        {VIOL, "integrity_violation_kind_mismatch"},
        {VIOL, "integrity_violation_checksum_invalid"},
        {VIOL, "integrity_violation_host_key_fingerprint_invalid"},
        {KEYS, NULL},
        {KEYS, "malformed_keys_rotate_request"},
        {KEYS, "keys_rotate_public_key_invalid"},
        {REG, NULL},
        {REG, "malformed_register_request"},
        {REG, "register_public_key_invalid"},
    };
    for (size_t c = 0; c < sizeof codes / sizeof codes[0]; c++) {
        if (codes[c].code && strstr(codes[c].code, "too_many"))
            continue;
        bool found = false;
        for (size_t i = 0; i < sizeof table / sizeof table[0] && !found; i++)
            found = table[i].r == codes[c].r &&
                    (codes[c].code ? table[i].code && strcmp(table[i].code, codes[c].code) == 0 : !table[i].code);
        if (!found)
            fail_msg("%s: no row for %s", route_names[codes[c].r], codes[c].code ? codes[c].code : "success");
    }
}

/* What the good bodies fill in (pointing into the document). */
static void test_sb_out_fields(void **st)
{
    (void)st;
    size_t n;
    char *b;
    result r;

    b = body_of("{'client_now':'2026-12-06T21:45:30.250+01:00','binary_checksum':'" SUM
                "','binary_version':' 1.2.3 '}",
                &n);
    run_raw(HB, b, n, &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.hb.binary_version, " 1.2.3 ");
    assert_string_equal(r.hb.binary_checksum, SUM);
    assert_true(r.hb.client_now_ms == WALL + 30250);
    mk_sb_free(r.doc);
    free(b);

    b = body_of("{'endpoint':'[2001:db8::7]:51820','nat_type':'symmetric','reported_at':'2026-12-06T20:44:01Z'}",
                &n);
    run_raw(EP, b, n, &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.ep.endpoint, "[2001:db8::7]:51820");
    assert_string_equal(r.ep.nat_type, "symmetric");
    assert_true(r.ep.reported_at_ms == WALL - 59000);
    mk_sb_free(r.doc);
    free(b);

    b = body_of("{'binary_version':'2.0','binary_checksum':'" SUM2 "','ssh_host_key_fingerprint':'" FP
                "','declared_hooks':[{'name':'pre','checksum':'" SUM "'},{'name':'post','checksum':'" SUM "'}]}",
                &n);
    run_raw(CAPS, b, n, &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.caps.binary_version, "2.0");
    assert_string_equal(r.caps.binary_checksum, SUM2);
    assert_string_equal(r.caps.ssh_host_key_fingerprint, FP);
    assert_int_equal(r.caps.nhooks, 2);
    assert_string_equal(r.caps.hooks[0].name, "pre");
    assert_string_equal(r.caps.hooks[1].name, "post");
    assert_string_equal(r.caps.hooks[1].checksum, SUM);
    mk_sb_free(r.doc);
    free(b);

    b = body_of("{'binary_version':'2.0','binary_checksum':'" SUM "','ssh_host_key_fingerprint':null}", &n);
    run_raw(CAPS, b, n, &r);
    assert_int_equal(r.rc, 0);
    assert_null(r.caps.ssh_host_key_fingerprint);
    assert_int_equal(r.caps.nhooks, 0);
    mk_sb_free(r.doc);
    free(b);

    b = body_of("{'violations':[" V_SUM("binary_checksum_mismatch", "startup") "," V_HOST "," V_HOST "]}", &n);
    run_raw(VIOL, b, n, &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.count, 3);
    mk_sb_free(r.doc);
    free(b);

    b = body_of("{'new_public_key':'" KEY "'}", &n);
    run_raw(KEYS, b, n, &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.key, KEY);
    mk_sb_free(r.doc);
    free(b);

    b = body_of("{'token':'boot-1','public_key':'" KEY "','hostname':'node-a'}", &n);
    run_raw(REG, b, n, &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.reg.token, "boot-1");
    assert_string_equal(r.reg.public_key, KEY);
    assert_string_equal(r.reg.hostname, "node-a");
    mk_sb_free(r.doc);
    free(b);
}

/* A body failing two checks gets the earlier one in the header's order. */
static void test_sb_order(void **st)
{
    (void)st;
    /* heartbeat: malformed > checksum > version > skew */
    expect(HB, "{'client_now':'1970-01-01T00:00:00Z','binary_checksum':'x','binary_version':'','x':1}", 400,
           "malformed_heartbeat_request", "unknown member \"x\"");
    expect(HB, "{'client_now':'1970-01-01T00:00:00Z','binary_checksum':'x','binary_version':''}", 400,
           "binary_checksum_empty", NULL);
    expect(HB, "{'client_now':'1970-01-01T00:00:00Z','binary_version':''}", 400, "binary_checksum_empty", NULL);
    expect(HB, "{'client_now':'1970-01-01T00:00:00Z','binary_checksum':'" SUM "','binary_version':''}", 400,
           "binary_version_empty", NULL);
    /* endpoint: malformed > unparseable > skew */
    expect(EP, "{'endpoint':'127.0.0.1:0','nat_type':5,'reported_at':'1970-01-01T00:00:00Z'}", 400,
           "malformed_endpoint_request", "nat_type");
    expect(EP, "{'endpoint':'127.0.0.1:80','nat_type':'x','reported_at':'1970-01-01T00:00:00Z'}", 400,
           "endpoint_unparseable", "loopback");
    /* capabilities: malformed (anywhere, even in hook 70 of 70) > checksum >
     * fingerprint > too many > invalid hook > duplicate */
    expect(CAPS, "{'binary_version':'','binary_checksum':'x','ssh_host_key_fingerprint':'x'}", 400,
           "malformed_capabilities_request", "binary_version: empty");
    expect(CAPS, "{'binary_version':'1','binary_checksum':'x','ssh_host_key_fingerprint':'x'}", 400,
           "binary_checksum_invalid", NULL);
    expect(CAPS, "{'binary_version':'1','ssh_host_key_fingerprint':'x'}", 400, "binary_checksum_invalid", NULL);
    expect(CAPS, "{" CAPS_OK ",'ssh_host_key_fingerprint':'x','declared_hooks':[{'name':''}]}", 400,
           "ssh_host_key_fingerprint_invalid", NULL);
    expect(CAPS, "{" CAPS_OK ",'declared_hooks':[{'name':'a','checksum':'" SUM "'},{'name':'a','checksum':'" SUM
                 "'},{'name':'b','checksum':'x'}]}",
           400, "declared_hook_invalid", "declared_hooks[2].checksum"); /* every entry's validity first */
    /* violations: malformed (a later entry) > empty/too many > per entry in order */
    expect(VIOL, "{'violations':[{'kind':'nope'},{'kind':1}]}", 400, "malformed_integrity_violations_request",
           "violations[1].kind: not a string (a number)");
    expect(VIOL, "{'violations':[{'kind':'binary_checksum_mismatch','detected_by':'startup','artifact_id':'a',"
                 "'checksum':'x'},{'kind':'nope'}]}",
           400, "integrity_violation_checksum_invalid", "violations[0]");
    expect(VIOL, "{'violations':[{'kind':'nope','detected_by':'nope','artifact_id':''}]}", 400,
           "integrity_violation_kind_invalid", NULL);
    expect(VIOL, "{'violations':[{'kind':'hook_checksum_mismatch','detected_by':'nope','artifact_id':''}]}", 400,
           "integrity_violation_detected_by_invalid", NULL);
    expect(VIOL, "{'violations':[{'kind':'hook_checksum_mismatch','detected_by':'watcher','artifact_id':'',"
                 "'host_key_fingerprint':'x'}]}",
           400, "integrity_violation_artifact_id_empty", NULL);
    expect(VIOL, "{'violations':[{'kind':'hook_checksum_mismatch','detected_by':'watcher','artifact_id':'a',"
                 "'checksum':'x','host_key_fingerprint':'x'}]}",
           400, "integrity_violation_kind_mismatch", NULL);
    /* keys, register: malformed > 422 */
    expect(KEYS, "{'new_public_key':'x','x':1}", 400, "malformed_keys_rotate_request", NULL);
    expect(REG, "{'token':'','hostname':'h','public_key':'x'}", 400, "malformed_register_request", "token");
}

/* Lists over the limit, built here: 65 hooks, 101 violations. */
static void test_sb_many(void **st)
{
    (void)st;
    enum { CAP = 40000 };
    char *t = malloc(CAP);
    assert_non_null(t);
    size_t w;

    /* 64 hooks pass, 65 are too many, even when one of them is also invalid */
    for (int n = 64; n <= 66; n++) {
        w = (size_t)snprintf(t, CAP, "{" CAPS_OK ",'declared_hooks':[");
        for (int i = 0; i < n; i++)
            w += (size_t)snprintf(t + w, CAP - w, "%s{'name':'h%d','checksum':'%s'}", i ? "," : "", i,
                                  n == 66 && i == 3 ? "bad" : SUM);
        snprintf(t + w, CAP - w, "]}");
        if (n == 64)
            expect(CAPS, t, 0, NULL, NULL);
        else
            expect(CAPS, t, 400, "declared_hooks_too_many", n == 65 ? "65 entries, at most 64" : "66 entries");
    }
    /* 100 violations pass, 101 are too many, before any entry's own check */
    for (int n = 100; n <= 102; n++) {
        w = (size_t)snprintf(t, CAP, "{'violations':[");
        for (int i = 0; i < n; i++)
            w += (size_t)snprintf(t + w, CAP - w, "%s%s", i ? "," : "",
                                  n == 102 && i == 0 ? "{'kind':'nope'}" : V_SUM("hook_checksum_mismatch", "periodic"));
        snprintf(t + w, CAP - w, "]}");
        if (n == 100)
            expect(VIOL, t, 0, NULL, NULL);
        else
            expect(VIOL, t, 400, "integrity_violations_too_many", n == 101 ? "101 entries, at most 100" : NULL);
    }
    /* a malformed entry past the limit still makes the body malformed */
    w = (size_t)snprintf(t, CAP, "{'violations':[");
    for (int i = 0; i < 150; i++)
        w += (size_t)snprintf(t + w, CAP - w, "%s%s", i ? "," : "",
                              i == 149 ? "{'kind':[]}" : V_SUM("hook_checksum_mismatch", "periodic"));
    snprintf(t + w, CAP - w, "]}");
    expect(VIOL, t, 400, "malformed_integrity_violations_request", "violations[149].kind: not a string");
    free(t);
}

/* client_now / reported_at: exactly 60 s either way passes; 1 ms more (or
 * a fraction of one, ahead) fails. */
static void test_sb_skew_boundaries(void **st)
{
    (void)st;
    static const struct {
        const char *t;
        bool ok;
    } cases[] = {
        {"2026-12-06T20:46:00Z", true},           /* +60 s */
        {"2026-12-06T20:46:00.000000000Z", true}, /* +60 s, nanoseconds */
        {"2026-12-06T20:46:00.001Z", false},      /* +60.001 s */
        {"2026-12-06T20:46:00.0001Z", false},     /* +60.0001 s */
        {"2026-12-06T20:44:00Z", true},           /* -60 s */
        {"2026-12-06T20:44:00.0009Z", true},      /* -59.9991 s */
        {"2026-12-06T20:43:59.999Z", false},      /* -60.001 s */
        {"2026-12-06T20:43:59.9999Z", false},     /* -60.0001 s */
        {"2026-12-06T21:46:00+01:00", true},      /* +60 s, as an offset */
        {"2026-12-06T19:44:00-01:00", true},      /* -60 s */
        {"2026-12-06T19:43:59.999-01:00", false}, /* -60.001 s */
        {"2026-12-06T20:45:00-00:00", true},
    };
    char body[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(body, sizeof body, "{'client_now':'%s','binary_checksum':'" SUM "','binary_version':'1'}",
                 cases[i].t);
        expect(HB, body, cases[i].ok ? 0 : 400, "clock_skew", NULL);
        snprintf(body, sizeof body, "{'endpoint':'198.51.100.1:9','nat_type':'x','reported_at':'%s'}", cases[i].t);
        expect(EP, body, cases[i].ok ? 0 : 400, "endpoint_clock_skew", NULL);
    }
}

static void time_ok(const char *s, int64_t want)
{
    int64_t ms = 0;
    size_t n = strlen(s);
    char *b = malloc(n + 1);
    assert_non_null(b);
    memcpy(b, s, n); /* no NUL: the parser keeps to len */
    if (!mk_sb_time(b, n, &ms))
        fail_msg("%s: refused", s);
    if (ms != want)
        fail_msg("%s: %lld, want %lld", s, (long long)ms, (long long)want);
    free(b);
}

static void time_bad(const char *s)
{
    int64_t ms = 0;
    size_t n = strlen(s);
    char *b = malloc(n + 1);
    assert_non_null(b);
    memcpy(b, s, n);
    if (mk_sb_time(b, n, &ms))
        fail_msg("%s: accepted (%lld)", s, (long long)ms);
    free(b);
}

static void test_sb_time(void **st)
{
    (void)st;
    time_ok("1970-01-01T00:00:00Z", 0);
    time_ok("1969-12-31T23:59:59.999Z", -1);
    time_ok("0000-01-01T00:00:00Z", -62167219200000LL);
    time_ok("9999-12-31T23:59:59.999Z", 253402300799999LL);
    time_ok(NOW, WALL);
    /* Go's time.Time decoding (the production API's): what it takes, and
     * only that (gojson.h gj_time_parse) */
    time_bad("2026-12-06t20:45:00z");            /* lower-case T and Z */
    time_ok("2026-12-06T20:45:00,5Z", WALL + 500); /* a comma before the fraction */
    time_ok("2026-12-06T2:45:00Z", WALL - 64800000); /* a one-digit hour */
    time_ok("2026-12-06T20:45:00.5Z", WALL + 500);
    time_ok("2026-12-06T20:45:00.12Z", WALL + 120);
    time_ok("2026-12-06T20:45:00.123456789Z", WALL + 123);
    time_ok("2026-12-07T02:15:00+05:30", WALL);
    time_ok("2026-12-06T15:45:00-05:00", WALL);
    time_ok("2026-12-06T20:45:00+00:00", WALL);
    time_ok("2024-02-29T00:00:00Z", 1709164800000LL);
    time_ok("2000-02-29T00:00:00Z", 951782400000LL);
    time_ok("2026-12-31T23:59:59Z", 1798761599000LL);
    time_bad("");
    time_bad("2026-12-06");
    time_bad("2026-12-06T20:45:00");     /* no zone */
    time_bad("2026-12-06 20:45:00Z");    /* a space */
    time_bad("2026-12-06T20:45Z");       /* no seconds */
    time_bad("2026-12-06T20:45:00.Z");   /* a point without digits */
    time_bad("2026-12-06T20:45:00ZZ");
    time_bad("2026-12-06T20:45:00Z ");
    time_bad("2026-12-06T20:45:00+0100");
    time_bad("2026-12-06T20:45:00+01");
    time_ok("2026-12-06T20:45:00+24:00", WALL - 86400000); /* Go takes hours up to 24 */
    time_ok("2026-12-06T20:45:00+01:60", WALL - 7200000); /* and minutes up to 60 */
    time_bad("2026-12-06T20:45:00UTC");
    time_bad("2026-13-06T20:45:00Z");
    time_bad("2026-00-06T20:45:00Z");
    time_bad("2026-12-00T20:45:00Z");
    time_bad("2026-12-32T20:45:00Z");
    time_bad("2026-04-31T20:45:00Z");
    time_bad("2023-02-29T00:00:00Z");
    time_bad("2100-02-29T00:00:00Z");
    time_bad("2026-12-06T24:00:00Z");
    time_bad("2026-12-06T20:60:00Z");
    time_bad("2026-12-06T23:59:60Z"); /* leap seconds: refused, as Go's time package does */
    time_bad("+2026-12-06T20:45:00Z");
    time_bad("20261206T204500Z");
    time_bad("2026-1-06T20:45:00Z");
    time_bad("-026-12-06T20:45:00Z");
    time_bad("1796589900");
    /* a shorter len ends the text there */
    int64_t ms;
    assert_false(mk_sb_time(NOW, strlen(NOW) - 1, &ms));
    assert_true(mk_sb_time(NOW "junk", strlen(NOW), &ms) && ms == WALL);
}

static void test_sb_sha256(void **st)
{
    (void)st;
    assert_true(mk_sb_sha256_valid(SUM, 64));
    assert_true(mk_sb_sha256_valid(SUM2, strlen(SUM2)));
    assert_true(mk_sb_sha256_valid("sha256:" SUM, 71));
    assert_false(mk_sb_sha256_valid(SUM, 63));
    assert_false(mk_sb_sha256_valid(SUM "0", 65));
    assert_false(mk_sb_sha256_valid("", 0));
    assert_false(mk_sb_sha256_valid("sha256:", 7));
    assert_false(mk_sb_sha256_valid("SHA256:" SUM, 71));
    assert_false(mk_sb_sha256_valid("sha256:sha256:" SUM, 78));
    assert_false(mk_sb_sha256_valid("g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 64));
    assert_false(mk_sb_sha256_valid(" 3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 64));
}

/* Bytes no route takes: the malformed code, a one-line detail, no crash. */
static void nasty(const char *b, size_t n, const char *detail)
{
    static const char *const malformed[] = {"malformed_heartbeat_request", "malformed_endpoint_request",
                                            "malformed_capabilities_request",
                                            "malformed_integrity_violations_request",
                                            "malformed_keys_rotate_request", "malformed_register_request"};
    char *c = malloc(n ? n : 1);
    assert_non_null(c);
    if (n)
        memcpy(c, b, n);
    for (int r = 0; r < NROUTES; r++) {
        result res;
        run_raw((enum route)r, c, n, &res);
        refusal_sane(route_names[r], &res);
        if (res.rc != 400 || strcmp(res.v.code, malformed[r]) != 0)
            fail_msg("%s: %d %s: %s", route_names[r], res.rc, res.v.code, res.v.detail);
        if (detail && !strstr(res.v.detail, detail))
            fail_msg("%s: detail \"%s\" does not say \"%s\"", route_names[r], res.v.detail, detail);
        mk_sb_free(res.doc);
    }
    free(c);
}

#define NASTY(lit, detail) nasty(lit, sizeof lit - 1, detail)

static void test_sb_nasty(void **st)
{
    (void)st;
    NASTY("", "the body is empty");
    NASTY(" \r\n\t", "the body is empty");
    NASTY("\xc2\xa0", "invalid JSON"); /* a no-break space is not JSON's white space */
    NASTY("null", "the body is null; expected a JSON object");
    NASTY("[]", "the body is an array");
    NASTY("\"{}\"", "the body is a string");
    NASTY("42", "the body is a number");
    NASTY("true", "the body is a boolean");
    NASTY("{} {}", "invalid JSON at byte");
    NASTY("{}x", "invalid JSON");
    NASTY("{'a'}", "invalid JSON");
    NASTY("{\"a\":1,}", "invalid JSON");
    NASTY("\xef\xbb\xbf{}", "invalid JSON"); /* a byte-order mark */
    NASTY("{\"a\x00\":1}", "invalid JSON");  /* a raw NUL */
    NASTY("{\"x\":\"a\x00b\"}", "invalid JSON");
    NASTY("{\"x\":\"\xff\"}", "invalid JSON");              /* invalid UTF-8 in a value */
    NASTY("{\"\xc0\xaf\":1}", "invalid JSON");              /* an overlong form in a key */
    NASTY("{\"x\":\"\\ud800\"}", "invalid JSON");           /* a lone surrogate */
    NASTY("{\"x\":\"a\nb\"}", "invalid JSON");              /* a raw line break in a string */
    NASTY("{\"a\\nb\":1}", "unknown member \"a\\nb\"");      /* an escaped one, shown escaped */
    NASTY("{\"\xe2\x80\xa8\":1}", "unknown member \"\\u2028\""); /* a Unicode line separator */
    NASTY("{\"a\":1,\"a\":1}", "duplicate member \"a\" at byte 7");
    NASTY("{\"a\\\"\":1,\"a\\\"\":1}", "duplicate member \"a\\\"\"");
    NASTY("{\"a\\\\\":1, \"a\\\\\" :1}", "duplicate member \"a\\\\\"");
    NASTY("{\"x\":1e400}", "invalid JSON");
    NASTY("{\"x\":123456789012345678901234567890}", "invalid JSON");
    NASTY("{\"\\u0000\":1}", "invalid JSON"); /* jansson refuses a NUL in a key */

    /* NUL in a string member, escaped: refused naming the member */
    expect(HB, "{'client_now':'" NOW "','binary_checksum':'" SUM "','binary_version':'1\\u0000'}", 400,
           "malformed_heartbeat_request", "binary_version: holds a NUL character");
    expect(KEYS, "{'new_public_key':'" KEY "\\u0000'}", 400, "malformed_keys_rotate_request",
           "new_public_key: holds a NUL");

    /* deep nesting within 32 KiB: [[[..., {"a":{"a":..., and in a member */
    enum { DEEP = 32 * 1024 };
    char *d = malloc(DEEP);
    assert_non_null(d);
    memset(d, '[', DEEP);
    nasty(d, DEEP, "invalid JSON");
    for (size_t i = 0; i + 5 <= DEEP; i += 5)
        memcpy(d + i, "{\"a\":", 5);
    nasty(d, DEEP - DEEP % 5, "invalid JSON");
    size_t w = (size_t)snprintf(d, DEEP, "{\"nat_summary\":");
    size_t depth = 1000; /* under jansson's limit: parsed, then refused as unknown elsewhere */
    for (size_t i = 0; i < depth; i++)
        d[w++] = '[';
    for (size_t i = 0; i < depth; i++)
        d[w++] = ']';
    d[w++] = '}';
    nasty(d, w, NULL);
    free(d);

    /* a long value is shown cut, escaped, within 64 bytes */
    char big[2048];
    w = (size_t)snprintf(big, sizeof big, "{\"endpoint\":\"");
    for (int i = 0; i < 100; i++)
        w += (size_t)snprintf(big + w, sizeof big - w, "\\n\\u00e9");
    w += (size_t)snprintf(big + w, sizeof big - w, "\",\"nat_type\":\"x\",\"reported_at\":\"" NOW "\"}");
    result r;
    run_raw(EP, big, w, &r);
    refusal_sane("long endpoint", &r);
    if (strcmp(r.v.code, "endpoint_unparseable") != 0)
        fail_msg("%s: %s", r.v.code, r.v.detail);
    const char *q = strchr(r.v.detail, '"'), *e = strstr(r.v.detail, "...\"");
    assert_non_null(q);
    assert_non_null(e);
    assert_true(e + 3 - (q + 1) <= 64);
    assert_non_null(strstr(r.v.detail, "\"\\n\xc3\xa9\\n\xc3\xa9")); /* é kept whole, \n escaped */
    mk_sb_free(r.doc);
}

int run_strict_body_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sb_table),
        cmocka_unit_test(test_sb_table_covers_every_code),
        cmocka_unit_test(test_sb_out_fields),
        cmocka_unit_test(test_sb_order),
        cmocka_unit_test(test_sb_many),
        cmocka_unit_test(test_sb_skew_boundaries),
        cmocka_unit_test(test_sb_time),
        cmocka_unit_test(test_sb_sha256),
        cmocka_unit_test(test_sb_nasty),
    };
    return cmocka_run_group_tests_name("strict_body", tests, NULL, NULL);
}
