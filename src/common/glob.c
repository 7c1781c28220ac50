/* glob.c: see glob.h.
 *
 * A Thompson automaton run bit-parallel (shift-and). Tokens: literal byte,
 * '*' (any run without '/'), '**' (any run). Bit i of the state set says
 * "tokens 0..i-1 matched". On a byte c:
 *   next = ((S & lit[c]) << 1)              a literal token consumed c
 *        | (S & dstar)                      a '**' takes c and stays
 *        | (S & star, when c != '/')        a '*' takes c and stays
 * then the empty match of a star: every bit i on a star token also sets
 * i + 1. One step of that closure is enough because two star tokens are
 * never adjacent (a run of stars is one token). A path byte costs a few
 * word operations per 64 tokens, and the set dies (early exit) as soon as
 * no state is alive. Before all that, the literal prefix and suffix of the
 * pattern are compared with the path's ends, which settles most paths of
 * most patterns at once. */
#include "glob.h"

#include <string.h>

static void closure(const mk_glob *g, uint64_t *s)
{
    uint64_t carry = 0;
    for (unsigned w = 0; w < g->nwords; w++) {
        uint64_t e = s[w] & g->anystar[w];
        s[w] |= (e << 1) | carry;
        carry = e >> 63;
    }
}

int mk_glob_compile(mk_glob *g, const char *p, size_t len)
{
    memset(g->cls, 0, sizeof g->cls);
    g->nclass = 0;
    bool too_long = len > MK_GLOB_MAX;
    if (too_long)
        len = 0;
    /* tokens first (at most len), so the word count is known */
    unsigned ntok = 0;
    for (size_t i = 0; i < len; ntok++) {
        if (p[i] == '*')
            while (i < len && p[i] == '*')
                i++;
        else
            i++;
    }
    g->ntok = ntok;
    g->nwords = (ntok + 1 + 63) / 64;
    memset(g->star, 0, sizeof g->star);
    memset(g->dstar, 0, sizeof g->dstar);
    memset(g->lit[0], 0, sizeof g->lit[0]);
    unsigned t = 0;
    for (size_t i = 0; i < len; t++) {
        uint64_t bit = (uint64_t)1 << (t % 64);
        unsigned w = t / 64;
        if (p[i] == '*') {
            size_t run = 0;
            while (i < len && p[i] == '*')
                i++, run++;
            if (run > 1)
                g->dstar[w] |= bit;
            else
                g->star[w] |= bit;
            continue;
        }
        unsigned char c = (unsigned char)p[i++];
        if (!g->cls[c]) {
            g->cls[c] = (uint16_t)++g->nclass;
            memset(g->lit[g->nclass], 0, sizeof g->lit[0]);
        }
        g->lit[g->cls[c]][w] |= bit;
    }
    for (unsigned w = 0; w < MK_GLOB_WORDS; w++)
        g->anystar[w] = g->star[w] | g->dstar[w];
    size_t pre = 0, suf = 0;
    while (pre < len && p[pre] != '*')
        pre++;
    g->starless = pre == len;
    while (!g->starless && suf < len && p[len - 1 - suf] != '*')
        suf++;
    memcpy(g->fixed, p, pre);
    memcpy(g->fixed + pre, p + len - suf, suf);
    g->prefix = (unsigned)pre;
    g->suffix = (unsigned)suf;
    if (too_long) { /* no state at all: nothing matches, not even "" */
        g->ntok = MK_GLOB_MAX + 1; /* beyond every reachable bit */
        g->nwords = 0;
        return -1;
    }
    return 0;
}

bool mk_glob_match(const mk_glob *g, const char *path, size_t len)
{
    if (g->nwords == 0)
        return false;
    /* the fixed ends first: most patterns are decided there in a few bytes */
    if (len < g->prefix + g->suffix || memcmp(path, g->fixed, g->prefix) != 0 ||
        memcmp(path + len - g->suffix, g->fixed + g->prefix, g->suffix) != 0)
        return false;
    if (g->starless)
        return len == g->prefix;
    if (g->nwords == 1) { /* up to 63 tokens: the state set in a register */
        const uint64_t any = g->anystar[0], deep = g->dstar[0];
        uint64_t s = 1 | ((1 & any) << 1);
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)path[i];
            uint64_t adv = s & g->lit[g->cls[c]][0];
            s = (adv << 1) | (s & (c == '/' ? deep : any));
            if (!s)
                return false;
            s |= (s & any) << 1;
        }
        return (s >> g->ntok) & 1;
    }
    uint64_t s[MK_GLOB_WORDS] = {1};
    closure(g, s);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)path[i];
        const uint64_t *lit = g->lit[g->cls[c]];
        const uint64_t *stay = c == '/' ? g->dstar : g->anystar;
        uint64_t carry = 0, alive = 0;
        for (unsigned w = 0; w < g->nwords; w++) {
            uint64_t adv = s[w] & lit[w];
            s[w] = (adv << 1) | carry | (s[w] & stay[w]);
            carry = adv >> 63;
            alive |= s[w];
        }
        if (!alive)
            return false;
        closure(g, s);
    }
    return (s[g->ntok / 64] >> (g->ntok % 64)) & 1;
}

bool mk_path_glob(const char *pattern, const char *path)
{
    mk_glob g;
    if (mk_glob_compile(&g, pattern, strlen(pattern)) != 0)
        return false;
    return mk_glob_match(&g, path, strlen(path));
}
