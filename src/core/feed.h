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
 *   event: gap       {"after","next","missed"}   seqs in (after,next) evicted
 *   id: SEQ / event: requests  [entry,...]       GET /test/requests' objects
 *   event: counters  {name:value}                the counters that moved
 *   id: SEQ                                       alone: /test/ requests were
 *                                                 passed over (not a gap later)
 * The id is the last journal seq the frame covers, so Last-Event-ID is a
 * journal position. /test/ requests are left out unless include_test. */
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
};

/* Opens a feed of session S (a reference of its own is taken) from the
 * entry after seq `since`; has_since false: from the oldest entry kept.
 * Appends the stream's first frames (retry, hello, and reset when since
 * is past the journal's end: a position from before a reset) to head and
 * fills *src for mk_sse_attach. Returns 0, or -1 out of memory (nothing
 * to release). */
int mk_feed_open(mk_session *S, bool has_since, uint64_t since, bool include_test, mk_buf *head,
                 mk_sse_source *src);

/* GET /test/events[?since=SEQ][&include_test=1]: the feed's stream of S
 * (Last-Event-ID, when sent, is the position instead of since). */
void mk_respond_feed(mockapi *m, mk_session *S, const mk_request *req, mk_response *resp);

#endif
