/* buf.h: a growable byte buffer with an optional hard cap.
 *
 * Every buffer that grows from input has a cap (STYLE 8). Appends past the
 * cap or past available memory fail, set `err` and leave the buffer's
 * contents as they were; later appends keep failing, so a writer can append
 * a whole response and check `err` once at the end. */
#ifndef MK_BUF_H
#define MK_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct mk_buf {
    char *data;   /* owned; NUL-terminated past len whenever len > 0 */
    size_t len;
    size_t cap;   /* allocated bytes */
    size_t limit; /* 0 = no cap */
    int err;      /* 0, or MK_BUF_ENOMEM / MK_BUF_ELIMIT once an append failed */
} mk_buf;

enum { MK_BUF_ENOMEM = 1, MK_BUF_ELIMIT = 2 };

void mk_buf_init(mk_buf *b, size_t limit);
void mk_buf_free(mk_buf *b);
void mk_buf_reset(mk_buf *b);          /* len = 0, err = 0, keeps memory */
int mk_buf_reserve(mk_buf *b, size_t extra);
int mk_buf_append(mk_buf *b, const void *p, size_t n);
int mk_buf_puts(mk_buf *b, const char *s);
int mk_buf_putc(mk_buf *b, char c);
int mk_buf_putu(mk_buf *b, unsigned long long v); /* decimal */
int mk_buf_printf(mk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the bytes to the caller (free() them) and leaves b empty. */
char *mk_buf_steal(mk_buf *b, size_t *len);

#endif
