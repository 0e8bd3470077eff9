/* capture.h -- the capture thread: sources -> decoder -> worker rings.
 *
 * One capture thread reads every source in order (the -r files one after
 * the other as one stream, or one live interface), decodes each frame,
 * counts what it cannot use by reason, picks the worker that owns the
 * packet's flow (flow_key_shard()) and copies the packet into that
 * worker's ring. Packets of one flow therefore always reach the same
 * worker, in capture order.
 *
 * Besides packets, the capture thread sends two kinds of records to every
 * worker: ticks, which carry the capture clock forward (packet time in
 * replay, wall time while a live interface is quiet) so workers expire
 * idle flows even when their shard receives nothing; and one end record
 * with the final clock, after which workers flush every flow.
 *
 * The capture thread never waits on anything downstream but the rings;
 * during offline replay a full ring makes it wait (the file can wait);
 * during live capture a full ring drops the packet and counts it.
 */
#ifndef LOOPHOLE_CAPTURE_H
#define LOOPHOLE_CAPTURE_H

#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "packet.h"
#include "base/ring.h"
#include "source.h"

/* Records on a worker ring. */
enum capture_rec_kind { CAPTURE_REC_PACKET = 1, CAPTURE_REC_TICK, CAPTURE_REC_END };

/* One record: a tick, the end, or a packet. A packet travels as the
 * decoder's fields without what the bytes after them already hold: the
 * addresses are read again from the inner IP header the bytes start with,
 * and the data pointer is the bytes. The fields from sport to frag_id are
 * one block of the packet (capture/packet.h puts the addresses after
 * them), copied as it lies. That makes the record 96 bytes ahead of the
 * packet's own instead of 152: on a capture of headers (a mirror port cut
 * at 96 bytes) the record was two thirds of what the capture thread wrote
 * into the ring. Use capture_rec_packet() to read a packet record. */
typedef struct capture_rec {
    uint64_t now_us; /* capture clock (every kind) */
    uint32_t kind;   /* enum capture_rec_kind; the rest is for packets */
    uint32_t caplen; /* bytes that follow */
    uint64_t ts_us;
    uint32_t wirelen;
    uint8_t fields[offsetof(packet, src) - offsetof(packet, sport)];
    uint8_t bytes[];
} capture_rec;

/* Fills a packet record from decoded packet p: its first n bytes from the
 * inner IP header on (n <= p->caplen - p->l3_off; rec has room for them),
 * with offsets made relative to that header. The one way packets enter a
 * worker, used by the capture thread and the flow fuzz harness. */
void capture_rec_fill(capture_rec *rec, const packet *p, size_t n, uint64_t now_us);

/* The packet of a record filled by capture_rec_fill(): every field as the
 * decoder left it, offsets relative to the inner IP header (l3_off 0),
 * data pointing at the record's bytes, valid while the record is. */
void capture_rec_packet(const capture_rec *rec, packet *p);

/* Counters. Written only by the capture thread; read by anyone with
 * relaxed loads (see base/stats.h). */
typedef struct capture_stats {
    _Atomic uint64_t packets;                  /* frames read */
    _Atomic uint64_t bytes;                    /* their wire length */
    _Atomic uint64_t decoded;                  /* frames handed to a worker */
    _Atomic uint64_t results[DECODE_NRESULTS]; /* frames by decode result */
    _Atomic uint64_t queue_drops;              /* live: the worker's ring was full */
    _Atomic uint64_t oversize;                 /* frames larger than a ring record */
    _Atomic uint64_t len_clipped;              /* IP length past the frame, clipped */
    _Atomic uint64_t kernel_recv, kernel_drops, kernel_ifdrops;
    _Atomic uint64_t files_done;
    _Atomic uint64_t file_offset;   /* bytes read of the file being read */
    _Atomic uint64_t source_errors; /* damaged or unreadable sources */
    _Atomic uint64_t clock_us;      /* latest packet time */
} capture_stats;

/* Describes the counters into o (base/counters.h): clock, packets, bytes,
 * decoded, ignored_non_ip, drops with drop_reasons, truncated_copies,
 * ip_length_clipped. */
void capture_stats_describe(const capture_stats *cs, json_t *o);

/* The packets dropped, by reason (malformed decode results, a full queue,
 * the kernel, the interface), as members of reasons; returns the total. */
uint64_t capture_drop_reasons(const capture_stats *cs, json_t *reasons);

typedef struct capture_config {
    const char **files; /* -r, in order; NULL when live */
    int nfiles;
    const char *interface; /* -i */
    const char *filter;
    int wait_interface; /* live: wait for a failed interface to return */
    source_live_opts live;
    decode_config decode;
} capture_config;

typedef struct capture capture;

/* Prepares the capture thread. For live capture the interface is opened
 * and activated here, and the first CAPTURE_PREOPEN files are opened here
 * too, so that the caller can drop privileges afterwards (files beyond
 * those are opened at their turn, as whatever user the process is then).
 * A file that cannot be opened is still reported at its turn, as it would
 * be without the early open. Returns NULL with a message in err. The rings
 * are borrowed.
 *
 * A live interface that fails (taken down, deleted) ends the capture with
 * status 1, or with wait_interface, is reported, closed, and reopened
 * every second until it returns or capture_stop() is called; ticks go on
 * meanwhile, so idle flows still end. */
#define CAPTURE_PREOPEN 64
capture *capture_new(const capture_config *cfg, ring **rings, unsigned nrings, char *err,
                     size_t errlen);

/* Runs the capture loop until every file is read, the live source fails or
 * capture_stop() is called; then sends the end record to every ring.
 * Errors (damaged files, a failed interface) are reported through `report`
 * as they happen, and the return value is 0 when there were none, 1 when
 * any source failed. */
typedef void (*capture_report_fn)(void *ctx, const char *msg);
int capture_run(capture *c, capture_report_fn report, void *ctx);

/* Asks the loop to finish. Async-signal-safe. */
void capture_stop(capture *c);

const capture_stats *capture_get_stats(const capture *c);

void capture_free(capture *c);

#endif
