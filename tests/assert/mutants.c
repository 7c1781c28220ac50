/* mutants.c: the expectation-file walker behind tests/assert/mutate.sh.
 *
 *   ma_mutants [--cap-within DUR] [--big-exp N] FILE OUTDIR
 *
 * reads one expectation file (libfyaml's event parser, keeping each node's
 * byte range, line and column) and writes, into OUTDIR:
 *   base.yaml   FILE with every `within:` longer than DUR written as DUR
 *               (so a mutant that must fail does not wait out a long
 *               deadline; mutate.sh checks that base.yaml still passes);
 *               the places printed are base.yaml's (a longer DUR moves
 *               the columns after it on its line)
 *   mNNN.yaml   base.yaml with one expected value changed so that the
 *               expectation holding it must FAIL (the rules are below)
 * and prints one tab-separated line per finding on stdout:
 *   mutant ID OPLINE:OPCOL EXPLINE:EXPCOL OP PATHRE NEED DESCRIPTION
 *       OPLINE:OPCOL is where the mutated operator (its key) is, which the
 *       failure output must name; PATHRE a POSIX ERE the output must match
 *       (the check's JSON path, concrete indexes for wildcards), or "-";
 *       NEED another ERE the output must match (a counter's name), or "-"
 *   skip OPLINE:OPCOL EXPLINE:EXPCOL OP REASON
 *       an operator no mutation is made for, and why
 *   read EXPLINE:EXPCOL WHAT ...   what an expectation reads from the server
 *       (counter NAME | capture KEY | filter METHOD PATH ROUTE STATUS |
 *       ordered (order, interval) | timed (interval: the gaps) | within |
 *       unknown KEY), for mutate.sh's irrelevance rule
 * Only text is changed, at the operand's bytes: comments, anchors and the
 * positions of everything before the operand stay as they were.
 *
 * Why each mutation must fail (the original passes, so every value the
 * check selects satisfied it; M is the marker "\u00a7zz", U+00A7 then
 * "zz", which mutate.sh checks appears in no request the corpus sends;
 * BIG is 1e300, or 1e<N> with --big-exp N, which mutate.sh sets past the
 * largest number any request of the corpus holds):
 *   equals X        X' != X: a string gets M appended; an integer +1 (with
 *                   16 digits or more -1, which a comparison through
 *                   doubles cannot tell from X; 0x/0o: a digit appended);
 *                   a float a digit appended to its mantissa (never the
 *                   same decimal); a bool flipped; null becomes the string
 *                   M; a mapping gets the member M: 1, a list the first
 *                   element M. Apart, as more mutants: the other integer
 *                   neighbour, a string cut short by a character, a string
 *                   with one letter's case flipped (a prefix or case-blind
 *                   comparison would pass these), a collection's first
 *                   value changed as above (the comparison must go deep).
 *                   Under `any:` every scalar becomes a string holding M:
 *                   there it must match no entry at all, not only differ.
 *   subset, contains  the operand gains M (a member, an element, a suffix),
 *                   which no value has; apart, its first value changed
 *   startsWith S / endsWith S   S+M / M+S
 *   matches R       (R)M
 *   in [..]         no old element left: strings gain M, numbers become
 *                   BIG, booleans flip, null becomes M
 *   type T          a type the value cannot have (number includes integer)
 *   greaterThan / atLeast N   BIG (counters, counts: 10^12); a string:
 *                   "\U0010FFFF\U0010FFFF" M
 *   lessThan / atMost N   -BIG (counters, counts: lessThan 0, atMost -1);
 *                   lessThan a string: ""
 *   between [a, b]  integers: [b+1, b+1] and [a-1, a-1] (just past each
 *                   end); else [BIG, 10 BIG]
 *   exists / notExists B   !B: `exists: false` holds exactly when
 *                   `exists: true` does not (not under any:, where one
 *                   entry may have it and another not)
 *   count, groups, length N   N+1 and N-1 (N-1 >= 0); {..} as a counter's
 *                   operators
 *   order steps     a step becomes {path: "/M"}, which no request has
 *   interval every  1h, when at least two entries are required (a gap of
 *                   an hour less the tolerance cannot happen in a test)
 * Not mutated (reported as skip): notEquals, notIn, notContains,
 * notMatches (no value can be named that the actual one must equal);
 * atMost a string (only "" is below every string, and a value may be "");
 * anything under `not:` or `none:` (a mutation that fails inside passes
 * outside) or under `or:` (another alternative may hold); filters, routes,
 * capture keys, counter names, groupBy (another one may hold too);
 * tolerance; aliases, tagged, anchored and block-literal operands;
 * operators and keys this walker does not know. */
#include <errno.h>
#include <libfyaml.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARK "\\u00a7zz" /* M, as a YAML double-quoted escape */
#define MAX_DEPTH 100

typedef enum { N_SCALAR, N_MAP, N_SEQ, N_ALIAS } ntype;
typedef enum { K_NULL, K_BOOL, K_INT, K_FLOAT, K_STR } kind;

typedef struct node {
    ntype type;
    size_t start, end; /* bytes; a quoted scalar's exclude its quotes */
    int line, col;     /* 1-based */
    char *text;        /* scalar content, decoded */
    size_t len;
    enum fy_scalar_style style;
    int anchored, tagged, flow;
    struct node **kids; /* a mapping's: key, value, key, value... */
    size_t nkids;
} node;

typedef struct {
    size_t off, len;
    char *text;
} edit;

typedef struct {
    edit *v;
    size_t n;
} edits;

/* where a within cap went and how much longer it made its line: the
 * columns after it on that line move by as much */
typedef struct {
    int line, col, delta;
} shift;
static shift *shifts;
static size_t nshifts;

/* a column of base.yaml (and of every mutant) for one of the file */
static int col_in_base(int line, int col)
{
    int c = col;
    for (size_t i = 0; i < nshifts; i++)
        if (shifts[i].line == line && shifts[i].col < col)
            c += shifts[i].delta;
    return c;
}

static const char *src;      /* the file's bytes */
static size_t src_len;
static const char *outdir;
static edits base;           /* the within caps, in every output */
static int nmutants;
static int64_t cap_ns = -1;
static const char *cap_text; /* as given */
static int big_exp = 300;    /* BIG is 1e<big_exp> */
static char big_lo[32] = "1e300", big_hi[32] = "1e301";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ma_mutants: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p)
        die("out of memory");
    return p;
}

static void *xrealloc(void *p, size_t size)
{
    p = realloc(p, size);
    if (!p)
        die("out of memory");
    return p;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        die("out of memory");
    return d;
}

static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        die("out of memory");
    va_end(ap);
    return s;
}

/* ---- the tree ---- */

static node *build(struct fy_parser *p, struct fy_event *ev, int depth);

static node *node_new(ntype t, const struct fy_event *ev)
{
    node *n = xcalloc(1, sizeof *n);
    const struct fy_mark *m = fy_event_start_mark((struct fy_event *)ev);
    const struct fy_mark *e = fy_event_end_mark((struct fy_event *)ev);
    n->type = t;
    n->start = m ? m->input_pos : 0;
    n->end = e ? e->input_pos : n->start;
    n->line = m ? m->line + 1 : 0;
    n->col = m ? m->column + 1 : 0;
    return n;
}

static node *build(struct fy_parser *p, struct fy_event *ev, int depth)
{
    if (depth > MAX_DEPTH)
        die("nesting too deep");
    node *n = NULL;
    switch (ev->type) {
    case FYET_SCALAR: {
        n = node_new(N_SCALAR, ev);
        size_t len = 0;
        const char *t = fy_token_get_text(ev->scalar.value, &len);
        n->text = xcalloc(1, len + 1);
        if (t)
            memcpy(n->text, t, len);
        n->len = len;
        n->style = fy_token_scalar_style(ev->scalar.value);
        n->anchored = ev->scalar.anchor != NULL;
        n->tagged = ev->scalar.tag != NULL;
        break;
    }
    case FYET_ALIAS:
        n = node_new(N_ALIAS, ev);
        break;
    case FYET_MAPPING_START:
    case FYET_SEQUENCE_START: {
        int seq = ev->type == FYET_SEQUENCE_START;
        n = node_new(seq ? N_SEQ : N_MAP, ev);
        n->anchored = (seq ? ev->sequence_start.anchor : ev->mapping_start.anchor) != NULL;
        n->tagged = (seq ? ev->sequence_start.tag : ev->mapping_start.tag) != NULL;
        n->flow = n->start < src_len && (src[n->start] == '{' || src[n->start] == '[');
        enum fy_event_type end = seq ? FYET_SEQUENCE_END : FYET_MAPPING_END;
        fy_parser_event_free(p, ev);
        for (;;) {
            struct fy_event *k = fy_parser_parse(p);
            if (!k)
                die("YAML syntax error (run mockassert lint on the file)");
            if (k->type == end) {
                const struct fy_mark *e = fy_event_end_mark(k);
                if (e)
                    n->end = e->input_pos;
                fy_parser_event_free(p, k);
                return n;
            }
            n->kids = xrealloc(n->kids, (n->nkids + 1) * sizeof *n->kids);
            n->kids[n->nkids++] = build(p, k, depth + 1);
        }
    }
    default:
        die("unexpected YAML event %d", (int)ev->type);
    }
    fy_parser_event_free(p, ev);
    return n;
}

static void node_free(node *n)
{
    for (size_t i = 0; i < n->nkids; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->text);
    free(n);
}

static const node *map_get(const node *m, const char *key)
{
    if (!m || m->type != N_MAP)
        return NULL;
    for (size_t i = 0; i + 1 < m->nkids; i += 2)
        if (m->kids[i]->type == N_SCALAR && !strcmp(m->kids[i]->text, key))
            return m->kids[i + 1];
    return NULL;
}

static int quoted(const node *n)
{
    return n->style == FYSS_SINGLE_QUOTED || n->style == FYSS_DOUBLE_QUOTED;
}

static int all_digits(const char *s, const char *set)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!strchr(set, *s))
            return 0;
    return 1;
}

/* YAML 1.2 core schema, as mockassert reads operands */
static kind kind_of(const node *n)
{
    if (quoted(n) || n->style != FYSS_PLAIN)
        return K_STR;
    const char *t = n->text;
    if (!strcmp(t, "") || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") || !strcmp(t, "NULL"))
        return K_NULL;
    if (!strcmp(t, "true") || !strcmp(t, "True") || !strcmp(t, "TRUE") || !strcmp(t, "false") ||
        !strcmp(t, "False") || !strcmp(t, "FALSE"))
        return K_BOOL;
    const char *d = (*t == '-' || *t == '+') ? t + 1 : t;
    if (all_digits(d, "0123456789") || (!strncmp(t, "0o", 2) && all_digits(t + 2, "01234567")) ||
        (!strncmp(t, "0x", 2) && all_digits(t + 2, "0123456789abcdefABCDEF")))
        return K_INT;
    /* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
    const char *s = d;
    size_t ip = strspn(s, "0123456789");
    s += ip;
    size_t fp = 0;
    if (*s == '.') {
        s++;
        fp = strspn(s, "0123456789");
        s += fp;
    }
    if (ip + fp > 0 && (*s == 'e' || *s == 'E')) {
        s++;
        if (*s == '-' || *s == '+')
            s++;
        size_t ep = strspn(s, "0123456789");
        s = ep ? s + ep : s - 1000000; /* no digits: not a float */
    }
    if (ip + fp > 0 && s >= d && !*s)
        return K_FLOAT;
    return K_STR; /* .inf/.nan too: never mutated as numbers */
}

/* ---- text ---- */

/* a YAML double-quoted scalar: pre (already escaped) + s + post (escaped) */
static char *dq(const char *pre, const char *s, size_t len, const char *post)
{
    size_t cap = strlen(pre) + strlen(post) + 4 * len + 3, o = 0;
    char *r = xcalloc(1, cap + 1);
    r[o++] = '"';
    o += (size_t)sprintf(r + o, "%s", pre);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            r[o++] = '\\';
            r[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)sprintf(r + o, "\\x%02x", c);
        } else {
            r[o++] = (char)c;
        }
    }
    o += (size_t)sprintf(r + o, "%s", post);
    r[o++] = '"';
    r[o] = '\0';
    return r;
}

/* the scalar's bytes in the file, quotes included */
static void scalar_range(const node *n, size_t *off, size_t *len)
{
    size_t q = quoted(n) ? 1 : 0;
    *off = n->start - q;
    *len = n->end - n->start + 2 * q;
}

static void add_edit(edits *e, size_t off, size_t len, char *text)
{
    e->v = xrealloc(e->v, (e->n + 1) * sizeof *e->v);
    e->v[e->n].off = off;
    e->v[e->n].len = len;
    e->v[e->n].text = text;
    e->n++;
}

static int edit_cmp(const void *a, const void *b)
{
    const edit *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

static void write_file(const char *name, const edits *own)
{
    edits all = {0};
    for (size_t i = 0; i < base.n; i++)
        add_edit(&all, base.v[i].off, base.v[i].len, base.v[i].text);
    for (size_t i = 0; own && i < own->n; i++)
        add_edit(&all, own->v[i].off, own->v[i].len, own->v[i].text);
    if (all.n)
        qsort(all.v, all.n, sizeof *all.v, edit_cmp);
    char *path = xasprintf("%s/%s", outdir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        die("%s: %s", path, strerror(errno));
    size_t at = 0;
    for (size_t i = 0; i < all.n; i++) {
        if (all.v[i].off < at)
            die("overlapping edits at byte %zu", all.v[i].off);
        fwrite(src + at, 1, all.v[i].off - at, f);
        fputs(all.v[i].text, f);
        at = all.v[i].off + all.v[i].len;
    }
    fwrite(src + at, 1, src_len - at, f);
    if (fclose(f) != 0)
        die("%s: %s", path, strerror(errno));
    free(path);
    free(all.v);
}

/* ---- findings ---- */

typedef struct {
    const node *exp;    /* the expectation mapping */
    const char *path;   /* the check's JSON path or subject's name, or NULL */
    const char *subject; /* "header", "query", "response", "responseHeader", "fault"; NULL: a JSON path */
    const char *need;   /* an ERE the output must match too, or NULL */
    const char *skip;   /* why nothing here is mutated, or NULL */
    int numbers;        /* counter / count: whole numbers */
    int any;            /* under any: a new value must match no entry */
} ctx;

static void skip(const ctx *c, const node *key, const char *op, const char *why)
{
    printf("skip\t%d:%d\t%d:%d\t%s\t%s\n", key->line, col_in_base(key->line, key->col), c->exp->line,
           col_in_base(c->exp->line, c->exp->col), op, why);
}

static void readf(const ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void readf(const ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("read\t%d:%d\t", c->exp->line, col_in_base(c->exp->line, c->exp->col));
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

/* an ERE for the path as mockassert prints it: "$." prefixed when absent,
 * wildcards and negative indexes as concrete ones */
static char *path_re(const char *p)
{
    char *in = (*p == '$') ? xstrdup(p) : xasprintf("$.%s", p);
    size_t cap = 32 * strlen(in) + 64, o = 0;
    char *r = xcalloc(1, cap);
    for (const char *s = in; *s;) {
        if (!strncmp(s, "[*]", 3)) {
            o += (size_t)sprintf(r + o, "\\[[0-9]+\\]");
            s += 3;
        } else if (!strncmp(s, ".*", 2)) {
            o += (size_t)sprintf(r + o, "(\\.[^ :]+|\\[[^]]+\\])");
            s += 2;
        } else if (s[0] == '[' && (s[1] == '\'' || s[1] == '"') && strchr(s + 2, s[1])) {
            /* ['name']: printed as .name, or bracketed when it must be */
            char q = s[1];
            const char *e = strchr(s + 2, q);
            char *lit = xcalloc(1, 2 * (size_t)(e - s) + 1);
            size_t l = 0;
            for (const char *t = s + 2; t < e; t++) {
                if (strchr(".[]()*+?{}|^$\\", *t))
                    lit[l++] = '\\';
                lit[l++] = *t;
            }
            o += (size_t)sprintf(r + o, "(\\.%s|\\[.%s.\\])", lit, lit);
            free(lit);
            s = e + 1;
            if (*s == ']')
                s++;
        } else if (s[0] == '[' && s[1] == '-') {
            o += (size_t)sprintf(r + o, "\\[[0-9]+\\]");
            s = strchr(s, ']') ? strchr(s, ']') + 1 : s + strlen(s);
        } else {
            if (strchr(".[]()*+?{}|^$\\", *s))
                r[o++] = '\\';
            r[o++] = *s++;
        }
    }
    free(in);
    return r;
}

/* an ERE for a subject as mockassert names it: "header User-Agent", a
 * repeated one "header X-Tag[1]", a name that is no plain word in quotes */
static char *subject_re(const char *subject, const char *name)
{
    size_t cap = 2 * strlen(name) + strlen(subject) + 64, o = 0;
    char *r = xcalloc(1, cap);
    o += (size_t)sprintf(r, "%s \"?", subject);
    for (const char *t = name; *t; t++) {
        if (strchr(".[]()*+?{}|^$\\", *t))
            r[o++] = '\\';
        r[o++] = *t;
    }
    sprintf(r + o, "\"?(\\[[0-9]+\\])?");
    return r;
}

/* one mutant: OUTDIR/mNNN.yaml and its line. at2 (or NULL) is another
 * place the failure may be anchored at (count: 3 is an equals at the 3) */
static void mutant2(const ctx *c, const node *key, const node *at2, const char *op, edits *e, const char *desc)
{
    nmutants++;
    char name[32];
    snprintf(name, sizeof name, "m%03d.yaml", nmutants);
    write_file(name, e);
    char *pre = !c->path ? xstrdup("-") : c->subject ? subject_re(c->subject, c->path) : path_re(c->path);
    char alt[32] = "";
    if (at2)
        snprintf(alt, sizeof alt, ",%d:%d", at2->line, col_in_base(at2->line, at2->col));
    printf("mutant\t%d\t%d:%d%s\t%d:%d\t%s\t%s\t%s\t%s\n", nmutants, key->line, col_in_base(key->line, key->col), alt,
           c->exp->line, col_in_base(c->exp->line, c->exp->col), op, pre, c->need ? c->need : "-", desc);
    free(pre);
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i].text);
    free(e->v);
    e->v = NULL;
    e->n = 0;
}

static void mutant(const ctx *c, const node *key, const char *op, edits *e, const char *desc)
{
    mutant2(c, key, NULL, op, e, desc);
}

/* the edit that replaces scalar n by text (takes text) */
static void replace(edits *e, const node *n, char *text)
{
    size_t off, len;
    scalar_range(n, &off, &len);
    add_edit(e, off, len, text);
}

/* adds the member M: 1 to a mapping, or the element M first in a list */
static const char *insert_marker(edits *e, const node *n)
{
    if (n->anchored || n->tagged)
        return "anchored or tagged operand";
    int map = n->type == N_MAP;
    if (n->flow) {
        const char *sep = n->nkids ? ", " : "";
        add_edit(e, n->start + 1, 0, map ? xasprintf("\"" MARK "\": 1%s", sep) : xasprintf("\"" MARK "\"%s", sep));
        return NULL;
    }
    /* block: a new first line at the collection's column */
    char *pad = xcalloc(1, (size_t)n->col);
    memset(pad, ' ', (size_t)n->col - 1);
    add_edit(e, n->start, 0, map ? xasprintf("\"" MARK "\": 1\n%s", pad) : xasprintf("- \"" MARK "\"\n%s", pad));
    free(pad);
    return NULL;
}

/* the magnitude (decimal digits) plus or minus one; minus needs m >= 1 */
static char *mag_step(const char *m, int up)
{
    size_t len = strlen(m);
    char *r = xcalloc(1, len + 2);
    memcpy(r + 1, m, len);
    char *d = r + 1;
    size_t i = len;
    if (up) {
        while (i > 0 && d[i - 1] == '9')
            d[--i] = '0';
        if (i == 0)
            *--d = '1';
        else
            d[i - 1]++;
    } else {
        while (i > 0 && d[i - 1] == '0')
            d[--i] = '9';
        d[i - 1]--;
        while (d[0] == '0' && d[1])
            d++;
    }
    char *out = xstrdup(d);
    free(r);
    return out;
}

/* a decimal integer (any length, as text) plus delta, +1 or -1, exactly */
static char *int_step(const char *t, int delta)
{
    int neg = *t == '-';
    const char *m = (*t == '-' || *t == '+') ? t + 1 : t;
    while (m[0] == '0' && m[1])
        m++;
    int zero = !strcmp(m, "0");
    char *mag, *out;
    if (zero) /* 0 + 1, 0 - 1 */
        return xstrdup(delta > 0 ? "1" : "-1");
    if (neg == (delta < 0)) { /* the magnitude grows */
        mag = mag_step(m, 1);
    } else {
        mag = mag_step(m, 0);
        if (!strcmp(mag, "0"))
            neg = 0;
    }
    out = xasprintf("%s%s", neg ? "-" : "", mag);
    free(mag);
    return out;
}

static int decimal_int(const node *n)
{
    const char *t = n->text;
    return kind_of(n) == K_INT && all_digits(*t == '-' || *t == '+' ? t + 1 : t, "0123456789");
}

/* a scalar that must differ from n's value (different = 1) or that no
 * value in the corpus has (different = 0: holds M); NULL if none */
static char *other_scalar(const node *n, int different, const char **why)
{
    kind k = kind_of(n);
    if (k == K_STR)
        return dq("", n->text, n->len, MARK);
    if (!different)
        return dq("", n->text, n->len, MARK); /* the same text, as a string holding M */
    switch (k) {
    case K_BOOL:
        return xstrdup(n->text[0] == 't' || n->text[0] == 'T' ? "false" : "true");
    case K_NULL:
        return xstrdup("\"" MARK "\"");
    case K_INT: {
        if (decimal_int(n)) /* v+1; past 2^53 v-1, which a double cannot tell from v */
            return int_step(n->text, strlen(n->text) >= 16 ? -1 : 1);
        return xasprintf("%s1", n->text); /* 0x/0o: 16v+1, 8v+1, never v */
    }
    case K_FLOAT: {
        /* a digit appended to the mantissa: 12.5 -> 12.51, 1e3 -> 11e3 */
        const char *t = n->text, *e = strpbrk(t, "eE");
        size_t m = e ? (size_t)(e - t) : n->len;
        return xasprintf("%.*s1%s", (int)m, t, e ? e : ""); /* never the same decimal */
    }
    default:
        break;
    }
    *why = "operand of an unknown kind";
    return NULL;
}

static int mutable_scalar(const node *n, const char **why)
{
    if (n->type == N_ALIAS)
        *why = "an alias";
    else if (n->type != N_SCALAR)
        *why = "not a scalar";
    else if (n->anchored || n->tagged)
        *why = "anchored or tagged operand";
    else if (n->style == FYSS_LITERAL || n->style == FYSS_FOLDED)
        *why = "a block scalar";
    else
        return 1;
    return 0;
}

/* A check on fault: source, wire or spec, whose values lint holds to
 * what the journal can say. */
static int closed_fault_value(const ctx *c)
{
    return c->subject && c->path && !strcmp(c->subject, "fault") &&
           (!strcmp(c->path, "source") || !strcmp(c->path, "wire") || !strcmp(c->path, "spec"));
}

/* The words lint lets that field hold (a few of them, for a spec). */
static const char *const *fault_words(const char *field, size_t *n)
{
    static const char *const source[] = {"header", "rule", "flag"};
    static const char *const wire[] = {"response", "fin", "rst", "timeout", "garbage", "partial:1",
                                       "response+rst"};
    static const char *const spec[] = {"status=599", "status=598", "status=597"};
    if (!strcmp(field, "source")) {
        *n = sizeof source / sizeof source[0];
        return source;
    }
    if (!strcmp(field, "wire")) {
        *n = sizeof wire / sizeof wire[0];
        return wire;
    }
    *n = sizeof spec / sizeof spec[0];
    return spec;
}

/* Another value of that field than text (len bytes; NULL for null) that
 * lint accepts. */
static const char *fault_other(const char *field, const char *text, size_t len)
{
#define IS_(w) (text && len == sizeof w - 1 && !memcmp(text, w, len))
    if (!strcmp(field, "source"))
        return IS_("header") ? "rule" : IS_("rule") ? "flag" : "header";
    if (!strcmp(field, "wire"))
        return IS_("garbage") ? "fin" : "garbage";
    return IS_("status=599") ? "status=598" : "status=599";
#undef IS_
}

/* BIG (or 10 BIG with upper). The mock's response numbers (status,
 * body_size, duration_us) are below 2^63: 9*10^18 there, since mockassert
 * (today) refuses a larger operand for them at lint, as "not a number". */
static const char *big(const ctx *c, int upper)
{
    if (c->subject && !strcmp(c->subject, "response"))
        return upper ? "9100000000000000000" : "9000000000000000000";
    return upper ? big_hi : big_lo;
}

/* equals N (also count: N, length: N): besides other_scalar's N+1 (or N-1),
 * the other neighbour, which "at least N" (or "at most") would let pass */
static void int_neighbour(const ctx *c, const node *key, const node *at2, const char *op, const node *v)
{
    if (!decimal_int(v) || v->anchored || v->tagged)
        return;
    int main_up = strlen(v->text) < 16;
    char *t = int_step(v->text, main_up ? -1 : 1);
    if (c->numbers && t[0] == '-') { /* counts are never negative: -1 says nothing new */
        free(t);
        return;
    }
    edits e = {0};
    char *desc = xasprintf("%s: %s -> %s", op, v->text, t);
    replace(&e, v, t);
    mutant2(c, key, at2, op, &e, desc);
    free(desc);
}

/* the first scalar value inside a mapping or list (not a key), or NULL */
static const node *first_leaf(const node *n, int depth)
{
    if (depth > MAX_DEPTH || n->anchored || n->tagged || n->type == N_ALIAS)
        return NULL;
    if (n->type == N_SCALAR)
        return n->style == FYSS_LITERAL || n->style == FYSS_FOLDED ? NULL : n;
    for (size_t i = n->type == N_MAP ? 1 : 0; i < n->nkids; i += n->type == N_MAP ? 2 : 1) {
        const node *l = first_leaf(n->kids[i], depth + 1);
        if (l)
            return l;
    }
    return NULL;
}

/* equals / subset / contains: a value the check cannot pass with */
static void op_value_change(const ctx *c, const node *key, const char *op, const node *v, int gains)
{
    edits e = {0};
    const char *why = NULL;
    char *desc;
    if (v->type == N_MAP || v->type == N_SEQ) {
        if ((why = insert_marker(&e, v))) {
            skip(c, key, op, why);
            return;
        }
        desc = xasprintf("%s: %s gains %s", op, v->type == N_MAP ? "the mapping" : "the list",
                         v->type == N_MAP ? "the member \\u00a7zz" : "the first element \\u00a7zz");
        mutant(c, key, op, &e, desc);
        free(desc);
        /* and, apart, its first value changed: the comparison goes deep */
        const node *l = first_leaf(v, 0);
        char *t = l ? other_scalar(l, !gains && !c->any, &why) : NULL;
        if (t) {
            desc = xasprintf("%s: the value %s inside -> %s", op, l->text, t);
            replace(&e, l, t);
            mutant(c, key, op, &e, desc);
            free(desc);
        }
        return;
    } else {
        if (!mutable_scalar(v, &why)) {
            skip(c, key, op, why);
            return;
        }
        /* contains/subset of a scalar, and anything under any:, must match
         * nothing; equals elsewhere only has to differ */
        char *t = other_scalar(v, !gains && !c->any, &why);
        if (!t) {
            skip(c, key, op, why);
            return;
        }
        desc = xasprintf("%s: %s -> %s", op, v->text, t);
        replace(&e, v, t);
    }
    mutant(c, key, op, &e, desc);
    free(desc);
    if (gains || c->any || !strcmp(op, "subset"))
        return;
    /* equals: the other integer neighbour; a string cut short, or with
     * its first letter's case flipped (a prefix or case-blind compare
     * would let these pass) */
    int_neighbour(c, key, NULL, op, v);
    if (kind_of(v) == K_STR && v->len >= 1) {
        size_t keep = v->len - 1; /* the last character goes, not half of it */
        while (keep > 0 && ((unsigned char)v->text[keep] & 0xC0) == 0x80)
            keep--;
        char *cut = dq("", v->text, keep, "");
        desc = xasprintf("%s: %s -> %s (cut short)", op, v->text, cut);
        replace(&e, v, cut);
        mutant(c, key, op, &e, desc);
        free(desc);
        for (size_t i = 0; i < v->len; i++) {
            char ch = v->text[i];
            if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
                char *flip = xstrdup(v->text);
                flip[i] = (char)(ch ^ 0x20);
                char *q = dq("", flip, v->len, "");
                free(flip);
                desc = xasprintf("%s: %s -> %s (one letter's case)", op, v->text, q);
                replace(&e, v, q);
                mutant(c, key, op, &e, desc);
                free(desc);
                break;
            }
        }
    }
}

static void op_string(const ctx *c, const node *key, const char *op, const node *v, const char *pre, const char *post)
{
    const char *why = NULL;
    if (!mutable_scalar(v, &why) || kind_of(v) != K_STR) {
        skip(c, key, op, why ? why : "operand not a string");
        return;
    }
    edits e = {0};
    char *t = dq(pre, v->text, v->len, post);
    char *desc = xasprintf("%s: %s -> %s", op, v->text, t);
    replace(&e, v, t);
    mutant(c, key, op, &e, desc);
    free(desc);
}

/* greaterThan/atLeast (up = 1) and lessThan/atMost (up = 0) */
static void op_bound(const ctx *c, const node *key, const char *op, const node *v, int up)
{
    const char *why = NULL;
    if (!mutable_scalar(v, &why)) {
        skip(c, key, op, why);
        return;
    }
    kind k = kind_of(v);
    char *t;
    if (c->numbers)
        t = xstrdup(up ? "1000000000000" : !strcmp(op, "lessThan") ? "0" : "-1");
    else if (k == K_INT || k == K_FLOAT)
        t = xasprintf("%s%s", up ? "" : "-", big(c, 0));
    else if (k == K_STR && up)
        t = xstrdup("\"\\U0010FFFF\\U0010FFFF" MARK "\"");
    else if (k == K_STR && !strcmp(op, "lessThan"))
        t = xstrdup("\"\"");
    else {
        skip(c, key, op, k == K_STR ? "atMost a string: only \"\" is below every string, and a value may be \"\""
                                    : "operand neither a number nor a string");
        return;
    }
    edits e = {0};
    char *desc = xasprintf("%s: %s -> %s", op, v->text, t);
    replace(&e, v, t);
    mutant(c, key, op, &e, desc);
    free(desc);
}

static void op_between(const ctx *c, const node *key, const node *v)
{
    const char *why = NULL;
    if (v->type != N_SEQ || v->nkids != 2 || !mutable_scalar(v->kids[0], &why) || !mutable_scalar(v->kids[1], &why)) {
        skip(c, key, "between", why ? why : "not a [low, high] list");
        return;
    }
    kind k = kind_of(v->kids[0]);
    if (decimal_int(v->kids[0]) && decimal_int(v->kids[1])) {
        /* just past each end: [high+1, high+1] and [low-1, low-1] */
        for (int end = 1; end >= 0; end--) {
            char *b = int_step(v->kids[end]->text, end ? 1 : -1);
            edits e = {0};
            replace(&e, v->kids[0], xstrdup(b));
            replace(&e, v->kids[1], xstrdup(b));
            char *desc = xasprintf("between: [%s, %s] -> [%s, %s]", v->kids[0]->text, v->kids[1]->text, b, b);
            mutant(c, key, "between", &e, desc);
            free(desc);
            free(b);
        }
        return;
    }
    const char *lo, *hi;
    if (c->numbers) {
        lo = "1000000000000";
        hi = "1000000000001";
    } else if (k == K_INT || k == K_FLOAT) {
        lo = big(c, 0);
        hi = big(c, 1);
    } else if (k == K_STR) {
        lo = hi = "\"\\U0010FFFF\\U0010FFFF" MARK "\"";
    } else {
        skip(c, key, "between", "operands neither numbers nor strings");
        return;
    }
    edits e = {0};
    replace(&e, v->kids[0], xstrdup(lo));
    replace(&e, v->kids[1], xstrdup(hi));
    char *desc = xasprintf("between: [%s, %s] -> [%s, %s]", v->kids[0]->text, v->kids[1]->text, lo, hi);
    mutant(c, key, "between", &e, desc);
    free(desc);
}

static void op_in(const ctx *c, const node *key, const node *v)
{
    const char *why = NULL;
    if (v->type != N_SEQ || v->nkids == 0) {
        skip(c, key, "in", "not a non-empty list");
        return;
    }
    for (size_t i = 0; i < v->nkids; i++)
        if (!mutable_scalar(v->kids[i], &why)) {
            skip(c, key, "in", why);
            return;
        }
    /* every element replaced by one of its kind that no old one equals:
     * strings gain M, numbers become BIG, booleans flip, null becomes M */
    int has_true = 0, has_false = 0;
    for (size_t i = 0; i < v->nkids; i++) {
        const node *x = v->kids[i];
        kind k = kind_of(x);
        if (k == K_BOOL)
            *(x->text[0] == 't' || x->text[0] == 'T' ? &has_true : &has_false) = 1;
        if ((k == K_INT || k == K_FLOAT) && !strcmp(x->text, big(c, 0))) {
            skip(c, key, "in", "BIG is in the list already");
            return;
        }
    }
    if (has_true && has_false) {
        skip(c, key, "in", "both true and false are in the list");
        return;
    }
    edits e = {0};
    if (closed_fault_value(c)) {
        /* lint holds these to the journal's words: every element becomes
         * one such word that none of them was */
        size_t nw;
        const char *const *words = fault_words(c->path, &nw);
        const char *to = NULL;
        for (size_t w = 0; w < nw && !to; w++) {
            int taken = 0;
            for (size_t i = 0; i < v->nkids; i++)
                taken |= kind_of(v->kids[i]) != K_NULL && v->kids[i]->len == strlen(words[w]) &&
                         !memcmp(v->kids[i]->text, words[w], v->kids[i]->len);
            if (!taken)
                to = words[w];
        }
        if (!to) {
            skip(c, key, "in", "every value of the field is in the list");
            return;
        }
        for (size_t i = 0; i < v->nkids; i++)
            replace(&e, v->kids[i], dq("", to, strlen(to), ""));
        mutant(c, key, "in", &e, "in: every element another word the journal can hold");
        return;
    }
    for (size_t i = 0; i < v->nkids; i++) {
        const node *x = v->kids[i];
        switch (kind_of(x)) {
        case K_INT:
        case K_FLOAT:
            replace(&e, x, xstrdup(big(c, 0)));
            break;
        case K_BOOL:
            replace(&e, x, xstrdup(has_true ? "false" : "true"));
            break;
        case K_NULL:
            replace(&e, x, xstrdup("\"" MARK "\""));
            break;
        default:
            replace(&e, x, dq("", x->text, x->len, MARK));
        }
    }
    mutant(c, key, "in", &e, "in: no element left that was there (strings gain \\u00a7zz, numbers BIG)");
}

/* type: T or [T, ...]: one type the value cannot have if it had one of
 * them (number includes integer) */
static void op_type(const ctx *c, const node *key, const node *v)
{
    static const char *const types[] = {"null", "boolean", "string", "array", "object", "integer", "number"};
    int had[7] = {0};
    const char *why = NULL;
    size_t n = v->type == N_SEQ ? v->nkids : 1;
    for (size_t i = 0; i < n; i++) {
        const node *x = v->type == N_SEQ ? v->kids[i] : v;
        if (!mutable_scalar(x, &why)) {
            skip(c, key, "type", why);
            return;
        }
        for (size_t t = 0; t < 7; t++)
            if (!strcmp(x->text, types[t]))
                had[t] = 1;
    }
    if (had[5] || had[6])
        had[5] = had[6] = 1; /* an integer is a number */
    size_t pick = 7;
    for (size_t t = 0; t < 7 && pick == 7; t++)
        if (!had[t])
            pick = t;
    if (pick == 7 || v->anchored || v->tagged || (v->type == N_SEQ && !v->flow)) {
        skip(c, key, "type", pick == 7 ? "every type is listed" : "a block list, anchored or tagged");
        return;
    }
    edits e = {0};
    if (v->type == N_SEQ)
        add_edit(&e, v->start, v->end - v->start, xstrdup(types[pick]));
    else
        replace(&e, v, xstrdup(types[pick]));
    char *desc = xasprintf("type: -> %s", types[pick]);
    mutant(c, key, "type", &e, desc);
    free(desc);
}

static void op_flip(const ctx *c, const node *key, const char *op, const node *v)
{
    const char *why = NULL;
    if (c->any) {
        skip(c, key, op, "under any: one entry may have it and another not");
        return;
    }
    if (!mutable_scalar(v, &why) || kind_of(v) != K_BOOL) {
        skip(c, key, op, why ? why : "operand not true or false");
        return;
    }
    edits e = {0};
    int t = v->text[0] == 't' || v->text[0] == 'T';
    char *desc = xasprintf("%s: %s -> %s", op, v->text, t ? "false" : "true");
    replace(&e, v, xstrdup(t ? "false" : "true"));
    mutant(c, key, op, &e, desc);
    free(desc);
}

static void whole_numbers(const ctx *c0, const node *key, const char *what, const node *v);

static const char *const negative_ops[] = {"notEquals", "notIn", "notContains", "notMatches"};

static int is_negative(const char *op)
{
    for (size_t i = 0; i < sizeof negative_ops / sizeof *negative_ops; i++)
        if (!strcmp(op, negative_ops[i]))
            return 1;
    return 0;
}

/* one operator of a check, a counter or a count */
static void op(const ctx *c, const node *key, const node *v)
{
    const char *o = key->text;
    if (c->skip) {
        skip(c, key, o, c->skip);
        return;
    }
    if (is_negative(o)) {
        skip(c, key, o, "a negative operator: no value can be named that the actual one must equal");
        return;
    }
    if (c->numbers) {
        if (!strcmp(o, "equals")) {
            const char *why = NULL;
            char *t;
            if (!mutable_scalar(v, &why) || kind_of(v) != K_INT || !(t = other_scalar(v, 1, &why))) {
                skip(c, key, o, why ? why : "not a whole number");
                return;
            }
            edits e = {0};
            char *desc = xasprintf("equals: %s -> %s", v->text, t);
            replace(&e, v, t);
            mutant(c, key, o, &e, desc);
            free(desc);
            int_neighbour(c, key, NULL, o, v);
        } else if (!strcmp(o, "greaterThan") || !strcmp(o, "atLeast"))
            op_bound(c, key, o, v, 1);
        else if (!strcmp(o, "lessThan") || !strcmp(o, "atMost"))
            op_bound(c, key, o, v, 0);
        else if (!strcmp(o, "between"))
            op_between(c, key, v);
        else
            skip(c, key, o, "not a counter operator this walker knows");
        return;
    }
    /* a number or null (response region, fault rule): lint refuses a
     * string there, so null becomes a number no request has */
    int number_or_null = c->subject && c->path &&
                         ((!strcmp(c->subject, "response") && !strcmp(c->path, "region")) ||
                          (!strcmp(c->subject, "fault") && !strcmp(c->path, "rule")));
    if (!strcmp(o, "equals") && number_or_null && v->type == N_SCALAR && kind_of(v) == K_NULL) {
        const char *why = NULL;
        if (!mutable_scalar(v, &why)) {
            skip(c, key, o, why);
            return;
        }
        edits e = {0};
        replace(&e, v, xstrdup("9000000000000000000"));
        mutant(c, key, o, &e, "equals: null -> 9000000000000000000");
    } else if (!strcmp(o, "equals") && closed_fault_value(c)) {
        /* fault source, wire and spec: lint refuses a value the journal
         * cannot hold (a typo, a case change, a spec out of canonical
         * form), so the mutant is another value it can hold */
        const char *why = NULL;
        if (!mutable_scalar(v, &why)) {
            skip(c, key, o, why);
            return;
        }
        const char *to = fault_other(c->path, kind_of(v) == K_NULL ? NULL : v->text, v->len);
        edits e = {0};
        char *desc = xasprintf("equals: %s -> %s", v->text, to);
        replace(&e, v, dq("", to, strlen(to), ""));
        mutant(c, key, o, &e, desc);
        free(desc);
    } else if (!strcmp(o, "equals"))
        op_value_change(c, key, o, v, 0);
    else if (!strcmp(o, "subset") || !strcmp(o, "contains"))
        op_value_change(c, key, o, v, 1);
    else if (!strcmp(o, "startsWith"))
        op_string(c, key, o, v, "", MARK);
    else if (!strcmp(o, "endsWith"))
        op_string(c, key, o, v, MARK, "");
    else if (!strcmp(o, "matches"))
        op_string(c, key, o, v, "(", ")" MARK);
    else if (!strcmp(o, "greaterThan") || !strcmp(o, "atLeast"))
        op_bound(c, key, o, v, 1);
    else if (!strcmp(o, "lessThan") || !strcmp(o, "atMost"))
        op_bound(c, key, o, v, 0);
    else if (!strcmp(o, "between"))
        op_between(c, key, v);
    else if (!strcmp(o, "in"))
        op_in(c, key, v);
    else if (!strcmp(o, "exists") || !strcmp(o, "notExists"))
        op_flip(c, key, o, v);
    else if (!strcmp(o, "length"))
        whole_numbers(c, key, "length", v);
    else if (!strcmp(o, "type"))
        op_type(c, key, v);
    else
        skip(c, key, o, "an operator this walker does not know");
}

/* a check: a mapping (path + operators, and/or/not) or a list of checks */
static void check(ctx c, const node *n, int depth)
{
    if (depth > MAX_DEPTH)
        die("checks nested too deep");
    if (n->type == N_SEQ) {
        for (size_t i = 0; i < n->nkids; i++)
            check(c, n->kids[i], depth + 1);
        return;
    }
    if (n->type != N_MAP)
        return; /* an alias or a scalar: lint's business */
    static const char *const subjects[] = {"path", "header", "query", "response", "responseHeader", "fault"};
    for (size_t j = 0; j < 6; j++) {
        const node *p = map_get(n, subjects[j]);
        if (p && p->type == N_SCALAR) {
            c.path = p->text;
            c.subject = j ? subjects[j] : NULL;
        }
    }
    for (size_t i = 0; i + 1 < n->nkids; i += 2) {
        const node *k = n->kids[i], *v = n->kids[i + 1];
        int is_subject = 0;
        for (size_t j = 0; k->type == N_SCALAR && j < 6; j++)
            is_subject |= !strcmp(k->text, subjects[j]);
        if (k->type != N_SCALAR || is_subject)
            continue;
        ctx sub = c;
        sub.path = NULL;
        sub.subject = NULL;
        if (!strcmp(k->text, "and")) {
            check(sub, v, depth + 1);
        } else if (!strcmp(k->text, "or")) {
            if (!sub.skip)
                sub.skip = "under or: (another alternative may hold)";
            check(sub, v, depth + 1);
        } else if (!strcmp(k->text, "not")) {
            if (!sub.skip)
                sub.skip = "under not: (a mutation that fails inside passes outside)";
            check(sub, v, depth + 1);
        } else {
            op(&c, k, v);
        }
    }
}

/* count, groups, length: N or {operators} on a whole number */
static void whole_numbers(const ctx *c0, const node *key, const char *what, const node *v)
{
    ctx c = *c0;
    c.numbers = 1;
    if (strcmp(what, "length"))
        c.path = NULL; /* a count has no path; a length is the path's */
    if (v->type == N_MAP) {
        for (size_t i = 0; i + 1 < v->nkids; i += 2)
            op(&c, v->kids[i], v->kids[i + 1]);
        return;
    }
    const char *why = NULL;
    char *t;
    if (!mutable_scalar(v, &why) || kind_of(v) != K_INT || !(t = other_scalar(v, 1, &why))) {
        skip(&c, key, what, why ? why : "not a whole number");
        return;
    }
    edits e = {0};
    char *desc = xasprintf("%s: %s -> %s", what, v->text, t);
    replace(&e, v, t);
    mutant2(&c, key, v, what, &e, desc); /* count: N is an equals at N, or at count */
    free(desc);
    int_neighbour(&c, key, v, what, v);
}

/* the smallest number of entries the count lets pass (default atLeast dflt) */
static long long count_floor(const node *v, long long dflt)
{
    if (!v)
        return dflt;
    if (v->type == N_SCALAR)
        return atoll(v->text);
    long long lo = 0;
    for (size_t i = 0; v->type == N_MAP && i + 1 < v->nkids; i += 2) {
        const char *o = v->kids[i]->text;
        const node *x = v->kids[i + 1];
        long long n = x->type == N_SCALAR ? atoll(x->text) : 0;
        if ((!strcmp(o, "equals") || !strcmp(o, "atLeast")) && n > lo)
            lo = n;
        else if (!strcmp(o, "greaterThan") && n + 1 > lo)
            lo = n + 1;
        else if (!strcmp(o, "between") && x->type == N_SEQ && x->nkids == 2 && atoll(x->kids[0]->text) > lo)
            lo = atoll(x->kids[0]->text);
    }
    return lo;
}

static const char *scalar_or_dash(const node *m, const char *k)
{
    const node *v = map_get(m, k);
    return v && v->type == N_SCALAR && v->len ? v->text : "-";
}

static void read_filter(const ctx *c, const node *f)
{
    if (f && f->type == N_SCALAR)
        readf(c, "filter\t-\t-\t%s\t-", f->text);
    else if (f && f->type == N_MAP)
        readf(c, "filter\t%s\t%s\t%s\t%s", scalar_or_dash(f, "method"), scalar_or_dash(f, "path"),
              scalar_or_dash(f, "route"), scalar_or_dash(f, "status"));
    else
        readf(c, "unknown\tfilter");
}

static int64_t duration_ns(const char *t)
{
    char *end;
    double v = strtod(t, &end);
    if (end == t)
        return -1;
    static const struct {
        const char *u;
        double ns;
    } units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (!strcmp(end, units[i].u))
            return (int64_t)(v * units[i].ns);
    return -1;
}

static const char *const filter_keys[] = {"method", "path", "route", "status", "fault", "region"};

static int is_filter_key(const char *k)
{
    for (size_t i = 0; i < sizeof filter_keys / sizeof filter_keys[0]; i++)
        if (!strcmp(k, filter_keys[i]))
            return 1;
    return 0;
}

static void expectation(const node *x)
{
    if (x->type != N_MAP)
        return;
    ctx c = {.exp = x};
    const node *w = map_get(x, "within");
    if (w)
        readf(&c, "within");
    const node *kn;
    if ((kn = map_get(x, "counter"))) {
        readf(&c, "counter\t%s", kn->type == N_SCALAR ? kn->text : "-");
        c.numbers = 1;
        c.need = kn->type == N_SCALAR ? kn->text : NULL;
    } else if ((kn = map_get(x, "lastRequest"))) {
        readf(&c, "capture\t%s", kn->type == N_SCALAR ? kn->text : "-");
    } else if ((kn = map_get(x, "requests"))) {
        read_filter(&c, kn);
    } else if ((kn = map_get(x, "order"))) {
        readf(&c, "ordered");
    } else if ((kn = map_get(x, "interval"))) {
        readf(&c, "ordered");
        readf(&c, "timed");
        read_filter(&c, kn);
    }
    for (size_t i = 0; i + 1 < x->nkids; i += 2) {
        const node *k = x->kids[i], *v = x->kids[i + 1];
        const char *key = k->type == N_SCALAR ? k->text : "";
        ctx s = c;
        if (!strcmp(key, "name") || !strcmp(key, "within") || !strcmp(key, "counter") ||
            !strcmp(key, "lastRequest") || !strcmp(key, "requests"))
            continue;
        if (map_get(x, "counter")) {
            op(&c, k, v);
        } else if (!strcmp(key, "body")) {
            check(s, v, 0);
        } else if (!strcmp(key, "json")) {
            check(s, v, 0); /* a list of checks: an and */
        } else if ((!strcmp(key, "count") || !strcmp(key, "groups")) && map_get(x, "requests")) {
            whole_numbers(&s, k, key, v);
        } else if (!strcmp(key, "groupBy") && map_get(x, "requests")) {
            continue; /* which entries go together: no value they must have */
        } else if (!strcmp(key, "each")) {
            check(s, v, 0);
        } else if (!strcmp(key, "inOrder") && map_get(x, "requests")) {
            check(s, v, 0); /* a list: check i on the i-th request, each must hold */
        } else if (!strcmp(key, "any")) {
            s.any = 1;
            check(s, v, 0);
        } else if (!strcmp(key, "none")) {
            s.skip = "under none: (a mutation that fails inside passes outside)";
            check(s, v, 0);
        } else if (!strcmp(key, "order") && v->type == N_SEQ) {
            for (size_t j = 0; j < v->nkids; j++) {
                const node *st = v->kids[j];
                read_filter(&c, st);
                if (st->type == N_ALIAS || st->anchored || st->tagged ||
                    (st->type != N_SCALAR && !st->flow) || (st->type == N_SCALAR && quoted(st))) {
                    skip(&c, st, "order", "a step that is an alias, anchored, or a block mapping");
                    continue;
                }
                edits e = {0};
                add_edit(&e, st->type == N_SCALAR ? st->start : st->start, st->end - st->start,
                         xstrdup("{path: \"/" MARK "\"}"));
                char *desc = xasprintf("order: step %zu -> {path: \"/\\u00a7zz\"}", j + 1);
                mutant(&c, st, "order", &e, desc);
                free(desc);
            }
        } else if (!strcmp(key, "interval") && v->type == N_MAP) {
            for (size_t j = 0; j + 1 < v->nkids; j += 2) {
                const node *ik = v->kids[j], *iv = v->kids[j + 1];
                const char *ikey = ik->type == N_SCALAR ? ik->text : "";
                if (is_filter_key(ikey))
                    continue;
                if (!strcmp(ikey, "count")) {
                    whole_numbers(&s, ik, "count", iv);
                } else if (!strcmp(ikey, "every")) {
                    const node *tol = map_get(v, "tolerance");
                    int64_t tn = tol && tol->type == N_SCALAR ? duration_ns(tol->text) : 0;
                    const char *why = NULL;
                    if (count_floor(map_get(v, "count"), 2) < 2)
                        skip(&s, ik, "every", "the count lets fewer than two entries pass: no gap to be off");
                    else if (tn < 0 || tn >= 1800 * 1000000000LL)
                        skip(&s, ik, "every", "a tolerance of half an hour or more");
                    else if (!mutable_scalar(iv, &why))
                        skip(&s, ik, "every", why);
                    else {
                        edits e = {0};
                        char *desc = xasprintf("every: %s -> 1h", iv->text);
                        replace(&e, iv, xstrdup("1h"));
                        mutant(&s, ik, "every", &e, desc);
                        free(desc);
                    }
                } else if (!strcmp(ikey, "tolerance")) {
                    skip(&s, ik, "tolerance", "no tolerance makes every gap off for sure");
                } else {
                    skip(&s, ik, ikey, "an interval key this walker does not know");
                    readf(&c, "unknown\t%s", ikey);
                }
            }
        } else {
            skip(&s, k, key, "a key this walker does not know");
            readf(&c, "unknown\t%s", key);
        }
    }
}

int main(int argc, char **argv)
{
    int i = 1;
    for (;;) {
        if (i + 1 < argc && !strcmp(argv[i], "--cap-within")) {
            cap_ns = duration_ns(argv[i + 1]);
            cap_text = argv[i + 1];
            if (cap_ns <= 0)
                die("--cap-within needs a duration such as 2s");
        } else if (i + 1 < argc && !strcmp(argv[i], "--big-exp")) {
            big_exp = atoi(argv[i + 1]);
            if (big_exp < 300 || big_exp > 1000000)
                die("--big-exp needs a whole number from 300 to 1000000");
            snprintf(big_lo, sizeof big_lo, "1e%d", big_exp);
            snprintf(big_hi, sizeof big_hi, "1e%d", big_exp + 1);
        } else {
            break;
        }
        i += 2;
    }
    if (argc - i != 2) {
        fputs("usage: ma_mutants [--cap-within DUR] [--big-exp N] FILE OUTDIR\n", stderr);
        return 2;
    }
    const char *file = argv[i];
    outdir = argv[i + 1];
    FILE *f = fopen(file, "rb");
    if (!f)
        die("%s: %s", file, strerror(errno));
    char *buf = NULL;
    size_t cap = 0;
    for (;;) {
        buf = xrealloc(buf, cap + 65536 + 1);
        size_t got = fread(buf + cap, 1, 65536, f);
        cap += got;
        if (got < 65536)
            break;
    }
    fclose(f);
    buf[cap] = '\0';
    src = buf;
    src_len = cap;

    struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET};
    struct fy_parser *p = fy_parser_create(&cfg);
    if (!p || fy_parser_set_string(p, buf, cap) != 0)
        die("cannot start the YAML parser");
    node *root = NULL;
    struct fy_event *ev;
    while ((ev = fy_parser_parse(p))) {
        if (ev->type == FYET_MAPPING_START || ev->type == FYET_SEQUENCE_START || ev->type == FYET_SCALAR) {
            root = build(p, ev, 0);
            break;
        }
        fy_parser_event_free(p, ev);
    }
    if (!root)
        die("%s: no YAML document", file);
    const node *list = root->type == N_MAP ? map_get(root, "expectations") : root;
    /* the within caps first (base.yaml), then the mutants, each written
     * over them */
    if (list && list->type == N_SEQ)
        for (size_t k = 0; k < list->nkids; k++) {
            const node *x = list->kids[k];
            const node *w = map_get(x, "within");
            int64_t ns = w && w->type == N_SCALAR ? duration_ns(w->text) : -1;
            if (cap_ns > 0 && ns > cap_ns && !w->anchored && !w->tagged) {
                size_t off, len;
                scalar_range(w, &off, &len);
                /* padded to the old length where it is shorter; where it is
                 * longer, the columns after it are told as they are in base */
                char *t = xstrdup(cap_text);
                if (strlen(t) < len) {
                    t = xrealloc(t, len + 1);
                    memset(t + strlen(t), ' ', len - strlen(t));
                    t[len] = '\0';
                } else if (strlen(t) > len) {
                    shifts = xrealloc(shifts, (nshifts + 1) * sizeof *shifts);
                    shifts[nshifts].line = w->line;
                    shifts[nshifts].col = w->col;
                    shifts[nshifts].delta = (int)(strlen(t) - len);
                    nshifts++;
                }
                add_edit(&base, off, len, t);
            }
        }
    write_file("base.yaml", NULL);
    if (list && list->type == N_SEQ)
        for (size_t k = 0; k < list->nkids; k++)
            expectation(list->kids[k]);
    node_free(root);
    for (size_t k = 0; k < base.n; k++)
        free(base.v[k].text);
    free(base.v);
    free(shifts);
    fy_parser_destroy(p);
    free(buf);
    return 0;
}
