/* glob.h: the path glob of the journal filters, one matcher for the server
 * (/test/requests, /test/wait) and mockassert (which compiles this file
 * too), so both always agree on what a pattern selects. */
#ifndef MK_GLOB_H
#define MK_GLOB_H

#include <stdbool.h>

/* '*' matches within one path segment (never '/'), '**' (or more stars)
 * across segments, every other byte itself. Pure; no allocation. */
bool mk_path_glob(const char *pattern, const char *path);

#endif
