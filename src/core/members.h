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

/* Scans a whole body as one JSON value (white space around it allowed):
 * 1 when it is an object, *start and *end its span; 0 for a value of
 * another kind (the caller says what it wanted); -1 with the reason in
 * err (not JSON, bytes after the value). body[0..len) must not be empty. */
int mk_members_scan(const char *body, size_t len, size_t *start, size_t *end, char *err, size_t errlen);

/* Starts over the object body[start, end) (a span gj_scan_value gave). */
void mk_members_init(mk_members *mm, const char *body, size_t start, size_t end, const char *const *names,
                     size_t n);
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
