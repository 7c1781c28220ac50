/* fuzz_glob.c: a libFuzzer target for the journal's path glob
 * (src/common/glob.c: '*' within a segment, '**' across segments).
 *
 * Input: the pattern, a NUL byte, the path (up to a second NUL, if any).
 *
 * Checked: on every input, mk_path_glob returns without a sanitizer report
 * (and, with -timeout, in time); on short inputs, its answer equals that of
 * `reference` below, a direct recursive reading of glob.h's definition,
 * memoised so that patterns full of stars stay cheap. Only the interface
 * `mk_path_glob(pattern, path)` is used, so the matcher may be rewritten
 * freely (linear time, a limit on pattern length) and this target keeps
 * holding it to the same meaning: the reference applies up to REF_PATTERN
 * pattern bytes, well within any sensible limit. */
#include "fuzz_check.h"

#include "glob.h"

enum { REF_PATTERN = 32, REF_PATH = 128 };

typedef struct ref {
    const char *p, *s;
    size_t np, ns;
    signed char memo[REF_PATTERN + 1][REF_PATH + 1]; /* -1 unknown, else the answer */
} ref;

/* Does p[i..] match s[j..]? */
static bool reference(ref *r, size_t i, size_t j)
{
    signed char *m = &r->memo[i][j];
    if (*m >= 0)
        return *m;
    bool ok;
    if (i == r->np) {
        ok = j == r->ns; /* pattern done: the path must be done too */
    } else if (r->p[i] == '*' && i + 1 < r->np && r->p[i + 1] == '*') {
        /* two or more stars: any run of bytes, slashes included */
        size_t k = i;
        while (k < r->np && r->p[k] == '*')
            k++;
        ok = false;
        for (size_t t = j; t <= r->ns && !ok; t++)
            ok = reference(r, k, t);
    } else if (r->p[i] == '*') {
        /* one star: any run of bytes without a slash */
        ok = false;
        for (size_t t = j; t <= r->ns && !ok; t++) {
            ok = reference(r, i + 1, t);
            if (t < r->ns && r->s[t] == '/')
                break;
        }
    } else {
        /* any other byte matches itself */
        ok = j < r->ns && r->s[j] == r->p[i] && reference(r, i + 1, j + 1);
    }
    *m = ok;
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t np = nul ? (size_t)(nul - data) : size;
    const uint8_t *sp = nul ? nul + 1 : data + size;
    size_t left = size - (size_t)(sp - data);
    const uint8_t *end = memchr(sp, '\0', left);
    size_t ns = end ? (size_t)(end - sp) : left;

    char *pattern = fuzz_copy(data, np, 1);
    char *path = fuzz_copy(sp, ns, 1);
    bool got = mk_path_glob(pattern, path);
    CHECK(mk_path_glob(pattern, path) == got); /* pure */
    if (np <= REF_PATTERN && ns <= REF_PATH) {
        static ref r;
        r.p = pattern;
        r.s = path;
        r.np = np;
        r.ns = ns;
        memset(r.memo, -1, sizeof r.memo);
        bool want = reference(&r, 0, 0);
        if (got != want) {
            fprintf(stderr, "mk_path_glob(\"%s\", \"%s\") = %d, the definition says %d\n",
                    pattern, path, got, want);
            CHECK(got == want);
        }
    }
    free(pattern);
    free(path);
    return 0;
}
