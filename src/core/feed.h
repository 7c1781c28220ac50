/* feed.h: the live page's feed, GET /test/events (README "The live page").
 *
 * A feed is an event stream of the hub (sse.h, MK_TOPIC_FEED) whose frames
 * are pulled from its session's journal and counters, not published: the
 * request path pays nothing for it beyond the state's change notice (the
 * feed counts as a waiter on the state), a page that reads slowly only
 * falls behind in the journal (bounded: one frame queued), and a page
 * that reconnects with Last-Event-ID gets every entry after it once, or a
 * `gap` event for what the journal evicted meanwhile.
 *
 * The frames (data: one line of JSON each):
 *   retry: 1000                                   (first, once)
 *   event: hello     {"session","epoch","next_seq","oldest_seq","counters"}
 *   event: reset     {"epoch"}        the journal was cleared since the cursor
 *   event: gap       {"after","next","missed","reason"}  seqs in (after,next)
 *                    not sent: "evicted" by the journal first, or skipped
 *                    because the reader was "behind" (below)
 *   id: SEQ / event: requests  [entry,...]       GET /test/requests' objects
 *   event: counters  {name:value}                the counters that moved
 *   id: SEQ                                       alone: /test/ requests were
 *                                                 passed over (not a gap later)
 * The id is the last journal seq the frame covers, so Last-Event-ID is a
 * journal position. /test/ requests are left out unless include_test;
 * brief leaves out headers and bodies (mk_jentry_json_brief).
 *
 * Pace: the entries there were when it opened (a backlog) come as fast as
 * the reader takes them, in frames of MK_FEED_MAX_ENTRIES; after that (it
 * follows) at most one frame per MK_SSE_FEED_FLUSH_MS, about 5,000 entries
 * a second, so a page left open on a server at full load costs it one
 * rendering of that many entries a second, not of every request. A
 * follower more than MK_FEED_FOLLOW_MAX entries behind skips to the newest
 * frame with a gap event (reason "behind"); a page is for people, and
 * GET /test/requests still has everything the journal holds. */
#ifndef MK_FEED_H
#define MK_FEED_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "dispatch.h"
#include "session.h"
#include "sse.h"

enum {
    MK_FEED_MAX_ENTRIES = 512,        /* entries per frame */
    MK_FEED_MAX_BYTES = 1024 * 1024,  /* a frame stops growing past this (one entry at least) */
    MK_FEED_FOLLOW_MAX = 10000, /* entries a follower may lag (a burst) before it skips */
};

/* Opens a feed of session S (a reference of its own is taken) from the
 * entry after seq `since`; has_since false: from the oldest entry kept.
 * epoch (NULL: not said) is the journal epoch since belongs to: another
 * than the journal's makes it a position from before a reset, as a since
 * past the journal's end does.
 * Appends the stream's first frames (retry, hello, and reset when since
 * is past the journal's end: a position from before a reset) to head and
 * fills *src for mk_sse_attach. Returns 0, or -1 out of memory (nothing
 * to release). */
int mk_feed_open(mk_session *S, bool has_since, uint64_t since, const uint64_t *epoch, bool include_test,
                 bool brief, mk_buf *head, mk_sse_source *src);

/* GET /test/events[?since=SEQ[&epoch=E]][&include_test=1][&brief=1]: the feed's stream of S
 * (Last-Event-ID, when sent, is the position instead of since). */
void mk_respond_feed(mockapi *m, mk_session *S, const mk_request *req, mk_response *resp);

#endif
