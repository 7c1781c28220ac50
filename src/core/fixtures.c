/* fixtures.c: embedded fixtures and their rendering; see fixtures.h.
 *
 * The files are pulled in with the assembler's .incbin (the build passes
 * -Wa,-I<repo>/fixtures), so the binary runs with no files around it and no
 * generator step is needed. ci/build.sh rebuilds this object when a fixture
 * changes, since make cannot see .incbin dependencies. */
#include "fixtures.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "mockapi.h"
#include "suggest.h"

#define EMBED(sym, file)                                                                          \
    __asm__(".section .rodata\n"                                                                  \
            ".balign 16\n" #sym ":\n"                                                             \
            ".incbin \"" file "\"\n" #sym "_end:\n"                                                \
            ".byte 0\n"                                                                           \
            ".previous\n");                                                                       \
    extern const char sym[], sym##_end[]

EMBED(mk_fix_register, "register.json");
EMBED(mk_fix_heartbeat, "heartbeat.json");
EMBED(mk_fix_state, "state.json");
EMBED(mk_fix_metadata, "metadata.json");
EMBED(mk_fix_key_rotate, "key_rotate.json");
EMBED(mk_fix_endpoint, "endpoint.json");
EMBED(mk_fix_artifact, "artifact.bin");

static const char placeholder[] = "{{SIGNING_PUBLIC_KEY_B64}}";

int mk_fixture_render(const gt_type *t, const char *json, size_t n, mk_blob **out, char *err,
                      size_t errlen)
{
    gt_value *v = NULL;
    if (gt_decode(t, json, n, &v, err, errlen) != 0)
        return MOCKAPI_EJSON;
    mk_buf b;
    mk_buf_init(&b, 0);
    int rc = gt_encode(t, v, &b);
    gt_value_free(v);
    if (rc != 0 && !b.err) {
        snprintf(err, errlen, "%s cannot be encoded (a time outside years 0-9999?)",
                 gt_type_name(t));
        mk_buf_free(&b);
        return MOCKAPI_EJSON;
    }
    mk_buf_putc(&b, '\n');
    if (b.err) {
        mk_buf_free(&b);
        snprintf(err, errlen, "out of memory");
        return MOCKAPI_ENOMEM;
    }
    *out = mk_blob_new(b.data, b.len);
    mk_buf_free(&b);
    return *out ? MOCKAPI_OK : MOCKAPI_ENOMEM;
}

/* Reads dir/name into buf if it exists. Returns 1 (read), 0 (absent) or a
 * negative MOCKAPI_E* code. */
static int read_override(const char *dir, const char *name, mk_buf *buf, char *err, size_t errlen)
{
    if (!dir)
        return 0;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
        snprintf(err, errlen, "%s/%s: path too long", dir, name);
        return MOCKAPI_EINVAL;
    }
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        if (errno == ENOENT)
            return 0;
        char eb[128];
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror_r(errno, eb, sizeof eb));
        return MOCKAPI_EIO;
    }
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0)
        mk_buf_append(buf, chunk, got);
    int bad = ferror(fp);
    fclose(fp);
    if (bad || buf->err) {
        snprintf(err, errlen, "%s: %s", path, bad ? "read error" : "too large");
        return bad ? MOCKAPI_EIO : MOCKAPI_ENOMEM;
    }
    return 1;
}

/* Replaces every placeholder with the key. */
static int substitute(mk_buf *in, const char *key, mk_buf *out)
{
    const char *p = in->data ? in->data : "";
    const char *end = p + in->len;
    size_t plen = sizeof placeholder - 1;
    while (p < end) {
        const char *hit = memmem(p, (size_t)(end - p), placeholder, plen);
        if (!hit) {
            mk_buf_append(out, p, (size_t)(end - p));
            break;
        }
        mk_buf_append(out, p, (size_t)(hit - p));
        mk_buf_puts(out, key);
        p = hit + plen;
    }
    return out->err ? -1 : 0;
}

static int load_one(const char *dir, const char *name, const char *emb, const char *emb_end,
                    const gt_type *t, const char *key, mk_blob **out, bool *own, char *err, size_t errlen)
{
    mk_buf raw, sub;
    mk_buf_init(&raw, 64u << 20);
    mk_buf_init(&sub, 0);
    int rc = read_override(dir, name, &raw, err, errlen);
    if (rc < 0)
        goto out;
    const char *origin = rc == 1 ? dir : "embedded";
    if (own)
        *own = rc == 1;
    if (rc == 0)
        mk_buf_append(&raw, emb, (size_t)(emb_end - emb));
    if (raw.err) {
        rc = MOCKAPI_ENOMEM;
        goto out;
    }
    if (!t) { /* raw bytes (the artifact) */
        *out = mk_blob_new(raw.data ? raw.data : "", raw.len);
        rc = *out ? MOCKAPI_OK : MOCKAPI_ENOMEM;
        goto out;
    }
    if (substitute(&raw, key, &sub) != 0) {
        rc = MOCKAPI_ENOMEM;
        goto out;
    }
    char why[256];
    rc = mk_fixture_render(t, sub.data ? sub.data : "", sub.len, out, why, sizeof why);
    if (rc != MOCKAPI_OK)
        snprintf(err, errlen, "fixture %s (%s, as %s): %s", name, origin, gt_type_name(t), why);
out:
    mk_buf_free(&raw);
    mk_buf_free(&sub);
    return rc;
}

/* The fixture files a folder may hold, in the order messages list them. */
static const char *const fixture_names[] = {"register.json", "heartbeat.json", "state.json",
                                            "metadata.json", "key_rotate.json", "endpoint.json",
                                            "artifact.bin"};
enum { N_FIXTURE_NAMES = sizeof fixture_names / sizeof fixture_names[0] };

/* The folder must exist and hold nothing but fixture files (dot-files
 * aside): a misnamed override would otherwise be ignored in silence. */
static int check_dir(const char *dir, char *err, size_t errlen)
{
    char eb[128];
    struct stat st;
    if (stat(dir, &st) != 0) {
        snprintf(err, errlen, "fixtures folder %s: %s", dir, strerror_r(errno, eb, sizeof eb));
        return MOCKAPI_EIO;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "fixtures folder %s: %s", dir, strerror_r(ENOTDIR, eb, sizeof eb));
        return MOCKAPI_EIO;
    }
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "fixtures folder %s: %s", dir, strerror_r(errno, eb, sizeof eb));
        return MOCKAPI_EIO;
    }
    int rc = MOCKAPI_OK;
    struct dirent *e;
    while (rc == MOCKAPI_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        bool known = false;
        for (int i = 0; i < N_FIXTURE_NAMES && !known; i++)
            known = strcmp(e->d_name, fixture_names[i]) == 0;
        if (known)
            continue;
        const char *near = mk_suggest(e->d_name, fixture_names, N_FIXTURE_NAMES);
        char hint[64] = "";
        if (near)
            snprintf(hint, sizeof hint, " (did you mean %s?)", near);
        snprintf(err, errlen,
                 "fixtures folder %s: unknown file \"%.100s\"%s; the known names are register.json, "
                 "heartbeat.json, state.json, metadata.json, key_rotate.json, endpoint.json and artifact.bin",
                 dir, e->d_name, hint);
        rc = MOCKAPI_EINVAL;
    }
    closedir(d);
    return rc;
}

int mk_fixtures_load(mk_fixtures *f, const char *dir, const char *key, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    if (dir) {
        int rc = check_dir(dir, err, errlen);
        if (rc != MOCKAPI_OK)
            return rc;
    }
    struct {
        const char *name;
        const char *emb, *emb_end;
        const gt_type *type;
        mk_blob **slot;
        bool *own;
    } all[] = {
        {"register.json", mk_fix_register, mk_fix_register_end, &gt_RegisterResponse, &f->register_body, NULL},
        {"heartbeat.json", mk_fix_heartbeat, mk_fix_heartbeat_end, &gt_HeartbeatResponse, &f->heartbeat_default,
         &f->heartbeat_own},
        {"state.json", mk_fix_state, mk_fix_state_end, &gt_StateResponse, &f->state_default, NULL},
        {"metadata.json", mk_fix_metadata, mk_fix_metadata_end, &gt_StringMap, &f->metadata_body, NULL},
        {"key_rotate.json", mk_fix_key_rotate, mk_fix_key_rotate_end, &gt_KeyRotateResponse, &f->key_rotate_body, NULL},
        {"endpoint.json", mk_fix_endpoint, mk_fix_endpoint_end, &gt_EndpointResponse, &f->endpoint_body, NULL},
        {"artifact.bin", mk_fix_artifact, mk_fix_artifact_end, NULL, &f->artifact_body, NULL},
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        int rc = load_one(dir, all[i].name, all[i].emb, all[i].emb_end, all[i].type, key,
                          all[i].slot, all[i].own, err, errlen);
        if (rc != MOCKAPI_OK) {
            mk_fixtures_dispose(f);
            return rc;
        }
    }
    return MOCKAPI_OK;
}

void mk_fixtures_dispose(mk_fixtures *f)
{
    mk_blob_unref(f->register_body);
    mk_blob_unref(f->key_rotate_body);
    mk_blob_unref(f->endpoint_body);
    mk_blob_unref(f->metadata_body);
    mk_blob_unref(f->artifact_body);
    mk_blob_unref(f->state_default);
    mk_blob_unref(f->heartbeat_default);
    memset(f, 0, sizeof *f);
}
