/* glob.c: see glob.h.
 *
 * Iterative, with two backtrack points: the latest '**' and the latest '*'
 * after it. On a mismatch the single star first takes one more byte of its
 * segment; when it cannot, the '**' takes one more byte and everything
 * after it is matched again. Earlier stars never need revisiting: text
 * before a matched '**' is irrelevant to what follows, and between two
 * '**' the usual leftmost argument holds segment by segment. */
#include "glob.h"

#include <stddef.h>

bool mk_path_glob(const char *p, const char *s)
{
    const char *deep_p = NULL, *deep_s = NULL; /* after the latest '**' */
    const char *star_p = NULL, *star_s = NULL; /* after the latest '*' */
    for (;;) {
        if (p[0] == '*' && p[1] == '*') {
            while (*p == '*')
                p++;
            deep_p = p;
            deep_s = s;
            star_p = NULL;
        } else if (*p == '*') {
            star_p = ++p;
            star_s = s;
        } else if (*s && *p == *s) {
            p++;
            s++;
        } else if (!*s && !*p) {
            return true;
        } else if (star_p && *star_s && *star_s != '/') {
            p = star_p;
            s = ++star_s;
        } else if (deep_p && *deep_s) {
            star_p = NULL;
            p = deep_p;
            s = ++deep_s;
        } else {
            return false;
        }
    }
}
