/* fuzz_json_body.c: a libFuzzer target for bodies as mockassert reads them
 * (assert/match.c's ma_json_from_body) and for exact numbers
 * (assert/number.c): the span walker over src/common/gojson.c's scanner,
 * printing, and the decimal comparison.
 *
 * Input: a body.
 *
 * Checked, besides what the sanitizers see:
 *  - a body has no value only when it is not UTF-8 text;
 *  - what jansson reads, the walker reads too, to an equal document
 *    unless jansson may have rounded a real (then the body is the
 *    walker's); a body jansson refuses for a number is the walker's
 *    document when the walker reads it. Bodies with a raw NUL byte are
 *    left out of this: jansson 2.14 drops a NUL right after a number or
 *    a literal ("[1\0]" reads as [1]), which the walker does not copy;
 *  - the body as mockassert holds it prints (ma_json_show: reals as the
 *    shortest text that reads back) to text that reads back equal;
 *  - the document with every number kept as text prints (ma_json_show)
 *    to text that reads back to the same print, and to a document equal
 *    to the walker's;
 *  - on the numbers of the body (up to 8): decimal comparison is
 *    antisymmetric and transitive, agrees with strtod wherever the
 *    doubles differ, and ma_number_compare of what mockassert holds agrees
 *    with it except between two doubles a double cannot tell apart. */
#include "fuzz_check.h"

#include <math.h>

#include "match.h"
#include "number.h"

#define MAX_NUMS 8

static void collect(const json_t *v, const char **nums, size_t *n)
{
    if (*n == MAX_NUMS)
        return;
    if (ma_number_is(v)) {
        nums[(*n)++] = ma_number_text(v);
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            collect(json_array_get(v, i), nums, n);
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) collect(x, nums, n);
    }
}

static int dcmp(const char *a, const char *b)
{
    return ma_decimal_compare(a, strlen(a), b, strlen(b));
}

static void check_numbers(const char **nums, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        CHECK(ma_number_syntax_ok(nums[i], strlen(nums[i])));
        CHECK(dcmp(nums[i], nums[i]) == 0);
        json_t *pi = ma_number_parse(nums[i], strlen(nums[i]));
        CHECK(pi != NULL && ma_is_number(pi));
        for (size_t j = 0; j < n; j++) {
            int d = dcmp(nums[i], nums[j]);
            CHECK(d >= -1 && d <= 1 && dcmp(nums[j], nums[i]) == -d);
            double x = strtod(nums[i], NULL), y = strtod(nums[j], NULL);
            if (x < y)
                CHECK(d == -1);
            if (x > y)
                CHECK(d == 1);
            for (size_t k = 0; k < n; k++)
                if (d <= 0 && dcmp(nums[j], nums[k]) <= 0)
                    CHECK(dcmp(nums[i], nums[k]) <= 0);
            json_t *pj = ma_number_parse(nums[j], strlen(nums[j]));
            CHECK(pj != NULL);
            int c = 2;
            CHECK(ma_number_compare(pi, pj, &c) == 0);
            if (c != d)
                CHECK(!ma_number_is(pi) && !ma_number_is(pj) && x == y);
            json_decref(pj);
        }
        json_decref(pi);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = fuzz_copy(data, size, 0);
    json_error_t err;
    json_t *jan = json_loadb(body, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    json_t *walked = ma_json_load_exact(body, size, 0);
    json_t *got = ma_json_from_body(body, size);

    if (!got) {
        json_t *text = json_stringn(body, size);
        CHECK(text == NULL);
    }
    int nul = memchr(body, '\0', size) != NULL;
    if (jan && !nul) {
        CHECK(walked != NULL);
        if (!ma_json_may_be_inexact(jan))
            CHECK(ma_json_equal(jan, walked) && ma_json_equal(got, jan));
        else
            CHECK(ma_json_equal(got, walked));
    } else if (!jan && walked && json_error_code(&err) == json_error_numeric_overflow) {
        CHECK(ma_json_equal(got, walked));
    }

    /* what output shows (reals as their shortest text) reads back to the
     * same document: two values that differ never print alike */
    if (got) {
        char *shown = ma_json_show(got);
        json_t *back = ma_json_from_body(shown, strlen(shown));
        CHECK(back != NULL && ma_json_equal(back, got));
        json_decref(back);
        free(shown);
    }

    json_t *kept = ma_json_load_exact(body, size, MA_JSON_KEEP_TEXT);
    CHECK((kept == NULL) == (walked == NULL));
    if (kept) {
        char *shown = ma_json_show(kept);
        json_t *again = ma_json_load_exact(shown, strlen(shown), MA_JSON_KEEP_TEXT);
        CHECK(again != NULL);
        char *shown2 = ma_json_show(again);
        CHECK(strcmp(shown, shown2) == 0);
        json_t *back = ma_json_load_exact(shown, strlen(shown), 0);
        CHECK(back != NULL && ma_json_equal(back, walked));
        const char *nums[MAX_NUMS];
        size_t n = 0;
        collect(kept, nums, &n);
        check_numbers(nums, n);
        json_decref(back);
        free(shown2);
        json_decref(again);
        free(shown);
        json_decref(kept);
    }
    json_decref(got);
    json_decref(walked);
    json_decref(jan);
    free(body);
    return 0;
}
