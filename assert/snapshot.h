/* snapshot.h: turning captured bodies into a starting expectation file
 * (mockassert snapshot KEY...), and the JSON -> YAML writer it uses. Pure:
 * the bodies are fetched by the caller. */
#ifndef MA_SNAPSHOT_H
#define MA_SNAPSHOT_H

#include <jansson.h>
#include <stddef.h>

#include "util.h"

typedef struct {
    const char *key;  /* capture key */
    int found;        /* 0: nothing captured under it */
    const char *body; /* the captured bytes (found only) */
    size_t len;
} ma_capture;

/* Appends v as block-style YAML whose first line continues the current
 * one, later lines indented by indent spaces. */
void ma_yaml_emit(ma_buf *out, const json_t *v, int indent);
/* A YAML scalar for a JSON scalar (plain when unambiguous, else quoted). */
void ma_yaml_scalar(ma_buf *out, const json_t *v);

/* Writes the whole expectation file for caps to out. source is shown in a
 * comment (the server URL). Bodies holding one of the mock's secrets get a
 * subset check without the members that hold it (said in a comment). */
void ma_snapshot_write(ma_buf *out, const ma_capture *caps, size_t n, const char *source);

#endif
