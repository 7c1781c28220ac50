/* refusal.c: see refusal.h. */
#include "refusal.h"

#include <string.h>

typedef struct refusal {
    int status;
    const char *text;
} refusal;

/* Content-Length is checked against the body by a unit test. */
static const refusal table[] = {
    {400, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Connection: close\r\nContent-Length: 15\r\n\r\n400 Bad Request"},
    {431, "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; "
          "charset=utf-8\r\nConnection: close\r\nContent-Length: 35\r\n\r\n"
          "431 Request Header Fields Too Large"},
    {500, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Connection: close\r\nContent-Length: 25\r\n\r\n500 Internal Server Error"},
    {501, "HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Connection: close\r\nContent-Length: 19\r\n\r\n501 Not Implemented"},
    {505, "HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Connection: close\r\nContent-Length: 30\r\n\r\n505 HTTP Version Not Supported"},
};

const char *mk_refusal(int status, size_t *len)
{
    const refusal *r = &table[0];
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].status == status)
            r = &table[i];
    *len = strlen(r->text);
    return r->text;
}
