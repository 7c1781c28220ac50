/* api.h: what the files of the public API share (internal). */
#ifndef MK_API_H
#define MK_API_H

#include <stddef.h>

#include "mockapi.h"
#include "session.h"

/* A handle on one session of an instance: the instance functions use one
 * on `default` (MK_API_DEFAULT), mockapi_session_* the caller's. */
struct mockapi_session {
    mockapi *m;
    mk_session *s; /* a reference */
};

#define MK_API_DEFAULT(m) (&(mockapi_session){(m), (m)->def})

/* Formats into errbuf when there is one. */
void mk_api_set_err(char *errbuf, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
