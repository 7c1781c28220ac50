/* fuzz_jpath.c: a libFuzzer target for mockassert's JSON path language
 * (assert/jpath.c): the parser, its canonical text and selection.
 *
 * Input: the path text, then optionally a NUL byte and a JSON document to
 * select from (when that is absent or not JSON, a built-in document with
 * awkward member names is used).
 *
 * Checked, besides what the sanitizers see:
 *  - a refused path says why and points inside the text;
 *  - an accepted path's canonical text starts with '$' and is a fixed
 *    point: it parses, to the same canonical text and the same "many
 *    values" flag;
 *  - a single-value path selects at most one value;
 *  - each selected value's concrete path (with quoting and escapes for
 *    any member name) parses, is single-valued and selects exactly that
 *    value again. */
#include "fuzz_check.h"

#include "jpath.h"

static const char builtin[] =
    "{\"status\":\"ok\",\"a b\":{\"it's\":[1,{\"x\\\\y\":true}]},\"\":null,"
    "\"peers\":[{\"id\":\"p1\",\"-\":0},{\"id\":\"p2\",\"q\\\"\":[]}],\"7\":{\"]\":\"[\"}}";

static void check_hits(json_t *doc, ma_hit *hits, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t errpos = 0;
        const char *why = NULL;
        ma_path *back = ma_path_parse(hits[i].path, &errpos, &why);
        if (!back) {
            fprintf(stderr, "concrete path %s refused at %zu: %s\n", hits[i].path, errpos, why);
            CHECK(!"a selected value's path parses");
        }
        CHECK(!ma_path_is_multi(back));
        CHECK(strcmp(ma_path_text(back), hits[i].path) == 0);
        ma_hit *again = NULL;
        size_t m = ma_path_select(back, doc, &again);
        CHECK(m == 1 && again[0].value == hits[i].value);
        ma_hits_free(again, m);
        ma_path_free(back);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t tlen = nul ? (size_t)(nul - data) : size;
    char *text = fuzz_copy(data, tlen, 1);

    size_t errpos = (size_t)-1;
    const char *why = NULL;
    ma_path *p = ma_path_parse(text, &errpos, &why);
    if (!p) {
        CHECK(why != NULL && why[0] != '\0');
        CHECK(errpos <= tlen);
        free(text);
        return 0;
    }
    const char *canon = ma_path_text(p);
    CHECK(canon != NULL && canon[0] == '$');
    ma_path *q = ma_path_parse(canon, &errpos, &why);
    if (!q) {
        fprintf(stderr, "canonical %s of %s refused at %zu: %s\n", canon, text, errpos, why);
        CHECK(!"the canonical text parses");
    }
    CHECK(strcmp(ma_path_text(q), canon) == 0);
    CHECK(ma_path_is_multi(q) == ma_path_is_multi(p));
    ma_path_free(q);

    json_t *doc = NULL;
    if (nul)
        doc = json_loadb((const char *)nul + 1, size - tlen - 1, 0, NULL);
    if (!doc) {
        doc = json_loads(builtin, 0, NULL);
        CHECK(doc != NULL);
    }
    ma_hit *hits = NULL;
    size_t n = ma_path_select(p, doc, &hits);
    if (!ma_path_is_multi(p))
        CHECK(n <= 1);
    check_hits(doc, hits, n);
    ma_hits_free(hits, n);
    json_decref(doc);
    ma_path_free(p);
    free(text);
    return 0;
}
