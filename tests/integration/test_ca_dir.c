/* test_ca_dir.c: one CA for many instances through the C API (cad_*):
 * mockapi_config.tls_ca_dir and .tls_sans (README "TLS and the credential
 * chain"). Instances created at the same moment on threads of one process
 * (each its own descriptor of DIR/.lock, so flock orders them as it orders
 * processes) make one CA and all verify with it; a second create reuses it;
 * the configuration's refusals say what is wrong. tests/ca_dir.sh does the
 * same with the binary, curl and openssl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

enum { NINST = 4 };

typedef struct scratch {
    char top[64];  /* mkdtemp */
    char dir[96];  /* top/ca: not there yet */
} scratch;

static void scratch_make(scratch *s)
{
    snprintf(s->top, sizeof s->top, "/tmp/mockapi-cad-XXXXXX");
    assert_non_null(mkdtemp(s->top));
    snprintf(s->dir, sizeof s->dir, "%s/ca", s->top);
}

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (e->d_type == DT_DIR)
            rm_dir(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

typedef struct starter {
    pthread_barrier_t *go;
    const char *dir;
    mt_server s;
    int rc;
} starter;

static void *start_one(void *arg)
{
    starter *st = arg;
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.tls_addr = "127.0.0.1:0";
    cfg.tls_ca_dir = st->dir;
    pthread_barrier_wait(st->go);
    st->rc = mt_server_start(&st->s, &cfg);
    return NULL;
}

/* GET /test/ca.pem on the TLS listener, trusting only ca_pem: the body, or
 * NULL (failing the test) when the TLS client did not verify. */
static char *verified_ca(const mt_server *s, const char *ca_pem)
{
    mt_request rq = {.method = "GET", .path = "/test/ca.pem", .ca_pem = ca_pem};
    mt_response r;
    mt_perform(NULL, s->tls_base, &rq, &r);
    if (r.status != 200)
        print_error("verified TLS to %s: %s (%s)\n", s->tls_base, curl_easy_strerror(r.rc), r.error);
    assert_int_equal(r.status, 200);
    char *body = strdup((const char *)r.body);
    mt_response_free(&r);
    return body;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void cad_threads_one_ca(void **state)
{
    (void)state;
    scratch sc;
    scratch_make(&sc);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, NINST);
    starter st[NINST];
    pthread_t t[NINST];
    for (int i = 0; i < NINST; i++) {
        st[i] = (starter){.go = &go, .dir = sc.dir};
        assert_int_equal(pthread_create(&t[i], NULL, start_one, &st[i]), 0);
    }
    for (int i = 0; i < NINST; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < NINST; i++)
        assert_int_equal(st[i].rc, 0);

    char path[160];
    unsigned char *file = NULL;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/ca.pem", sc.dir);
    assert_int_equal(mt_read_file(path, &file, &n), 0);
    /* every instance verifies with the one file and serves exactly it */
    for (int i = 0; i < NINST; i++) {
        char *served = verified_ca(&st[i].s, (const char *)file);
        assert_string_equal(served, (const char *)file);
        free(served);
        assert_string_equal(mockapi_tls_ca_pem(st[i].s.m), (const char *)file);
    }
    assert_int_equal(count_entries(sc.dir), 3); /* .lock, ca.pem, ca-key.pem */
    struct stat sb;
    snprintf(path, sizeof path, "%s/ca-key.pem", sc.dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(stat(sc.dir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    for (int i = 0; i < NINST; i++)
        mt_server_free(&st[i].s);

    /* created again: the same CA, verified with the old bytes */
    mockapi_config cfg;
    mt_config_init(&cfg);
    cfg.tls_addr = "127.0.0.1:0";
    cfg.tls_ca_dir = sc.dir;
    cfg.tls_sans = "test.internal,10.1.2.3";
    mt_server again;
    assert_int_equal(mt_server_start_tracked(&again, &cfg), 0);
    char *served = verified_ca(&again, (const char *)file);
    assert_string_equal(served, (const char *)file);
    free(served);
    mt_server_untrack_free(&again);
    free(file);
    rm_dir(sc.top);
}

/* create must fail with code and a message containing want */
static void refused(const mockapi_config *cfg, int code, const char *want)
{
    mockapi *m = NULL;
    char err[512] = "";
    int rc = mockapi_create(cfg, &m, err, sizeof err);
    if (rc != code || !strstr(err, want))
        print_error("want %d \"%s\", got %d \"%s\"\n", code, want, rc, err);
    assert_int_equal(rc, code);
    assert_non_null(strstr(err, want));
    assert_null(m);
}

static void cad_config_refusals(void **state)
{
    (void)state;
    scratch sc;
    scratch_make(&sc);
    mockapi_config cfg;
    char want[256];

    mt_config_init(&cfg);
    cfg.tls_ca_dir = sc.dir; /* no tls_addr */
    refused(&cfg, MOCKAPI_EINVAL, "tls_ca_dir: needs a TLS listener (tls_addr is not set)");
    mt_config_init(&cfg);
    cfg.tls_sans = "a.test";
    refused(&cfg, MOCKAPI_EINVAL, "tls_sans: needs a TLS listener (tls_addr is not set)");
    assert_int_equal(access(sc.dir, F_OK), -1); /* nothing made by a refused config */

    mt_config_init(&cfg);
    cfg.tls_addr = "127.0.0.1:0";
    cfg.tls_ca_dir = "";
    refused(&cfg, MOCKAPI_EINVAL, "tls_ca_dir: empty path");
    cfg.tls_ca_dir = sc.dir;
    cfg.tls_sans = "ok.test,bad_name";
    refused(&cfg, MOCKAPI_EINVAL, "tls_sans \"bad_name\": '_' is not allowed in a DNS name");
    cfg.tls_sans = "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q";
    refused(&cfg, MOCKAPI_EINVAL, "tls_sans: more than 16 names");
    cfg.tls_sans = "::1,::2,::3,::4,::5,::6,::7,::8,::9,::a,::b,::c,::d,::e,::f,::10";
    mockapi *m = NULL;
    char err[512] = "";
    assert_int_equal(mockapi_create(&cfg, &m, err, sizeof err), MOCKAPI_OK); /* 16 is the limit */
    mockapi_free(m);

    char file[128];
    snprintf(file, sizeof file, "%s/ca.pem", sc.dir); /* a file, where a folder is wanted */
    cfg.tls_sans = NULL;
    cfg.tls_ca_dir = file;
    snprintf(want, sizeof want, "CA folder %s: not a folder (a file of that name is there)", file);
    refused(&cfg, MOCKAPI_EINVAL, want);

    snprintf(file, sizeof file, "%s/ca-key.pem", sc.dir);
    assert_int_equal(chmod(file, 0604), 0);
    cfg.tls_ca_dir = sc.dir;
    snprintf(want, sizeof want, "%s: permissions 0604 are too open", file);
    refused(&cfg, MOCKAPI_EINVAL, want);
    rm_dir(sc.top);
}

static int cad_teardown(void **state)
{
    (void)state;
    mt_server_free_tracked_all();
    return 0;
}

int mt_run_ca_dir_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(cad_threads_one_ca, cad_teardown),
        cmocka_unit_test(cad_config_refusals),
    };
    return cmocka_run_group_tests_name("ca_dir", tests, NULL, NULL);
}
