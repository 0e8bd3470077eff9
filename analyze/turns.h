/* turns.h -- the requests a client sends inside one long connection.
 *
 * An API relay that pools its upstream connections (a few kept-alive
 * HTTP/1.1 or HTTP/2 connections to api.openai.com, every client's
 * request multiplexed onto them) opens no new connection per request, and
 * a busy one never falls silent long enough for an ON period to start
 * (timing.h). What still shows is each request: the client's side of the
 * connection starts sending again (a request's HEADERS and DATA frames in
 * one or a few TLS application records) after it was silent, while the
 * server's side may be streaming other answers all along. A turn starts at
 * a client payload after more than TURNS_GAP_US without one and counts as
 * a request once it carries TURNS_MIN_BYTES of payload, which HTTP/2's
 * own small frames (PING, WINDOW_UPDATE, SETTINGS acknowledgements: 35-40
 * bytes as TLS 1.3 records) never reach.
 *
 * Only flows the worker marks (turns_start(), for connections to an AI
 * API by name: docs/rules.md, ai_api_relay) keep a state, so the memory
 * is spent on a few connections, not on every flow. The request starts
 * of the current record are read by the rules (turns_get()) and forgotten
 * once the record is written (turns_record_done()).
 *
 * Threads: a flow and its state belong to one worker.
 */
#ifndef LOOPHOLE_TURNS_H
#define LOOPHOLE_TURNS_H

#include <stdint.h>

#include "capture/packet.h"
#include "flow.h"

#define TURNS_MAX       256    /* request starts kept per record (the latest) */
#define TURNS_GAP_US    100000 /* client silence before a new request */
#define TURNS_MIN_BYTES 100    /* client payload that makes a turn a request */

/* Gives f a state (once; out of memory leaves it without). */
void turns_start(flow *f);

/* 1 when p goes to turns_packet(): a client payload of a marked flow. */
static inline int turns_wants(const flow *f, const packet *p, int dir)
{
    return flow_an(f)->turns != NULL && dir == 0 && p->payload_len > 0;
}

/* Accounts client payload p of f. */
void turns_packet(flow *f, const packet *p);

/* Copies the request starts of the current record, oldest first, at most
 * max. Returns how many; 0 for a flow without a state. */
int turns_get(const flow *f, uint64_t *out, int max);

/* Forgets the starts of the record just written (a turn under way stays). */
void turns_record_done(flow *f);

/* Frees f's state. Safe on any flow, any number of times. */
void turns_release(flow *f);

#endif
