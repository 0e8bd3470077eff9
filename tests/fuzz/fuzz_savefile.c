/* fuzz_savefile.c -- libFuzzer harness for the pcap file reader, checked
 * against libpcap.
 *
 * Input: one byte choosing the reader's buffer size (small sizes make
 * records straddle refills and the buffer grow; 0 the default), then the
 * file. The file is put in a memory file (memfd) for savefile.c and
 * opened with libpcap from memory (fmemopen) at the same time. Whenever
 * savefile accepts a file, libpcap must accept it too with the same link
 * type and snap length, and the two must then agree on every record
 * (timestamp in microseconds as source.c computes it from libpcap's,
 * caplen, len, bytes) and on how the file ends (cleanly or with an error).
 * Any difference traps.
 *
 * Seeds (tests/fuzz/corpus/savefile): the first records of corpus
 * captures in every form of the format (both byte orders, microsecond and
 * nanosecond, a snap length below the records, other link types) and
 * damaged ones: cut inside a record header, inside a body, a caplen past
 * libpcap's limit, a zero-length record, a header alone.
 */
#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/savefile.h"

static int fuzz_memfd(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz_savefile", MFD_CLOEXEC);
    size_t done = 0;

    if (fd < 0)
        return -1;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[1024], perr[PCAP_ERRBUF_SIZE];
    savefile *sf = NULL;
    size_t bufsize;
    int fd, rc;

    if (size < 1)
        return 0;
    bufsize = data[0] == 0 ? 0 : 16u + (size_t)data[0] * 3u;
    data++;
    size--;
    if ((fd = fuzz_memfd(data, size)) < 0)
        return 0;
    rc = savefile_open_fd(fd, "fuzz", bufsize, &sf, err, sizeof(err));
    if (rc != 1)
        return 0; /* declined, or out of memory: libpcap's file then */

    FILE *fp = fmemopen((void *)data, size, "rb");
    if (fp == NULL)
        __builtin_trap();
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, perr);
    if (p == NULL)
        __builtin_trap(); /* savefile accepted a header libpcap refuses */
    const savefile_header *h = savefile_get_header(sf);
    if (pcap_datalink(p) != h->dlt || pcap_snapshot(p) != (int)h->snaplen)
        __builtin_trap();

    for (;;) {
        struct pcap_pkthdr *ph;
        const u_char *pd;
        savefile_rec r;
        int a = pcap_next_ex(p, &ph, &pd);
        int b = savefile_next(sf, &r);
        if (a == 1) {
            uint64_t ts = (uint64_t)ph->ts.tv_sec * 1000000u + (uint64_t)ph->ts.tv_usec;
            if (b != SAVEFILE_PACKET || r.caplen != ph->caplen || r.len != ph->len ||
                r.ts_us != ts || memcmp(r.data, pd, r.caplen) != 0)
                __builtin_trap();
            continue;
        }
        if ((a == PCAP_ERROR_BREAK && b != SAVEFILE_END) ||
            (a == PCAP_ERROR && b != SAVEFILE_ERROR))
            __builtin_trap();
        if (b == SAVEFILE_ERROR && strncmp(savefile_error(sf), "fuzz: ", 6) != 0)
            __builtin_trap(); /* every message names the file */
        break;
    }
    pcap_close(p);
    savefile_close(sf);
    return 0;
}
