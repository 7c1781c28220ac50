/* civet_parse.h: civetweb's HTTP head parser, for the event loop.
 *
 * civetweb is this project's HTTP library: its request-line and header
 * parser decides what a well-formed head is (the event loop in loop.c owns
 * the sockets and the framing; see http1.h). The parser functions are internal to
 * civetweb.c, so civetweb_build.c compiles civetweb.c into the same
 * translation unit and exposes them here. */
#ifndef MK_CIVET_PARSE_H
#define MK_CIVET_PARSE_H

/* Length of the request head in buf (through the blank line), 0 if
 * incomplete, -1 if malformed. */
int mk_civet_head_len(const char *buf, int len);

/* Parses a complete head in place (writes NULs into buf). Fills method,
 * uri, version (after "HTTP/") and up to 64 name/value pairs (civetweb's
 * own limit; later ones are dropped). Returns the head length, or <= 0 when
 * the head is malformed. */
typedef struct mk_civet_head {
    const char *method, *uri, *version;
    int nheaders;
    struct {
        const char *name, *value;
    } headers[64];
} mk_civet_head;
int mk_civet_parse_head(char *buf, int len, mk_civet_head *out);

#endif
