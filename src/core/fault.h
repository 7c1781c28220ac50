/* fault.h: the fault grammar, as pure functions over bytes.
 *
 * One spec language for every carrier (the X-Mockapi-Fault header, the
 * rules of /test/faults, the binary's -fault flag, the C API): items
 * separated by ';', each `key` or `key=value`, white space around either
 * ignored. Examples:
 *   status=503; retry-after=2      answer 503 (a JSON body that says it was
 *                                  injected) with Retry-After: 2
 *   delay=250; jitter=50           answer after 200-300 ms
 *   drop | reset | garbage         FIN with nothing written | RST | bytes
 *                                  that are not HTTP, then FIN
 *   hang | hang=5000               hold the request unanswered (until the
 *                                  client leaves or the server stops | for
 *                                  5 s, then FIN)
 *   partial=128; then=rst          the head with the true Content-Length,
 *                                  128 body bytes, then FIN (or RST)
 *   slow=2048                      the response at 2048 bytes/s
 *   first=2 | p=0.3; seed=7        only the first 2 matching requests | a
 *                                  seeded 30% of them
 *   region=0,1                     only on regions 0 and 1
 *   skip-auth                      the strict profile checks no credential
 *                                  (the route runs as if the right one came)
 *   cut-after=3 | cut-mid | stall=2000 | retry=500   (the events route:
 *                                  end the stream after 3 events | in the
 *                                  middle of the next event | send nothing,
 *                                  not even keep-alives, for 2 s | send
 *                                  `retry: 500` first)
 * Parsing is strict: an unknown key (with a "did you mean"), a value where
 * none belongs or none where one is needed, a number out of its range, a
 * key given twice or two items that contradict each other is an error whose
 * message names the offending item. Nothing is ignored. */
#ifndef MK_FAULT_H
#define MK_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What goes on the wire instead of (or with) the answer. */
typedef enum mk_fault_wire {
    MK_WIRE_RESPONSE = 0, /* the answer is written (maybe delayed or slowed) */
    MK_WIRE_DROP,         /* nothing written; the connection ends with FIN */
    MK_WIRE_RESET,        /* nothing written; the connection ends with RST */
    MK_WIRE_HANG,         /* nothing written; held for hang_ms (0: until the
                           * client leaves or the server stops), then FIN */
    MK_WIRE_PARTIAL,      /* the head and `partial` body bytes, then FIN/RST */
    MK_WIRE_GARBAGE,      /* bytes that are not HTTP, then FIN */
} mk_fault_wire;

/* The keys, one bit each in mk_fault.has (and the order format writes). */
#define MK_FAULT_KEYS(X)                                                     \
    X(STATUS, "status")                                                      \
    X(RETRY_AFTER, "retry-after")                                            \
    X(DELAY, "delay")                                                        \
    X(JITTER, "jitter")                                                      \
    X(DROP, "drop")                                                          \
    X(RESET, "reset")                                                        \
    X(HANG, "hang")                                                          \
    X(PARTIAL, "partial")                                                    \
    X(THEN, "then")                                                          \
    X(SLOW, "slow")                                                          \
    X(GARBAGE, "garbage")                                                    \
    X(FIRST, "first")                                                        \
    X(P, "p")                                                                \
    X(SEED, "seed")                                                          \
    X(REGION, "region")                                                      \
    X(CUT_AFTER, "cut-after")                                                \
    X(CUT_MID, "cut-mid")                                                    \
    X(STALL, "stall")                                                        \
    X(RETRY, "retry")                                                        \
    X(SKIP_AUTH, "skip-auth")

typedef enum mk_fault_key {
#define MK_FAULT_KEY_ENUM_(id, name) MK_FK_##id,
    MK_FAULT_KEYS(MK_FAULT_KEY_ENUM_)
#undef MK_FAULT_KEY_ENUM_
    MK_FK_COUNT
} mk_fault_key;

#define MK_FAULT_HAS(f, key) (((f)->has >> MK_FK_##key) & 1u)

/* Upper bounds, named in error messages. */
enum {
    MK_FAULT_MAX_MS = 600000,        /* delay, jitter, hang, stall, retry: 10 min */
    MK_FAULT_MAX_RETRY_AFTER = 86400, /* seconds */
    MK_FAULT_MAX_PARTIAL = 1 << 30,
    MK_FAULT_MAX_SLOW = 1 << 30,     /* bytes/s */
    MK_FAULT_MAX_FIRST = 1000000000,
    MK_FAULT_MAX_CUT = 1000000000,
    MK_FAULT_MAX_REGION = 31,        /* regions are 0..31 */
};

typedef struct mk_fault {
    uint32_t has;          /* bit MK_FK_x: key x was given */
    /* the answer */
    int status;            /* 0: the route's own; else 400-599, injected */
    unsigned retry_after;  /* seconds, with status (has RETRY_AFTER) */
    /* the wire */
    mk_fault_wire wire;
    unsigned delay_ms, jitter_ms;
    unsigned hang_ms;      /* with HANG: 0 = until the client leaves or stop */
    unsigned partial;      /* with PARTIAL: body bytes written */
    bool partial_rst;      /* then=rst */
    unsigned slow_bps;     /* 0: full speed */
    /* which requests */
    unsigned first;        /* 0: every matching one */
    double p;              /* probability; 1 unless P given */
    uint64_t seed;         /* with SEED */
    uint32_t regions;      /* bit i: region i; 0: every region */
    /* event streams */
    unsigned cut_after;    /* with CUT_AFTER: events sent before the end */
    bool cut_mid;
    unsigned stall_ms;     /* with STALL */
    unsigned retry_ms;     /* with RETRY */
    /* the strict profile: no authentication or authorisation (for tests
     * that are not about auth); the route runs */
    bool skip_auth;
} mk_fault;

/* Parses spec (len bytes; need not be NUL-terminated) into *f. Returns 0,
 * or -1 with a one-line message in err naming the bad item, e.g.
 *   unknown key "stauts" (did you mean "status"?)
 *   delay=99999999: out of range 0-600000 (milliseconds)
 *   status and drop contradict: drop writes nothing */
int mk_fault_parse(const char *spec, size_t len, mk_fault *f, char *err, size_t errlen);

/* Writes f in the canonical form (keys in MK_FAULT_KEYS order, "; "
 * between items) into out (NUL-terminated, truncated to cap). Returns the
 * length it needs, as snprintf does. Parsing the result gives f back. */
size_t mk_fault_format(const mk_fault *f, char *out, size_t cap);

/* Whether f uses a key that only an event stream can honour (cut-after,
 * cut-mid, stall, retry). Such a spec on another route is refused. */
bool mk_fault_is_stream(const mk_fault *f);

/* The journal's word for what goes on the wire: "response", "fin", "rst",
 * "timeout", "partial:128", "partial:128+rst", "garbage" (into out). */
void mk_fault_wire_text(const mk_fault *f, char *out, size_t cap);

/* A small, seedable random source (splitmix64): reproducible run to run
 * for a given seed. */
uint64_t mk_fault_rand(uint64_t *state);

#endif
