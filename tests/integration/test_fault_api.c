/* test_fault_api.c: the C API of faults and regions used wrongly, tests
 * named fapi_*:
 *
 *  - NULL arguments, bad ids and region indexes: a precise code, no crash
 *    (the suite runs under ASan and valgrind);
 *  - a rule whose method is lower case is refused, through the C API, the
 *    -fault form and /test/faults alike (the framing answers 400 to such a
 *    request before any rule sees it, so the rule would never apply);
 *  - mockapi_region_is_up says 0 before start and after stop (nothing
 *    accepts), not the state the region had;
 *  - config faults NULL with a count: EINVAL naming the field;
 *  - two instances in one process, each with its own rules and config
 *    faults: no cross-talk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "raw_client.h"

static void fapi_null_args(void **st)
{
    (void)st;
    char err[256];
    int id = -7;
    assert_int_equal(mockapi_fault_add(NULL, "heartbeat", NULL, "drop", 0, &id, err, sizeof err),
                     MOCKAPI_EINVAL);
    assert_int_equal(id, -7);
    assert_int_equal(mockapi_fault_delete(NULL, 1), MOCKAPI_EINVAL);
    assert_int_equal(mockapi_fault_clear(NULL), MOCKAPI_EINVAL);
    assert_int_equal(mockapi_fault_check(NULL, err, sizeof err), MOCKAPI_EINVAL);
    assert_int_equal(mockapi_fault_check("heartbeat: stauts=1", NULL, 0), MOCKAPI_EINVAL);
    assert_int_equal(mockapi_fault_check("heartbeat: stauts=1", err, 1), MOCKAPI_EINVAL);
    assert_string_equal(err, "");
    assert_int_equal(mockapi_region_count(NULL), 0);
    assert_int_equal(mockapi_region_port(NULL, 0), 0);
    assert_int_equal(mockapi_region_is_up(NULL, 0), MOCKAPI_ENOTFOUND);
    assert_int_equal(mockapi_region_down(NULL, 0, NULL, 0), MOCKAPI_EINVAL);
    assert_int_equal(mockapi_region_up(NULL, 0, err, sizeof err), MOCKAPI_EINVAL);

    mt_server s;
    rc_start(&s, NULL, false);
    assert_int_equal(mockapi_fault_add(s.m, NULL, NULL, "drop", 0, &id, err, sizeof err), MOCKAPI_EINVAL);
    assert_int_equal(mockapi_fault_add(s.m, "heartbeat", NULL, NULL, 0, &id, err, sizeof err),
                     MOCKAPI_EINVAL);
    assert_int_equal(mockapi_fault_add(s.m, "", NULL, "drop", 0, &id, err, sizeof err), MOCKAPI_EINVAL);
    assert_non_null(strstr(err, "unknown route \"\""));
    assert_int_equal(mockapi_fault_add(s.m, "heartbeat", NULL, "drop", 86400001u, &id, err, sizeof err),
                     MOCKAPI_EINVAL);
    assert_int_equal(mockapi_fault_delete(s.m, 0), MOCKAPI_ENOTFOUND);
    assert_int_equal(mockapi_fault_delete(s.m, -1), MOCKAPI_ENOTFOUND);
    assert_int_equal(mockapi_fault_delete(s.m, INT32_MIN), MOCKAPI_ENOTFOUND);
    /* NULL id and errbuf are fine */
    assert_int_equal(mockapi_fault_add(s.m, "heartbeat", NULL, "drop", 0, NULL, NULL, 0), MOCKAPI_OK);
    /* regions off: every region call says so */
    assert_int_equal(mockapi_region_count(s.m), 0);
    assert_int_equal(mockapi_region_is_up(s.m, 0), MOCKAPI_ENOTFOUND);
    err[0] = '\0';
    assert_int_equal(mockapi_region_down(s.m, 0, err, sizeof err), MOCKAPI_ENOTFOUND);
    assert_non_null(strstr(err, "regions are off"));
    assert_int_equal(mockapi_region_up(s.m, -1, NULL, 0), MOCKAPI_ENOTFOUND);
}

static void fapi_lowercase_method(void **st)
{
    (void)st;
    mt_server s;
    rc_start(&s, NULL, false);
    char err[256] = "";
    int id = 0;
    assert_int_equal(mockapi_fault_add(s.m, "heartbeat", "post", "status=503", 0, &id, err, sizeof err),
                     MOCKAPI_EINVAL);
    assert_non_null(strstr(err, "method \"post\": methods are upper case"));
    assert_int_equal(mockapi_fault_check("post heartbeat: status=503", err, sizeof err), MOCKAPI_EINVAL);
    assert_non_null(strstr(err, "methods are upper case"));
    /* the same over HTTP, and nothing installed */
    mt_response r;
    mt_send(NULL, s.base, "POST", "/test/faults",
            "{\"path\":\"/v1/**\",\"method\":\"post\",\"spec\":\"status=502\"}", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr((char *)r.body, "methods are upper case"));
    mt_response_free(&r);
    mt_get(NULL, s.base, "/test/faults", &r);
    assert_string_equal((char *)r.body, "{\"rules\":[]}\n");
    mt_response_free(&r);
    /* upper case still goes */
    assert_int_equal(mockapi_fault_add(s.m, "heartbeat", "POST", "status=503", 0, &id, err, sizeof err),
                     MOCKAPI_OK);
}

static void fapi_is_up_before_start_after_stop(void **st)
{
    (void)st;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.regions = 2;
    mockapi *m = NULL;
    char err[256];
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_OK);
    assert_int_equal(mockapi_region_count(m), 2);
    assert_int_equal(mockapi_region_is_up(m, 0), 0); /* nothing accepts yet */
    assert_int_equal(mockapi_region_is_up(m, 2), MOCKAPI_ENOTFOUND);
    assert_int_equal(mockapi_region_down(m, 1, err, sizeof err), MOCKAPI_ESTATE);
    assert_int_equal(mockapi_region_addr(m, 0, err, sizeof err), MOCKAPI_ENOTFOUND);
    assert_int_equal(mockapi_start(m, err, sizeof err), MOCKAPI_OK);
    assert_int_equal(mockapi_region_is_up(m, 0), 1);
    assert_int_equal(mockapi_region_is_up(m, 1), 1);
    assert_int_equal(mockapi_region_down(m, 1, err, sizeof err), MOCKAPI_OK);
    assert_int_equal(mockapi_region_is_up(m, 1), 0);
    assert_int_equal(mockapi_region_down(m, 1, NULL, 0), MOCKAPI_OK); /* down again: no change */
    char small[4];
    assert_int_equal(mockapi_region_addr(m, 0, small, sizeof small), MOCKAPI_EINVAL);
    mockapi_stop(m);
    assert_int_equal(mockapi_region_is_up(m, 0), 0);
    assert_int_equal(mockapi_region_is_up(m, 1), 0);
    assert_int_equal(mockapi_region_up(m, 1, err, sizeof err), MOCKAPI_ESTATE);
    /* a restart serves every region again */
    assert_int_equal(mockapi_start(m, err, sizeof err), MOCKAPI_OK);
    assert_int_equal(mockapi_region_is_up(m, 0), 1);
    assert_int_equal(mockapi_region_is_up(m, 1), 1);
    mockapi_free(m);
}

static void fapi_config_faults_errors(void **st)
{
    (void)st;
    mockapi_config cfg;
    mt_config_init(&cfg);
    mockapi *m = NULL;
    char err[256] = "";
    cfg.nfaults = 3; /* faults NULL */
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_EINVAL);
    assert_null(m);
    assert_string_equal(err, "config: faults is NULL with nfaults 3");
    const char *bad[] = {"heartbeat: drop", "heartbeat: stauts=1"};
    cfg.faults = bad;
    cfg.nfaults = 2;
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_EINVAL);
    assert_null(m);
    assert_string_equal(err, "faults[1]: spec: unknown key \"stauts\" (did you mean \"status\"?)");
    const char *nul[] = {"heartbeat: drop", NULL};
    cfg.faults = nul;
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_EINVAL);
    assert_string_equal(err, "faults[1]: NULL rule");
    const char *noroute[] = {"hartbeat: drop"};
    cfg.faults = noroute;
    cfg.nfaults = 1;
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_EINVAL);
    assert_string_equal(err, "faults[0]: unknown route \"hartbeat\" (did you mean \"heartbeat\"?)");
}

/* GET path on s; the status. */
static long status_of(const mt_server *s, const char *path)
{
    mt_response r;
    mt_get(NULL, s->base, path, &r);
    long st = r.status;
    mt_response_free(&r);
    return st;
}

static void fapi_instances_no_crosstalk(void **st)
{
    (void)st;
    mockapi_config ca, cb;
    mt_config_init(&ca);
    mt_config_init(&cb);
    const char *fb[] = {"ping: status=502"};
    cb.faults = fb;
    cb.nfaults = 1;
    mt_server a, b;
    rc_start(&a, &ca, false);
    rc_start(&b, &cb, false);
    char err[256];
    int ida = 0;
    assert_int_equal(mockapi_fault_add(a.m, "ping", NULL, "status=503", 0, &ida, err, sizeof err),
                     MOCKAPI_OK);
    assert_int_equal(status_of(&a, "/v1/ping"), 503); /* a's rule, not b's flag */
    assert_int_equal(status_of(&b, "/v1/ping"), 502); /* b's flag, not a's rule */
    /* ids are per instance: a's id on b names b's flag rule (not deletable) or nothing */
    int rc = mockapi_fault_delete(b.m, ida);
    assert_true(rc == MOCKAPI_EINVAL || rc == MOCKAPI_ENOTFOUND);
    assert_int_equal(status_of(&a, "/v1/ping"), 503);
    assert_int_equal(mockapi_fault_clear(b.m), MOCKAPI_OK); /* keeps b's flag, leaves a alone */
    assert_int_equal(status_of(&a, "/v1/ping"), 503);
    assert_int_equal(status_of(&b, "/v1/ping"), 502);
    assert_int_equal(mockapi_fault_delete(a.m, ida), MOCKAPI_OK);
    assert_int_equal(status_of(&a, "/v1/ping"), 200);
    assert_int_equal(status_of(&b, "/v1/ping"), 502);
    assert_int_equal(mockapi_reset(a.m), MOCKAPI_OK);
    assert_int_equal(status_of(&b, "/v1/ping"), 502);
}

int mt_run_fault_api_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(fapi_null_args, rc_teardown),
        cmocka_unit_test_teardown(fapi_lowercase_method, rc_teardown),
        cmocka_unit_test_teardown(fapi_is_up_before_start_after_stop, rc_teardown),
        cmocka_unit_test_teardown(fapi_config_faults_errors, rc_teardown),
        cmocka_unit_test_teardown(fapi_instances_no_crosstalk, rc_teardown),
    };
    return cmocka_run_group_tests_name("fault_api", tests, NULL, NULL);
}
