/* yaml.h: YAML text -> a small tree that remembers where every node came
 * from (file:line:col), built from libfyaml's event parser. Anchors and
 * aliases are resolved by copying; duplicate mapping keys are an error.
 * Only this module includes libfyaml. */
#ifndef MA_YAML_H
#define MA_YAML_H

#include <stddef.h>

#include "util.h"

typedef enum { MA_Y_SCALAR, MA_Y_SEQ, MA_Y_MAP } ma_ytype;

typedef struct ma_ynode {
    ma_ytype type;
    ma_mark mark;         /* where the node starts */
    char *text;           /* scalar: its processed text (NUL-terminated) */
    size_t len;           /* scalar: its length (may hold NULs) */
    int plain;            /* scalar: 1 if written unquoted (so 1, true, null are typed) */
    int str_tag;          /* scalar: 1 if tagged !!str */
    struct ma_ynode **kids; /* seq: items; map: key, value, key, value ... */
    size_t nkids;           /* seq: item count; map: 2 x pair count */
} ma_ynode;

/* An error with its position (1-based line/col; line 0: no position). */
typedef struct {
    ma_mark mark;
    char msg[512];
    char source[256]; /* the offending source line, when known ("" if not) */
    int hide_source;  /* the line holds a secret (a credential compared by fingerprint): never show it */
} ma_error;

/* Parses the first document of text (len bytes) read from file (borrowed
 * for the marks; must outlive the tree). On success *root is the tree
 * (free with ma_ynode_free; an empty document gives NULL) and 0 is
 * returned; on a syntax error -1 with err filled. */
int ma_yaml_parse(const char *file, const char *text, size_t len, ma_ynode **root, ma_error *err);
void ma_ynode_free(ma_ynode *n);

/* The value under key in a mapping, or NULL. */
ma_ynode *ma_ymap_get(const ma_ynode *map, const char *key);
/* A short name for the node kind: "a mapping", "a list", "a scalar". */
const char *ma_ytype_name(const ma_ynode *n);

#endif
