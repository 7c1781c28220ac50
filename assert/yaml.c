/* yaml.c: builds ma_ynode trees from libfyaml events (see yaml.h). libfyaml
 * event marks are 0-based; its collected diagnostics are 1-based; the tree
 * stores 1-based marks. Depth is bounded so hostile input cannot exhaust
 * the stack. */
#include "yaml.h"

#include <libfyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subject.h" /* ma_is_secret_header */

#define MAX_DEPTH 200
/* Aliases copy their anchor's node, so a few hundred bytes of nested
 * aliases can stand for billions of nodes; the copies together stay under
 * this (real expectation files have hundreds of nodes). */
#define MAX_ALIAS_NODES 100000

typedef struct {
    char *name;
    ma_ynode *node; /* borrowed from the tree */
} anchor;

typedef struct {
    struct fy_parser *p;
    const char *file;
    anchor *anchors;
    size_t nanchors;
    size_t alias_nodes; /* nodes made by copying, so far */
    ma_error *err;
    ma_mark last; /* the start of the last node that had one: an empty value
                   * ("inOrder:" with nothing after it) has no mark of its own,
                   * and its errors point at its key instead of at no line */
} builder;

static void seterr(ma_error *err, const char *file, int line, int col, const char *msg)
{
    err->mark.file = file;
    err->mark.line = line;
    err->mark.col = col;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
}

static ma_ynode *node_new(ma_ytype t, const char *file, const struct fy_mark *m)
{
    ma_ynode *n = ma_xcalloc(1, sizeof *n);
    n->type = t;
    n->mark.file = file;
    n->mark.line = m ? m->line + 1 : 0;
    n->mark.col = m ? m->column + 1 : 0;
    return n;
}

static void add_kid(ma_ynode *parent, ma_ynode *kid)
{
    parent->kids = ma_xrealloc(parent->kids, (parent->nkids + 1) * sizeof *parent->kids);
    parent->kids[parent->nkids++] = kid;
}

void ma_ynode_free(ma_ynode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        ma_ynode_free(n->kids[i]);
    free(n->kids);
    free(n->text);
    free(n);
}

static ma_ynode *node_copy(const ma_ynode *n, ma_mark at)
{
    ma_ynode *c = ma_xcalloc(1, sizeof *c);
    *c = *n;
    c->mark = at.line ? at : n->mark;
    c->text = n->text ? ma_xstrndup(n->text, n->len) : NULL;
    c->kids = NULL;
    c->nkids = 0;
    for (size_t i = 0; i < n->nkids; i++)
        add_kid(c, node_copy(n->kids[i], n->kids[i]->mark));
    return c;
}

/* The anchor's name, copied (NULL if none): the token is freed with its
 * event, and a collection's node is complete only events later. */
static char *anchor_name(struct fy_token *tok)
{
    if (!tok)
        return NULL;
    size_t len;
    const char *name = fy_token_get_text(tok, &len);
    return name ? ma_xstrndup(name, len) : NULL;
}

/* Takes name (from anchor_name). */
/* The number of nodes in n's tree, counting no further than limit. */
static size_t node_count(const ma_ynode *n, size_t limit)
{
    size_t c = 1;
    for (size_t i = 0; i < n->nkids && c <= limit; i++)
        c += node_count(n->kids[i], limit - c);
    return c;
}

static void remember_anchor(builder *b, char *name, ma_ynode *n)
{
    if (!name)
        return;
    b->anchors = ma_xrealloc(b->anchors, (b->nanchors + 1) * sizeof *b->anchors);
    b->anchors[b->nanchors].name = name;
    b->anchors[b->nanchors].node = n;
    b->nanchors++;
}

static ma_ynode *build(builder *b, struct fy_event *ev, int depth);

/* 1 if map (so far) is a check on a secret header (`header: Authorization`):
 * its lines may hold a credential, so an error in it shows none of them.
 * spec.c decides this for the errors it finds; a duplicate key is found
 * here, before spec.c sees the check. */
static int holds_secret_check(const ma_ynode *map)
{
    for (size_t i = 0; i + 1 < map->nkids; i += 2) {
        const ma_ynode *k = map->kids[i], *v = map->kids[i + 1];
        if (strcmp(k->text, "header") == 0 && v->type == MA_Y_SCALAR && ma_is_secret_header(v->text))
            return 1;
        if (strcmp(k->text, "auth") == 0 && v->type == MA_Y_SCALAR && strcmp(v->text, "token") == 0)
            return 1; /* a bearer token, hashed like a secret header */
    }
    return 0;
}

/* Builds the children of a collection until its end event. */
static int build_kids(builder *b, ma_ynode *n, enum fy_event_type end, int depth)
{
    for (;;) {
        struct fy_event *ev = fy_parser_parse(b->p);
        if (!ev)
            return -1; /* a syntax error: ma_yaml_parse reads the diagnostic */
        if (ev->type == end) {
            fy_parser_event_free(b->p, ev);
            return 0;
        }
        ma_ynode *kid = build(b, ev, depth + 1);
        if (!kid)
            return -1;
        if (n->type == MA_Y_MAP && n->nkids % 2 == 0) {
            if (kid->type != MA_Y_SCALAR) {
                seterr(b->err, b->file, kid->mark.line, kid->mark.col, "mapping keys must be plain scalars");
                ma_ynode_free(kid);
                return -1;
            }
            for (size_t i = 0; i < n->nkids; i += 2) {
                ma_ynode *k = n->kids[i];
                if (k->len == kid->len && memcmp(k->text, kid->text, k->len) == 0) {
                    char msg[300];
                    snprintf(msg, sizeof msg, "duplicate key \"%.200s\" (first at line %d)", kid->text,
                             k->mark.line);
                    seterr(b->err, b->file, kid->mark.line, kid->mark.col, msg);
                    b->err->hide_source = holds_secret_check(n);
                    ma_ynode_free(kid);
                    return -1;
                }
            }
        }
        add_kid(n, kid);
    }
}

/* Takes ownership of ev. Returns the node or NULL with b->err set. */
static ma_ynode *build(builder *b, struct fy_event *ev, int depth)
{
    const struct fy_mark *m = fy_event_start_mark(ev);
    ma_ynode *n = NULL;
    if (depth > MAX_DEPTH) {
        seterr(b->err, b->file, m ? m->line + 1 : 0, m ? m->column + 1 : 0, "nesting too deep");
        fy_parser_event_free(b->p, ev);
        return NULL;
    }
    switch (ev->type) {
    case FYET_SCALAR: {
        n = node_new(MA_Y_SCALAR, b->file, m);
        size_t len = 0;
        const char *t = fy_token_get_text(ev->scalar.value, &len);
        n->text = ma_xstrndup(t ? t : "", t ? len : 0);
        n->len = t ? len : 0;
        n->plain = fy_token_scalar_style(ev->scalar.value) == FYSS_PLAIN;
        /* an empty plain value ("inOrder:" with nothing after it) points
         * at its key: libfyaml 0.7 gives it no mark, 0.8 the column after
         * the colon; one position for both */
        bool empty = n->len == 0 && (!ev->scalar.value || n->plain);
        if (n->mark.line == 0 || empty) {
            if (b->last.line) /* none yet ("!tag" alone): no position, as before */
                n->mark = b->last;
        } else {
            b->last = n->mark;
        }
        if (ev->scalar.tag) {
            const char *tag = fy_token_get_text0(ev->scalar.tag);
            if (tag && (strcmp(tag, "tag:yaml.org,2002:str") == 0 || strcmp(tag, "!!str") == 0))
                n->str_tag = 1;
        }
        remember_anchor(b, anchor_name(ev->scalar.anchor), n);
        fy_parser_event_free(b->p, ev);
        return n;
    }
    case FYET_SEQUENCE_START:
    case FYET_MAPPING_START: {
        int seq = ev->type == FYET_SEQUENCE_START;
        n = node_new(seq ? MA_Y_SEQ : MA_Y_MAP, b->file, m);
        if (n->mark.line)
            b->last = n->mark;
        char *anc = anchor_name(seq ? ev->sequence_start.anchor : ev->mapping_start.anchor);
        fy_parser_event_free(b->p, ev);
        if (build_kids(b, n, seq ? FYET_SEQUENCE_END : FYET_MAPPING_END, depth) < 0) {
            free(anc);
            ma_ynode_free(n);
            return NULL;
        }
        /* registered after the node is complete: an alias inside its own
         * anchor's node is not allowed (it would be infinite) */
        remember_anchor(b, anc, n);
        return n;
    }
    case FYET_ALIAS: {
        size_t len = 0;
        const char *name = fy_token_get_text(ev->alias.anchor, &len);
        ma_mark at = {b->file, m ? m->line + 1 : 0, m ? m->column + 1 : 0};
        for (size_t i = b->nanchors; name && i-- > 0;) {
            if (strlen(b->anchors[i].name) == len && memcmp(b->anchors[i].name, name, len) == 0) {
                fy_parser_event_free(b->p, ev);
                size_t room = MAX_ALIAS_NODES - b->alias_nodes;
                size_t c = node_count(b->anchors[i].node, room);
                if (c > room) {
                    char msg[200];
                    snprintf(msg, sizeof msg, "aliases expand to more than %d nodes (*%.*s here)",
                             MAX_ALIAS_NODES, (int)(len > 100 ? 100 : len), b->anchors[i].name);
                    seterr(b->err, b->file, at.line, at.col, msg);
                    return NULL;
                }
                b->alias_nodes += c;
                return node_copy(b->anchors[i].node, at);
            }
        }
        char msg[200];
        snprintf(msg, sizeof msg, "unknown alias *%.*s", (int)(len > 100 ? 100 : len), name ? name : "");
        seterr(b->err, b->file, at.line, at.col, msg);
        fy_parser_event_free(b->p, ev);
        return NULL;
    }
    default:
        seterr(b->err, b->file, m ? m->line + 1 : 0, m ? m->column + 1 : 0, "unexpected YAML event");
        fy_parser_event_free(b->p, ev);
        return NULL;
    }
}

/* The offset of the first byte of text that is not part of well-formed
 * UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF), or len if there is none. */
static size_t utf8_invalid_at(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned lo = 0x80, hi = 0xBF; /* the range of the second byte */
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            if (c == 0xF4)
                hi = 0x8F; /* past U+10FFFF */
        } else {
            return i;
        }
        if (len - i <= n || s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= n; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return i;
        i += n + 1;
    }
    return len;
}

int ma_yaml_parse(const char *file, const char *text, size_t len, ma_ynode **root, ma_error *err)
{
    *root = NULL;
    memset(err, 0, sizeof *err);
    /* Expectation files are UTF-8 text; refusing anything else here also
     * keeps it from libfyaml 0.7.12, which loops forever on some invalid
     * bytes (e.g. "%r\xec" in a directive). */
    size_t bad = utf8_invalid_at(text, len);
    if (bad < len) {
        int line = 1, col = 1;
        for (size_t i = 0; i < bad; i++) {
            if (text[i] == '\n') {
                line++;
                col = 1;
            } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
                col++;
            }
        }
        char msg[100];
        snprintf(msg, sizeof msg, "not UTF-8 text (byte 0x%02X): expectation files are UTF-8",
                 (unsigned char)text[bad]);
        seterr(err, file, line, col, msg);
        return -1;
    }
    int rc = -1;
    struct fy_diag_cfg dc;
    fy_diag_cfg_default(&dc);
    dc.fp = NULL;
    dc.output_fn = NULL;
    struct fy_diag *diag = fy_diag_create(&dc);
    struct fy_parser *p = NULL;
    builder b = {0};
    if (!diag)
        ma_oom();
    fy_diag_set_collect_errors(diag, true);
    struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG | FYPCF_DEFAULT_VERSION_1_2,
                               .diag = diag};
    p = fy_parser_create(&cfg);
    if (!p)
        ma_oom();
    if (fy_parser_set_string(p, text, len) != 0) {
        seterr(err, file, 0, 0, "cannot read the YAML input");
        goto out;
    }
    b.p = p;
    b.file = file;
    b.err = err;
    ma_ynode *doc = NULL;
    int in_doc = 0;
    struct fy_event *ev;
    while ((ev = fy_parser_parse(p)) != NULL) {
        enum fy_event_type t = ev->type;
        if (t == FYET_DOCUMENT_START) {
            if (doc || in_doc > 0) {
                const struct fy_mark *m = fy_event_start_mark(ev);
                seterr(err, file, m ? m->line + 1 : 0, m ? m->column + 1 : 0,
                       "a second YAML document: one file holds one document (one expectations: list)");
                fy_parser_event_free(p, ev);
                ma_ynode_free(doc);
                goto out;
            }
            fy_parser_event_free(p, ev);
            in_doc = 1;
            continue;
        }
        if (t == FYET_STREAM_START || t == FYET_STREAM_END || t == FYET_DOCUMENT_END) {
            fy_parser_event_free(p, ev);
            if (t == FYET_DOCUMENT_END)
                in_doc = 2;
            continue;
        }
        if (doc) {
            fy_parser_event_free(p, ev);
            continue;
        }
        doc = build(&b, ev, 0);
        if (!doc)
            goto out;
    }
    if (fy_parser_get_stream_error(p)) {
        ma_ynode_free(doc);
        doc = NULL;
        void *it = NULL;
        struct fy_diag_error *de = fy_diag_errors_iterate(diag, &it);
        if (de)
            seterr(err, file, de->line, de->column, de->msg ? de->msg : "YAML syntax error");
        else
            seterr(err, file, 0, 0, "YAML syntax error");
        goto out;
    }
    *root = doc;
    rc = 0;
out:
    if (rc < 0 && err->msg[0] == '\0') {
        /* build() stopped on a NULL event: a syntax error */
        void *it = NULL;
        struct fy_diag_error *de = fy_diag_errors_iterate(diag, &it);
        if (de)
            seterr(err, file, de->line, de->column, de->msg ? de->msg : "YAML syntax error");
        else
            seterr(err, file, 0, 0, "YAML syntax error");
    }
    for (size_t i = 0; i < b.nanchors; i++)
        free(b.anchors[i].name);
    free(b.anchors);
    fy_parser_destroy(p);
    fy_diag_destroy(diag);
    return rc;
}

ma_ynode *ma_ymap_get(const ma_ynode *map, const char *key)
{
    if (!map || map->type != MA_Y_MAP)
        return NULL;
    size_t klen = strlen(key);
    for (size_t i = 0; i + 1 < map->nkids; i += 2) {
        const ma_ynode *k = map->kids[i];
        if (k->len == klen && memcmp(k->text, key, klen) == 0)
            return map->kids[i + 1];
    }
    return NULL;
}

const char *ma_ytype_name(const ma_ynode *n)
{
    if (!n)
        return "nothing";
    switch (n->type) {
    case MA_Y_SCALAR:
        return "a scalar";
    case MA_Y_SEQ:
        return "a list";
    default:
        return "a mapping";
    }
}
