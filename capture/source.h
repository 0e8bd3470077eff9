/* source.h -- where packets come from: capture files or a live interface.
 *
 * A thin layer over libpcap and savefile.c (classic pcap files read
 * without libpcap, for speed) that turns their records into packets
 * (timestamp, captured and wire lengths, bytes) and their failures into
 * messages that name the file or interface. Files are pcap or pcapng, `-`
 * is standard input; timestamps are read in microseconds whatever the file
 * stores; the two readers give the same packets.
 * Live capture follows libpcap's configure-then-activate order: snap
 * length, promiscuous mode, kernel buffer and read timeout are set before
 * activation, the BPF filter after.
 *
 * A source is used by one thread (the capture thread); source_break() may
 * be called from a signal handler.
 */
#ifndef LOOPHOLE_SOURCE_H
#define LOOPHOLE_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "packet.h"

typedef struct source source;

typedef struct source_live_opts {
    int snaplen;
    int promiscuous;
    uint64_t buffer_bytes; /* kernel ring; 0 keeps libpcap's default */
    int timeout_ms;        /* read timeout, so the loop can tick while idle */
} source_live_opts;

/* Checks that a BPF filter compiles, before any source is opened, so that
 * a typo is a usage error and not a failure halfway through the files.
 * Returns 0, or -1 with a message in err. */
int source_check_filter(const char *filter, char *err, size_t errlen);

/* Opens a capture file ("-" for standard input). Returns NULL with a
 * message in err when the file is missing, unreadable or not a capture. */
source *source_open_file(const char *path, const char *filter, char *err, size_t errlen);

/* Opens and activates a live capture. Returns NULL with a message in err
 * (no such interface, no permission, bad filter...). */
source *source_open_live(const char *iface, const char *filter, const source_live_opts *o,
                         char *err, size_t errlen);

enum source_status {
    SOURCE_PACKET = 1,  /* p holds the next packet */
    SOURCE_TIMEOUT = 0, /* live: nothing arrived within the read timeout */
    SOURCE_END = -1,    /* end of file, or source_break() was called */
    SOURCE_ERROR = -2   /* read error or damaged file: see source_error() */
};

/* Reads the next packet into p (ts_us, caplen, wirelen, data). The data
 * stays valid until the next call. */
int source_next(source *s, packet *p);

/* Bytes read so far of a capture file (-1 for live capture and pipes). */
int64_t source_offset(const source *s);

const char *source_error(const source *s);
const char *source_name(const source *s);
int source_linktype(const source *s);
int source_is_live(const source *s);

/* Kernel counters of a live capture: received, dropped for lack of buffer
 * space, dropped by the interface. Returns -1 when not available. */
int source_kernel_stats(source *s, uint64_t *recv, uint64_t *drop, uint64_t *ifdrop);

/* Makes the next source_next() return SOURCE_END. Async-signal-safe. */
void source_break(source *s);
void source_close(source *s);

#endif
