/* fuzz_assert_yaml.c: a libFuzzer target for mockassert's expectation
 * files: the YAML reader (assert/yaml.c over libfyaml) and the schema check
 * on top of it (assert/spec.c, with its JSON paths, operators, regular
 * expressions and durations). Everything here runs without a server.
 *
 * Input: the text of an expectations file.
 *
 * Checked, besides what the sanitizers see:
 *  - the tree: every node but an empty scalar has a position (line and
 *    column from 1), a
 *    mapping holds key/value pairs whose keys are scalars, a scalar's text
 *    is NUL-terminated at its length; converting it to JSON gives a value
 *    or an error with a message;
 *  - the spec: it loads with at least one expectation, each named and of
 *    a known kind, or fails with a message naming the file (bad input gets
 *    a precise error, never a silent one), which prints. */
#include "fuzz_check.h"

#include "spec.h"
#include "yaml.h"

static const char *const FILE_NAME = "fuzz.yaml";

static void check_tree(const ma_ynode *n, int depth)
{
    CHECK(depth < 10000);
    CHECK(n->mark.file == FILE_NAME);
    /* libfyaml gives an empty value ("key:" and nothing) no position: such
     * a node takes the last node's (its key's); one before any node has
     * none (errors about it name only the file) */
    if (!(n->type == MA_Y_SCALAR && n->len == 0))
        CHECK(n->mark.line >= 1 && n->mark.col >= 1);
    switch (n->type) {
    case MA_Y_SCALAR:
        CHECK(n->text != NULL && n->text[n->len] == '\0' && n->nkids == 0);
        break;
    case MA_Y_MAP:
        CHECK(n->nkids % 2 == 0);
        for (size_t i = 0; i < n->nkids; i += 2)
            CHECK(n->kids[i]->type == MA_Y_SCALAR);
        /* fall through */
    case MA_Y_SEQ:
        for (size_t i = 0; i < n->nkids; i++)
            check_tree(n->kids[i], depth + 1);
        break;
    default:
        CHECK(!"a node of a known type");
    }
}

static void check_error(const ma_error *e, FILE *sink)
{
    CHECK(memchr(e->msg, '\0', sizeof e->msg) != NULL && e->msg[0] != '\0');
    CHECK(memchr(e->source, '\0', sizeof e->source) != NULL);
    CHECK(e->mark.line >= 0 && e->mark.col >= 0);
    if (sink)
        ma_error_print(sink, e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink)
        sink = fopen("/dev/null", "w");
    char *text = fuzz_copy(data, size, 0); /* exact size: the reader gets a length */

    ma_ynode *root = NULL;
    ma_error err;
    if (ma_yaml_parse(FILE_NAME, text, size, &root, &err) == 0) {
        if (root) {
            check_tree(root, 0);
            ma_error jerr;
            memset(&jerr, 0, sizeof jerr);
            json_t *j = ma_yaml_to_json(root, &jerr);
            if (j)
                json_decref(j);
            else
                check_error(&jerr, NULL);
        }
        ma_ynode_free(root);
    } else {
        CHECK(root == NULL);
        check_error(&err, sink);
    }

    ma_spec *spec = NULL;
    if (ma_spec_parse(FILE_NAME, text, size, &spec, &err) == 0) {
        CHECK(spec != NULL && spec->n >= 1 && spec->v != NULL);
        for (size_t i = 0; i < spec->n; i++) {
            const ma_expectation *e = &spec->v[i];
            CHECK(e->name != NULL && e->name[0] != '\0');
            CHECK(e->kind == MA_EXP_COUNTER || e->kind == MA_EXP_LAST ||
                  e->kind == MA_EXP_REQUESTS || e->kind == MA_EXP_ORDER ||
                  e->kind == MA_EXP_INTERVAL);
            CHECK(e->within_ns >= 0);
        }
        ma_spec_free(spec);
    } else {
        CHECK(spec == NULL);
        CHECK(err.mark.file == FILE_NAME);
        check_error(&err, sink);
    }
    free(text);
    return 0;
}
