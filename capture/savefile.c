/* savefile.c -- classic pcap files read in large blocks (see savefile.h).
 *
 * Why not libpcap: on gpu-fleet (5 M packets at a 96-byte snap length,
 * one worker) the capture thread was the bottleneck while the capture
 * ran, at 851 instructions a packet (callgrind, 500 000 packets of
 * `lhgen fleet`) against the floor's 476, and libpcap's file reader is
 * 408 of them: pcap_next_ex() makes two fread() calls a record, one for
 * the 16-byte record header and one for the packet, each through stdio's
 * general _IO_sgetn, and copies every packet out of stdio's buffer into
 * its own. No Debian library reads pcap files otherwise, so the classic
 * format (a 24-byte header and 16-byte record headers, the simpler of the
 * two) is read here: one pread() a megabyte and the records handed out
 * where they lie: 67 instructions a packet, the capture thread 512.
 * docs/performance.md ("Third round") has the figures and commands.
 *
 * pread() and not mmap(), for safety and, as measured, for speed. A
 * mapped file that shrinks under the reader (another program truncating or
 * rewriting it) raises SIGBUS on the next access past the new end, and
 * the only defence is a process-wide signal handler; a read just returns
 * fewer bytes, which is the truncated-file error below. And walking the
 * records of gpu-fleet (5 M, 562 MB, in the page cache) and touching three
 * bytes of each took 0.11 s of CPU with this reader, 0.53 s through a
 * mapping (MADV_SEQUENTIAL and MADV_WILLNEED) and 0.57 s with libpcap
 * (medians of 5 alternating runs): in a mapping each record header is a
 * load from memory no cache has seen, and the next one's address depends
 * on it, while the kernel's copy into a 1 MiB buffer streams.
 *
 * The rules are libpcap 1.10's (sf-pcap.c), so the two paths give the same
 * records: versions other than 2.4, link types outside the decoder's,
 * link-type extension bits, and byte-swapped Linux cooked captures (whose
 * pseudo-headers libpcap rewrites) are declined and left to libpcap; a
 * record is refused when it claims more than 262144 captured bytes
 * (libpcap's MAXIMUM_SNAPLEN for these link types); a record longer than
 * the file's snap length but within that limit is clipped to the snap
 * length (a snap length of 0 or above 2^31 counts as 262144); timestamps
 * wrap as libpcap's do (savefile_next()).
 */
#include "savefile.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SAVEFILE_FILE_HDR 24
#define SAVEFILE_REC_HDR  16
/* libpcap's MAXIMUM_SNAPLEN: the largest record of these link types. */
#define SAVEFILE_MAX_CAPLEN 262144u

#define SAVEFILE_MAGIC_US 0xa1b2c3d4u
#define SAVEFILE_MAGIC_NS 0xa1b23c4du

struct savefile {
    int fd;
    char *name;
    savefile_header h;
    uint8_t *buf;      /* allocated at the first read: files opened ahead cost nothing */
    size_t cap;        /* size of buf */
    size_t pos;        /* next record in buf */
    size_t end;        /* bytes of buf holding file data */
    int64_t next_read; /* file offset of buf[end] */
    uint64_t records;  /* records returned */
    int eof;
    int failed;
    char err[1024];
};

static uint32_t savefile_u32(const uint8_t *p, int swapped)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return swapped ? __builtin_bswap32(v) : v;
}

static uint16_t savefile_u16(const uint8_t *p, int swapped)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return swapped ? __builtin_bswap16(v) : v;
}

/* libpcap's linktype_to_dlt() for the link types decode.c supports; -1 for
 * the rest, which libpcap then reads. */
static int savefile_dlt(uint32_t linktype)
{
    switch (linktype) {
    case 101: /* LINKTYPE_RAW */
        return DLT_RAW;
    case DLT_NULL:
    case DLT_EN10MB:
    case DLT_PPP:
    case DLT_PPP_SERIAL:
    case DLT_PPP_ETHER:
    case DLT_C_HDLC:
    case DLT_LOOP:
    case DLT_LINUX_SLL:
    case DLT_PPP_WITH_DIR:
    case DLT_C_HDLC_WITH_DIR:
    case DLT_IPV4:
    case DLT_IPV6:
    case DLT_LINUX_SLL2:
        return (int)linktype; /* the same number in files and in libpcap */
    default:
        return -1;
    }
}

int savefile_parse_header(const uint8_t *p, size_t n, savefile_header *h)
{
    uint32_t magic;

    if (n < SAVEFILE_FILE_HDR)
        return 0;
    memcpy(&magic, p, sizeof(magic));
    h->swapped = magic != SAVEFILE_MAGIC_US && magic != SAVEFILE_MAGIC_NS;
    if (h->swapped)
        magic = __builtin_bswap32(magic);
    if (magic != SAVEFILE_MAGIC_US && magic != SAVEFILE_MAGIC_NS)
        return 0;
    h->nsec = magic == SAVEFILE_MAGIC_NS;
    if (savefile_u16(p + 4, h->swapped) != 2 || savefile_u16(p + 6, h->swapped) != 4)
        return 0;
    h->dlt = savefile_dlt(savefile_u32(p + 20, h->swapped));
    if (h->dlt < 0 || (h->swapped && (h->dlt == DLT_LINUX_SLL || h->dlt == DLT_LINUX_SLL2)))
        return 0;
    /* libpcap keeps any positive snap length, however large; records are
     * limited by SAVEFILE_MAX_CAPLEN anyway */
    h->snaplen = savefile_u32(p + 16, h->swapped);
    if ((int32_t)h->snaplen <= 0)
        h->snaplen = SAVEFILE_MAX_CAPLEN;
    return 1;
}

int savefile_open(const char *path, savefile **out, char *err, size_t errlen)
{
    struct stat st;
    int fd;

    /* Missing, unreadable, a pipe or a device: libpcap's to open and to
     * explain. A pipe is not even opened here: a reader that came and went
     * would leave its writer with a broken pipe. O_NONBLOCK in case the
     * path became one since. */
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
        return 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 0;
    }
    return savefile_open_fd(fd, path, 0, out, err, errlen);
}

int savefile_open_fd(int fd, const char *name, size_t bufsize, savefile **out, char *err,
                     size_t errlen)
{
    uint8_t hdr[SAVEFILE_FILE_HDR];
    savefile_header h;
    savefile *f;
    ssize_t n;

    do
        n = pread(fd, hdr, sizeof(hdr), 0);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(hdr) || !savefile_parse_header(hdr, sizeof(hdr), &h)) {
        close(fd);
        return 0;
    }
    if ((f = calloc(1, sizeof(*f))) == NULL || (f->name = strdup(name)) == NULL) {
        snprintf(err, errlen, "%s: out of memory", name);
        free(f);
        close(fd);
        return -1;
    }
    f->fd = fd;
    f->h = h;
    /* a record always fits: the buffer grows to the largest one */
    f->cap = bufsize ? bufsize : SAVEFILE_BUFSIZE;
    f->next_read = SAVEFILE_FILE_HDR;
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    *out = f;
    return 1;
}

static int savefile_fail(savefile *f)
{
    f->failed = 1;
    return SAVEFILE_ERROR;
}

/* Makes buf hold at least need bytes from pos on, unless the file ends
 * first (then eof is set). Returns 0, or -1 on a read error. */
static int savefile_fill(savefile *f, size_t need)
{
    size_t have = f->end - f->pos;

    if (f->buf == NULL || need > f->cap) {
        size_t cap = need > f->cap ? need : f->cap;
        uint8_t *b = malloc(cap);
        if (b == NULL) {
            snprintf(f->err, sizeof(f->err), "%s: out of memory for a record of %zu bytes", f->name,
                     need);
            return -1;
        }
        if (have)
            memcpy(b, f->buf + f->pos, have);
        free(f->buf);
        f->buf = b;
        f->cap = cap;
    } else if (f->pos > 0) {
        memmove(f->buf, f->buf + f->pos, have); /* the start of a record */
    }
    f->pos = 0;
    f->end = have;
    while (f->end < need && !f->eof) {
        ssize_t n = pread(f->fd, f->buf + f->end, f->cap - f->end, f->next_read);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(f->err, sizeof(f->err), "%s: cannot read capture at byte %lld: %s", f->name,
                     (long long)f->next_read, strerror(errno));
            return -1;
        }
        f->eof = n == 0; /* the end, or a file cut shorter while read */
        f->end += (size_t)n;
        f->next_read += n;
    }
    return 0;
}

int savefile_next(savefile *f, savefile_rec *rec)
{
    for (;;) {
        size_t have = f->end - f->pos;
        uint32_t caplen = 0;

        if (f->failed)
            return SAVEFILE_ERROR;
        if (have >= SAVEFILE_REC_HDR) {
            const uint8_t *p = f->buf + f->pos;
            caplen = savefile_u32(p + 8, f->h.swapped);
            if (caplen > SAVEFILE_MAX_CAPLEN) {
                snprintf(f->err, sizeof(f->err),
                         "%s: damaged capture: record %llu (byte %lld) claims %u captured bytes, "
                         "more than %s of %u",
                         f->name, (unsigned long long)f->records + 1, (long long)savefile_offset(f),
                         caplen,
                         caplen > f->h.snaplen ? "the file's snap length"
                                               : "the limit for a record",
                         caplen > f->h.snaplen ? f->h.snaplen : SAVEFILE_MAX_CAPLEN);
                return savefile_fail(f);
            }
            if (have >= SAVEFILE_REC_HDR + (size_t)caplen) {
                uint32_t sec = savefile_u32(p, f->h.swapped);
                uint32_t frac = savefile_u32(p + 4, f->h.swapped);
                /* libpcap's struct timeval: its 32-bit fields are read as
                 * signed from a file in this host's byte order and as
                 * unsigned from a swapped one, nanoseconds then divided
                 * down as they are */
                int64_t s64 = f->h.swapped ? (int64_t)sec : (int64_t)(int32_t)sec;
                int64_t us = f->h.swapped ? (int64_t)frac : (int64_t)(int32_t)frac;
                if (f->h.nsec)
                    us /= 1000;
                rec->ts_us = (uint64_t)s64 * 1000000u + (uint64_t)us;
                rec->caplen = caplen < f->h.snaplen ? caplen : f->h.snaplen;
                rec->len = savefile_u32(p + 12, f->h.swapped);
                rec->data = p + SAVEFILE_REC_HDR;
                f->pos += SAVEFILE_REC_HDR + (size_t)caplen;
                f->records++;
                return SAVEFILE_PACKET;
            }
        } else if (have == 0 && f->eof) {
            return SAVEFILE_END;
        }
        if (f->eof) {
            if (have < SAVEFILE_REC_HDR)
                snprintf(f->err, sizeof(f->err),
                         "%s: truncated capture: record %llu (byte %lld) has only %zu of its "
                         "16 header bytes",
                         f->name, (unsigned long long)f->records + 1, (long long)savefile_offset(f),
                         have);
            else
                snprintf(f->err, sizeof(f->err),
                         "%s: truncated capture: record %llu (byte %lld) claims %u captured "
                         "bytes, the file ends after %zu",
                         f->name, (unsigned long long)f->records + 1, (long long)savefile_offset(f),
                         caplen, have - SAVEFILE_REC_HDR);
            return savefile_fail(f);
        }
        if (savefile_fill(f, SAVEFILE_REC_HDR + (size_t)caplen) != 0)
            return savefile_fail(f);
    }
}

const savefile_header *savefile_get_header(const savefile *f)
{
    return &f->h;
}

const char *savefile_error(const savefile *f)
{
    return f->err;
}

int64_t savefile_offset(const savefile *f)
{
    return f->next_read - (int64_t)(f->end - f->pos);
}

void savefile_close(savefile *f)
{
    if (f == NULL)
        return;
    close(f->fd);
    free(f->buf);
    free(f->name);
    free(f);
}
