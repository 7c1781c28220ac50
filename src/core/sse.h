/* sse.h: the Server-Sent Events hub.
 *
 * One thread with one epoll set owns every event-stream socket; the event
 * loop (transport) only builds the response head and hands the socket over,
 * so a thousand streams cost a thousand small structs, not a thousand
 * threads, and ordinary requests never wait behind streams.
 *
 * Guarantees (each one a gap of the reference, docs/contract.md §13.4):
 *  - A stream is registered, under the hub lock, before its first byte is
 *    written: every event published after mk_sse_attach returns reaches it.
 *  - A bounded history ring replays events after a Last-Event-ID.
 *  - Each client has a bounded queue (cfg.queue_max frames). When it is full
 *    the NEWEST frame is dropped for that client and counted (per client and
 *    in total), as is every later event for it; the stream is ended once
 *    what was queued before the first drop has reached the client (its
 *    socket's send queue is empty, checked every 50 ms): what a client
 *    receives is always a gap-free prefix, it stays visible with its counts
 *    until then, and it resumes with Last-Event-ID from the history ring, as
 *    SSE clients do when a stream ends.
 *  - A publisher never blocks on a client: publish only appends references
 *    to shared, immutable frames.
 *  - Clients that close, or whose socket errors, are removed at once.
 *  - A client that stops reading is ended once its output has made no
 *    progress for cfg.stall_ms (counted as "stalled"), so its slot under
 *    max_clients frees up: non-reading streams cannot keep new subscribers
 *    out for longer than that. Only a stream with something to send can
 *    stall: the kernel's buffers (hundreds of KB on loopback) take the
 *    keep-alives and events of a silent client until they are full, so a
 *    non-reader is found once the bytes sent to it reach that much. The
 *    socket's send buffer is capped (SSE_SNDBUF) so that is soon.
 *
 * Locking: `lock` guards the client list, every queue and counter, and,
 * in every space (below), its history rings, counts and totals. The hub
 * thread never writes to a socket while holding it: it takes references to
 * the frames to send, unlocks, writes, and relocks to account for what
 * went out. */
#ifndef MK_SSE_H
#define MK_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "fault.h"

typedef struct mk_sse_hub mk_sse_hub;

/* A session's share of the hub (session.h): its streams, the history of
 * each topic, its event and stream numbering, its last nonce and its
 * totals. Every stream belongs to one space, given at attach; a publish,
 * fault, disconnect, status, count or wait names the space and reaches or
 * reports its streams only. The global cap (max_clients) and the hub
 * thread are shared. A space outlives hub stops and starts (history and
 * numbering are kept, as a session's are); its fields are guarded by the
 * hub lock while a hub runs. Refcounted: the session holds one reference,
 * each stream attached to it another. Its history rings are allocated on
 * first use, so an idle space costs a few hundred bytes.
 *
 * Every function below takes the space it concerns; h NULL (no hub: the
 * server is not started) does nothing and returns 0 / NULL, but for the
 * numbering (mk_sse_next_seq, mk_sse_next_stream), which is the space's
 * and atomic. sp NULL: every space for mk_sse_fault, mk_sse_disconnect,
 * mk_sse_count and mk_sse_wait_clients; nothing for the others (attach
 * then refuses the stream). */
typedef struct mk_sse_space mk_sse_space;

/* A new space (refs 1), or NULL out of memory. */
mk_sse_space *mk_sse_space_new(void);
struct mk_budget;
/* The budget its history's frames draw on (NULL, the default: none); set
 * before it is used. A publish whose frame would pass it is refused. */
void mk_sse_space_set_budget(mk_sse_space *sp, struct mk_budget *b);
/* The strict profile's numbering: event ids are sequence numbers, and a
 * Last-Event-ID that names no event in the history replays every event
 * whose id is a larger number (seed 004: "replays from > last"). */
void mk_sse_space_set_numeric(mk_sse_space *sp, bool on);
/* The last number mk_sse_next_seq gave in sp (0: none yet). */
uint64_t mk_sse_last_seq(mk_sse_space *sp);
/* Whether a frame of n bytes fits its budget now (no budget: true). */
bool mk_sse_space_fits(const mk_sse_space *sp, size_t n);
mk_sse_space *mk_sse_space_ref(mk_sse_space *sp);
/* Drops a reference; the last frees it. NULL is fine. Thread-safe. */
void mk_sse_space_unref(mk_sse_space *sp);
/* Ends every stream of sp with FIN, at a frame boundary (its session
 * ended); returns how many (not counting streams a fault is ending
 * already). They count as closed, not as a fault's end nor a
 * "disconnect". Waiters on sp (mk_sse_wait_clients) return at once.
 * A later attach to sp (a request that resolved the session before it
 * ended) gets its head and then FIN at once: nothing can reach the space
 * any more. The session ends its space after unlinking itself.
 * h NULL: 0. */
int mk_sse_space_end(mk_sse_hub *h, mk_sse_space *sp);

enum { MK_SSE_FAULT_LOG = 8 }; /* faults listed per stream in mk_sse_status */

/* Streams are grouped by topic: a publish reaches the streams of its topic
 * only, each topic keeps its own history for Last-Event-ID replay, and
 * each counts its own streams. The queue, drop and keep-alive rules and the
 * max_clients cap are the same for every stream. A feed of the journal for
 * the live page is the next topic. */
typedef enum mk_topic {
    MK_TOPIC_NODE, /* GET /v1/nodes/{id}/events: the signed node events */
    MK_TOPIC_FEED, /* GET /test/events: the live page's feed (feed.h) */
    MK_TOPIC_COUNT
} mk_topic;

/* A feed stream (MK_TOPIC_FEED) is not published to: the hub pulls its
 * frames from a source, so that it is lossless and costs nothing per
 * request. The hub calls pull from its thread, with no lock of its own
 * held, when the stream has nothing queued (everything pulled before was
 * written to its socket) and either something changed since its last pull
 * (mk_sse_feeds_changed) or the last pull said more is ready; at most once
 * per MK_SSE_FEED_FLUSH_MS unless the last pull asked for more at once.
 * pull appends the bytes to send to out (nothing: nothing to send) and
 * sets *more to what is left: MK_SSE_MORE_NONE (nothing: the next change
 * brings the next pull), MK_SSE_MORE_NOW (pull again as soon as this frame
 * is written) or MK_SSE_MORE_LATER (pull again at the next flush, without
 * a change); -1 ends the stream. release is called once,
 * when the stream is gone (from the hub thread, or from attach when it is
 * refused), with no lock held.
 *
 * Feed streams count toward max_clients and are ended by their space's end,
 * but are none of the agents' streams: mk_sse_status, the space's totals,
 * mk_sse_fault and mk_sse_disconnect leave them out. */
enum { MK_SSE_FEED_FLUSH_MS = 100 };
typedef enum mk_sse_more { MK_SSE_MORE_NONE, MK_SSE_MORE_NOW, MK_SSE_MORE_LATER } mk_sse_more;
typedef struct mk_sse_source {
    int (*pull)(void *arg, mk_buf *out, mk_sse_more *more);
    void (*release)(void *arg);
    void *arg;
} mk_sse_source;

/* Something a feed may show changed (a journal append, a counter move):
 * wakes the hub once per flush, however many changes come meanwhile, and
 * only while a feed stream is open. Any thread; h NULL is fine. */
void mk_sse_feeds_changed(mk_sse_hub *h);
/* Ends every feed stream of sp with FIN (POST /test/sse/disconnect?feed=1):
 * a page resumes with Last-Event-ID. Returns how many. */
int mk_sse_disconnect_feeds(mk_sse_hub *h, mk_sse_space *sp);

typedef struct mk_sse_config {
    unsigned keepalive_ms; /* ": keep-alive\n" interval per client */
    unsigned queue_max;    /* frames queued per client before drops */
    unsigned history;      /* events kept for Last-Event-ID replay */
    unsigned max_clients;  /* streams past this are refused */
    /* A stream whose output is stuck this long is ended (0: never): it has
     * bytes waiting (queued, or sent and not acknowledged while it
     * overflowed) and none went out or were acknowledged meanwhile. The
     * server passes request_timeout_ms, the deadline of every other
     * writer. */
    unsigned stall_ms;
    /* Called (under the hub lock) when a stream attaches or leaves, for
     * /test/sse/wait requests that wait without a thread. May be NULL. */
    void (*notify)(void *arg);
    void *notify_arg;
} mk_sse_config;

/* Starts the hub thread. Returns 0 or -1 (reason in err). */
int mk_sse_start(mk_sse_hub **out, const mk_sse_config *cfg, char *err, size_t errlen);
/* Makes waiters return and the hub thread wind down; the hub stays valid.
 * Call before stopping the threads that may wait on it. NULL is fine. */
void mk_sse_interrupt(mk_sse_hub *h);
/* Interrupts, closes every stream, joins the thread, frees. NULL is fine.
 * No other thread may use h any more. */
void mk_sse_stop(mk_sse_hub *h);

/* Takes socket fd (always) and registers a stream on it. `head` (the HTTP
 * response head and the initial event) is written first, then replayed
 * history after last_event_id (may be NULL: no replay), then live events.
 * node_id and peer are labels for mk_sse_status. When the hub is full (it
 * filled since dispatch looked: max_clients counts the streams of every
 * space) or out of memory, the client gets the 503
 * with mk_refusal(503) instead and fd is closed. sp is the stream's space
 * (its session's): attach takes a reference of its own. */
void mk_sse_attach(mk_sse_hub *h, mk_sse_space *sp, mk_topic topic, int fd, const char *head,
                   size_t head_len, const char *last_event_id, const char *node_id, const char *peer,
                   const mk_fault *fault, const mk_sse_source *src);
/* `src` (topic MK_TOPIC_FEED only; NULL otherwise) is the feed's source
 * (above); attach takes it over, and releases it when it refuses the
 * stream. A feed gets no history replay and no fault. */
/* `fault` (NULL: none) is a stream fault the stream starts with (from the
 * X-Mockapi-Fault header or a rule, decided at connect); it is applied as
 * mk_sse_fault applies one to an open stream, the head (with the initial
 * event) not counting as an event. drop or reset there end the stream
 * before its head is written.
 *
 * Stream faults (the stream keys of fault.h, and drop/reset):
 *  - cut-after=N: the stream ends (FIN) once N more events (injected or
 *    replayed; not keep-alives, not the head) have been written; events
 *    queued behind them are not sent on it (a client resumes them from
 *    the history with Last-Event-ID).
 *  - cut-mid: the first half of the next event's frame is written, then
 *    the stream ends (FIN). With cut-after=N: after N whole events.
 *  - stall=MS: nothing is written (events nor keep-alives) for MS; events
 *    published meanwhile queue (up to queue_max, as for any stream) and
 *    flow when it ends. A stalled stream is not "stuck" (cfg.stall_ms). At
 *    attach, the head (with the initial event) still goes out first.
 *  - retry=MS: a `retry: MS` field and a blank line are written before
 *    anything still queued (after a frame already half written).
 *  - reset: the stream ends at once with RST.
 *  - drop: the stream ends at once with FIN (after the rest of a frame
 *    already half written, so the client sees whole frames).
 * A frame half written when a fault arrives is finished first and is not
 * one of cut-after's N. Other keys of f (status, delay, ...) are not the
 * hub's and are ignored. Every application is counted (the hub's totals)
 * and listed on its stream (mk_sse_status). */

/* Applies f's stream keys to every open stream of node node_id (NULL:
 * every stream). Returns the number of streams it was applied to (0 when
 * f is NULL or has no stream key). */
int mk_sse_fault(mk_sse_hub *h, mk_sse_space *sp, const char *node_id, const mk_fault *f);

/* Ends every open stream of node node_id (NULL: all) with FIN, at a frame
 * boundary as drop does, so clients reconnect (POST /test/sse/disconnect).
 * Returns how many it ended; counted as "disconnect" on each. */
int mk_sse_disconnect(mk_sse_hub *h, mk_sse_space *sp, const char *node_id);

/* Reserves sp's next event sequence number (1, 2, ...). h may be NULL. */
uint64_t mk_sse_next_seq(mk_sse_hub *h, mk_sse_space *sp);
/* Reserves sp's next stream number (1, 2, ...), for initial event ids. h
 * may be NULL. */
uint64_t mk_sse_next_stream(mk_sse_hub *h, mk_sse_space *sp);
/* Counts a stream refused before it reached the hub (the cap). */
void mk_sse_count_refused(mk_sse_hub *h, mk_sse_space *sp);

/* Publishes one SSE frame to every stream of topic (node_id not NULL: to
 * that node's streams only) and keeps it in that topic's history ring under
 * `sse_id` (the value of its id: line); a targeted frame is replayed only
 * to that node's streams. Returns the number of streams it was queued for
 * (drops excluded), or -1 when keeping it would pass sp's budget (then it
 * is neither kept nor sent). */
int mk_sse_publish(mk_sse_hub *h, mk_sse_space *sp, mk_topic topic, const char *node_id, const char *sse_id,
                   size_t id_len, const char *frame, size_t frame_len);

/* The nonce of the last injected event (for inject-event's nonce=repeat):
 * mk_sse_set_nonce records it; mk_sse_last_nonce returns a malloc'd copy
 * (*len its length; free() it), or NULL when none was recorded since the
 * start or the last mk_sse_clear_history. */
void mk_sse_set_nonce(mk_sse_hub *h, mk_sse_space *sp, const char *nonce, size_t len);
char *mk_sse_last_nonce(mk_sse_hub *h, mk_sse_space *sp, size_t *len);

/* Appends a JSON object describing sp: its totals and one entry per stream
 * (id, node, peer, connected_ms, queued, delivered, dropped), with the
 * stream faults applied: "faults" counts each key over all streams, and
 * each stream lists what was applied to it ("cut-after=3", "disconnect";
 * the last MK_SSE_FAULT_LOG of them, with their number). */
void mk_sse_status(mk_sse_hub *h, mk_sse_space *sp, mk_buf *out);

/* Forgets sp's event history of every topic and its last nonce, and gives
 * back the history's memory. Streams stay open; the numbering goes on, as
 * it did before sessions (event ids stay unique across resets). */
void mk_sse_clear_history(mk_sse_hub *h, mk_sse_space *sp);

/* The number of open streams of topic (an mk_topic) in sp, or of all
 * topics with topic -1; sp NULL: over every space (what max_clients
 * bounds). */
int mk_sse_count(mk_sse_hub *h, mk_sse_space *sp, int topic);

/* Waits until at least n streams of topic are connected in sp (NULL: over
 * every space) or timeout_ms passes, or sp ends (mk_sse_space_end), or the
 * hub is interrupted. Returns the number connected at return. */
int mk_sse_wait_clients(mk_sse_hub *h, mk_sse_space *sp, mk_topic topic, int n, unsigned timeout_ms);

#endif
