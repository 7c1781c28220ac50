/* log.c: the instance's log line, through cfg.log or to stderr. */
#include <stdarg.h>
#include <stdio.h>

#include "server.h"

void mk_log(const mockapi *m, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (m && m->cfg.log)
        m->cfg.log(m->cfg.log_user, line);
    else
        fprintf(stderr, "%s\n", line);
}
