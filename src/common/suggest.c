/* suggest.c: see suggest.h. The optimal-string-alignment distance over
 * three rows; names are short, so this is a few hundred steps each. */
#include "suggest.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

enum { MAXW = 63 };

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

static size_t distance(const char *a, size_t an, const char *b, size_t bn)
{
    size_t rows[3][MAXW + 1];
    size_t *pp = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= bn; j++)
        prev[j] = j;
    for (size_t i = 1; i <= an; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= bn; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            size_t cost = ca != cb;
            cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && pp[j - 2] + 1 < cur[j])
                cur[j] = pp[j - 2] + 1;
        }
        size_t *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[bn];
}

const char *mk_suggest(const char *word, const char *const *candidates, size_t n)
{
    size_t wn = word ? strlen(word) : 0;
    if (wn == 0 || wn > MAXW)
        return NULL;
    size_t limit = wn <= 3 ? 1 : wn <= 8 ? 2 : 3;
    const char *best = NULL;
    size_t best_d = limit + 1;
    for (size_t i = 0; i < n; i++) {
        size_t cn = strlen(candidates[i]);
        if (cn > MAXW || (cn > wn ? cn - wn : wn - cn) >= best_d)
            continue;
        size_t d = distance(word, wn, candidates[i], cn);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best;
}

char *mk_shown(const char *s, size_t n, char *out, size_t cap)
{
    size_t w = 0;
    bool cut = n > cap - 1;
    size_t take = cut ? cap - 4 : n;
    for (size_t i = 0; i < take; i++) {
        unsigned char c = (unsigned char)s[i];
        out[w++] = (c < 0x20 || c == 0x7f || c == '"' || c == '\\') ? '?' : (char)c;
    }
    if (cut) {
        memcpy(out + w, "...", 3);
        w += 3;
    }
    out[w] = '\0';
    return out;
}
