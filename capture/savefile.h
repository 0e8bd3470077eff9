/* savefile.h -- classic pcap capture files read without libpcap.
 *
 * Owns the reading of a regular file in the classic pcap format (both byte
 * orders, microsecond and nanosecond timestamps, the link types the decoder
 * supports): the file is read with pread() in large blocks into a buffer
 * this module owns, and each record is handed out as a pointer into that
 * buffer, valid until the next call. Everything else (pcapng, standard
 * input, pipes, old format versions, other link types) is declined and
 * stays with libpcap (source.c), so behaviour there is libpcap's own.
 *
 * Records come out exactly as libpcap's pcap_next_ex() gives them with
 * microsecond precision (same caplen clipping to the snap length, same
 * timestamp arithmetic, same refusal of absurd lengths); the damage
 * messages name the file, the record number and its byte offset.
 */
#ifndef LOOPHOLE_SAVEFILE_H
#define LOOPHOLE_SAVEFILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct savefile savefile;

/* What the 24-byte file header says, in libpcap's terms. */
typedef struct savefile_header {
    int dlt;          /* libpcap's DLT_ value (pcap_datalink()) */
    uint32_t snaplen; /* as libpcap adjusts it (pcap_snapshot()): 1..2^31-1 */
    int swapped;      /* written in the other byte order */
    int nsec;         /* nanosecond timestamps */
} savefile_header;

/* One record: data points into the reader's buffer. */
typedef struct savefile_rec {
    uint64_t ts_us;
    uint32_t caplen;
    uint32_t len;
    const uint8_t *data;
} savefile_rec;

/* Default size of the read buffer (savefile_open_fd's bufsize 0). */
#define SAVEFILE_BUFSIZE (1u << 20)

/* Parses a file header. Returns 1 when this module reads such a file, 0
 * when it is not a classic pcap header this module handles (libpcap then
 * reads the file, and reports what is wrong with it if anything is). */
int savefile_parse_header(const uint8_t *p, size_t n, savefile_header *h);

/* Opens a capture file by path. Returns 1 with *out set, 0 when the file is
 * not one this module reads (not a regular file, not classic pcap, or too
 * short to tell: the caller opens it with libpcap), or -1 with a message
 * naming the file in err. */
int savefile_open(const char *path, savefile **out, char *err, size_t errlen);

/* The same on an open descriptor, which the reader then owns (closed by
 * savefile_close(), or here on any return but 1). name is what messages
 * call the file. bufsize 0 means SAVEFILE_BUFSIZE; smaller values exist
 * for the tests, which need records across buffer boundaries. */
int savefile_open_fd(int fd, const char *name, size_t bufsize, savefile **out, char *err,
                     size_t errlen);

enum savefile_status {
    SAVEFILE_PACKET = 1,
    SAVEFILE_END = 0,
    SAVEFILE_ERROR = -1 /* damaged or unreadable: savefile_error() */
};

/* Reads the next record. After SAVEFILE_ERROR every later call returns it
 * again; every record before the damage has been returned. */
int savefile_next(savefile *f, savefile_rec *rec);

const savefile_header *savefile_get_header(const savefile *f);
const char *savefile_error(const savefile *f);
/* Bytes of the file consumed so far (the header and whole records). */
int64_t savefile_offset(const savefile *f);
void savefile_close(savefile *f);

#endif
