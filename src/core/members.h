/* members.h: the members of a JSON object a /test/ route takes as its
 * body, read strictly: each name one of a known list (an unknown one is
 * refused with a "did you mean" and the list), none given twice. The
 * bodies of POST /test/faults and POST /test/sessions. */
#ifndef MK_MEMBERS_H
#define MK_MEMBERS_H

#include <stddef.h>

#include "buf.h"
#include "gojson.h"

typedef struct mk_members {
    gj_iter it;
    const char *body;
    const char *const *names;
    size_t n;       /* names: at most 32 */
    unsigned seen;  /* bit i: names[i] was given */
    mk_buf key;     /* the member name, decoded (mk_members_name) */
} mk_members;

/* Opens body[0..len) (not empty) for mk_members_next: it must be one JSON
 * value, an object, and nothing after it but blanks. 0; or -1 with the
 * reason in err: not JSON, bytes after the value, or another kind of value
 * (then err is `not_object`, which says what the route wanted). */
int mk_members_open(mk_members *mm, const char *body, size_t len, const char *const *names, size_t n,
                    const char *not_object, char *err, size_t errlen);
/* The next member: 1 with *index (into names) and its value's kind and
 * span, 0 at the end, -1 with the reason in err (a name that is not a
 * valid string, an unknown one, one given twice, a broken object). */
int mk_members_next(mk_members *mm, size_t *index, gj_kind *vk, size_t *vs, size_t *ve, char *err,
                    size_t errlen);
void mk_members_free(mk_members *mm);
/* A member's value as a whole number from 0 to max (digits only, as JSON
 * writes one): 0 with *out, or -1. */
int mk_members_uint(const char *body, gj_kind vk, size_t vs, size_t ve, unsigned max, unsigned *out);

#endif
