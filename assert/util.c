/* util.c: see util.h. Allocation failures end the program (exit 3): a
 * pipeline tool that cannot allocate cannot produce a verdict either. */
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void ma_oom(void)
{
    fputs("mockassert: out of memory\n", stderr);
    exit(3);
}

void *ma_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        ma_oom();
    return p;
}

void *ma_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        ma_oom();
    return p;
}

void *ma_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        ma_oom();
    return q;
}

char *ma_xstrdup(const char *s)
{
    return ma_xstrndup(s, strlen(s));
}

char *ma_xstrndup(const char *s, size_t n)
{
    char *p = ma_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *ma_xasprintf(const char *fmt, ...)
{
    ma_buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    ma_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return ma_buf_steal(&b);
}

static void buf_reserve(ma_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2)
            ma_oom();
        cap *= 2;
    }
    b->p = ma_xrealloc(b->p, cap);
    b->cap = cap;
}

void ma_buf_add(ma_buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void ma_buf_puts(ma_buf *b, const char *s)
{
    ma_buf_add(b, s, strlen(s));
}

void ma_buf_putc(ma_buf *b, char c)
{
    ma_buf_add(b, &c, 1);
}

void ma_buf_vprintf(ma_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    buf_reserve(b, (size_t)n);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void ma_buf_printf(ma_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ma_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

const char *ma_buf_str(const ma_buf *b)
{
    return b->p ? b->p : "";
}

char *ma_buf_steal(ma_buf *b)
{
    char *p = b->p ? b->p : ma_xstrdup("");
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

void ma_buf_free(ma_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

int ma_parse_duration(const char *s, int64_t *ns, const char **why)
{
    const char *p = s;
    double whole = 0, frac = 0, scale = 1;
    int digits = 0;
    while (isdigit((unsigned char)*p)) {
        whole = whole * 10 + (*p++ - '0');
        digits++;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            scale /= 10;
            frac += (*p++ - '0') * scale;
            digits++;
        }
    }
    if (!digits) {
        *why = "a duration is a number with a unit, e.g. 10s or 200ms";
        return -1;
    }
    static const struct {
        const char *unit;
        double ns;
    } units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(p, units[i].unit) == 0) {
            double v = (whole + frac) * units[i].ns;
            if (v > 9.0e18) {
                *why = "duration too long";
                return -1;
            }
            *ns = (int64_t)(v + 0.5);
            return 0;
        }
    }
    *why = *p ? "unknown duration unit (use ns, us, ms, s, m or h)"
              : "a duration needs a unit (ns, us, ms, s, m or h), e.g. 10s";
    return -1;
}

void ma_format_duration(ma_buf *b, int64_t ns)
{
    const char *sign = ns < 0 ? "-" : "";
    uint64_t a = ns < 0 ? (uint64_t)(-(ns + 1)) + 1 : (uint64_t)ns;
    if (a >= 1000000000ULL) {
        /* seconds with up to 3 decimals, trailing zeros dropped */
        uint64_t ms = (a + 500000) / 1000000;
        if (ms % 1000 == 0)
            ma_buf_printf(b, "%s%llus", sign, (unsigned long long)(ms / 1000));
        else {
            char frac[8];
            snprintf(frac, sizeof frac, "%03u", (unsigned)(ms % 1000));
            size_t n = strlen(frac);
            while (n > 0 && frac[n - 1] == '0')
                frac[--n] = '\0';
            ma_buf_printf(b, "%s%llu.%ss", sign, (unsigned long long)(ms / 1000), frac);
        }
    } else if (a >= 1000000ULL)
        ma_buf_printf(b, "%s%llums", sign, (unsigned long long)((a + 500000) / 1000000));
    else if (a >= 1000ULL)
        ma_buf_printf(b, "%s%lluus", sign, (unsigned long long)((a + 500) / 1000));
    else
        ma_buf_printf(b, "%s%lluns", sign, (unsigned long long)a);
}

size_t ma_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
            size_t best = diag + cost;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            if (up + 1 < best)
                best = up + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *ma_suggest(const char *word, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    size_t bestd = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        size_t d = ma_edit_distance(word, candidates[i]);
        if (d < bestd) {
            bestd = d;
            best = candidates[i];
        }
    }
    size_t len = strlen(word);
    size_t limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
    return bestd <= limit ? best : NULL;
}
