/* buf.c: growable byte buffer; see buf.h. */
#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mk_buf_init(mk_buf *b, size_t limit)
{
    memset(b, 0, sizeof(*b));
    b->limit = limit;
}

void mk_buf_free(mk_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void mk_buf_reset(mk_buf *b)
{
    b->len = 0;
    b->err = 0;
    if (b->data)
        b->data[0] = '\0';
}

int mk_buf_reserve(mk_buf *b, size_t extra)
{
    if (b->err)
        return -1;
    if (extra > SIZE_MAX - b->len - 1 || (b->limit && b->len + extra > b->limit)) {
        b->err = MK_BUF_ELIMIT;
        return -1;
    }
    size_t need = b->len + extra + 1; /* room for the trailing NUL */
    if (need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    char *p = realloc(b->data, ncap);
    if (!p) {
        b->err = MK_BUF_ENOMEM;
        return -1;
    }
    b->data = p;
    b->cap = ncap;
    return 0;
}

int mk_buf_append(mk_buf *b, const void *p, size_t n)
{
    if (mk_buf_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int mk_buf_puts(mk_buf *b, const char *s)
{
    return mk_buf_append(b, s, strlen(s));
}

int mk_buf_putc(mk_buf *b, char c)
{
    return mk_buf_append(b, &c, 1);
}

int mk_buf_printf(mk_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->err = MK_BUF_ENOMEM;
        return -1;
    }
    if ((size_t)n < sizeof small)
        return mk_buf_append(b, small, (size_t)n);
    if (mk_buf_reserve(b, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *mk_buf_steal(mk_buf *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

int mk_buf_putu(mk_buf *b, unsigned long long v)
{
    char num[24];
    size_t k = sizeof num;
    do
        num[--k] = (char)('0' + v % 10);
    while (v /= 10);
    return mk_buf_append(b, num + k, sizeof num - k);
}
