/* source.c -- capture files and interfaces as packet sources (see source.h).
 *
 * Classic pcap files (regular files, the link types the decoder supports)
 * are read by savefile.c, in a sixth of the instructions libpcap's reader
 * takes (docs/performance.md, "Third round"); everything else goes through
 * libpcap. A capture filter applies to both: libpcap's own for its handles,
 * and for savefile's a program compiled on a dead handle of the file's
 * link type and snap length, run with pcap_offline_filter() as libpcap runs
 * it on the files it reads.
 *
 * Every failure message starts with the file or interface name, because the
 * caller prints it as it is and the user has to know which of several -r
 * files or which interface was at fault.
 */
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>

#include "savefile.h"

/* Read buffer of a capture file. libpcap reads a file through stdio one
 * record header and one packet at a time; with stdio's default buffer (the
 * file system's block, 4 KiB) that is a read() for every few packets, and
 * on a virtual machine the system calls cost more than the packets
 * (measured: a fifth of the capture thread on a 96-byte snap length
 * capture). With 256 KiB they are rare (one per 64 of the default), and
 * the buffers of the files capture_new() opens ahead (up to 64, each
 * filled by libpcap's read of the file header) stay within 16 MiB. */
#define SOURCE_FILE_BUFFER (256u << 10)

struct source {
    pcap_t *pcap;            /* NULL for a file savefile reads */
    savefile *sf;            /* or NULL */
    struct bpf_program prog; /* savefile: the capture filter, if any */
    int has_prog;
    volatile sig_atomic_t brk; /* savefile: source_break() was called */
    char *buf;                 /* files: stdio buffer of the FILE libpcap reads; owned */
    char *name;
    int live;
    int linktype;
    int fd;         /* live: selectable descriptor for poll() */
    int timeout_ms; /* live: longest wait in source_next() */
    char err[PCAP_ERRBUF_SIZE + 512];
};

static source *source_alloc(const char *name, int live)
{
    source *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->name = strdup(name);
    if (s->name == NULL) {
        free(s);
        return NULL;
    }
    s->live = live;
    return s;
}

static int source_set_filter(source *s, const char *filter, char *err, size_t errlen)
{
    struct bpf_program prog;

    if (filter == NULL || filter[0] == '\0')
        return 0;
    if (pcap_compile(s->pcap, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(err, errlen, "%s: bad capture filter '%s': %s", s->name, filter,
                 pcap_geterr(s->pcap));
        return -1;
    }
    int rc = pcap_setfilter(s->pcap, &prog);
    pcap_freecode(&prog);
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot set capture filter: %s", s->name, pcap_geterr(s->pcap));
        return -1;
    }
    return 0;
}

/* The capture filter of a file savefile reads, compiled as libpcap would
 * compile it for that file. */
static int source_savefile_filter(source *s, const char *filter, char *err, size_t errlen)
{
    const savefile_header *h = savefile_get_header(s->sf);
    pcap_t *dead;

    if (filter == NULL || filter[0] == '\0')
        return 0;
    dead =
        pcap_open_dead_with_tstamp_precision(h->dlt, (int)h->snaplen, PCAP_TSTAMP_PRECISION_MICRO);
    if (dead == NULL) {
        snprintf(err, errlen, "%s: cannot set capture filter: out of memory", s->name);
        return -1;
    }
    if (pcap_compile(dead, &s->prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(err, errlen, "%s: bad capture filter '%s': %s", s->name, filter,
                 pcap_geterr(dead));
        pcap_close(dead);
        return -1;
    }
    s->has_prog = 1;
    pcap_close(dead);
    return 0;
}

int source_check_filter(const char *filter, char *err, size_t errlen)
{
    struct bpf_program prog;
    pcap_t *dead;
    int rc = 0;

    if (filter == NULL || filter[0] == '\0')
        return 0;
    dead = pcap_open_dead(DLT_EN10MB, 65535);
    if (dead == NULL) {
        snprintf(err, errlen, "cannot check the capture filter: out of memory");
        return -1;
    }
    if (pcap_compile(dead, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(err, errlen, "-f: bad capture filter '%s': %s", filter, pcap_geterr(dead));
        rc = -1;
    } else {
        pcap_freecode(&prog);
    }
    pcap_close(dead);
    return rc;
}

source *source_open_file(const char *path, const char *filter, char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    source *s = source_alloc(strcmp(path, "-") == 0 ? "(standard input)" : path, 0);

    if (s == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    if (strcmp(path, "-") != 0) {
        int rc = savefile_open(path, &s->sf, err, errlen);
        if (rc < 0 || (rc == 1 && source_savefile_filter(s, filter, err, errlen) != 0)) {
            source_close(s);
            return NULL;
        }
        if (rc == 1) {
            s->linktype = savefile_get_header(s->sf)->dlt;
            return s;
        }
    }
    if (strcmp(path, "-") == 0) {
        s->pcap =
            pcap_fopen_offline_with_tstamp_precision(stdin, PCAP_TSTAMP_PRECISION_MICRO, perr);
    } else {
        /* Opened here rather than by pcap_open_offline() so that the FILE
         * gets a large buffer before its first read; pcap_close() closes
         * it. */
        FILE *fp = fopen(path, "rb");
        if (fp == NULL) {
            snprintf(perr, sizeof(perr), "%s", strerror(errno));
        } else {
            if ((s->buf = malloc(SOURCE_FILE_BUFFER)) != NULL)
                setvbuf(fp, s->buf, _IOFBF, SOURCE_FILE_BUFFER);
            /* Only the capture thread reads it: stdio's lock around every
             * fread() is pure cost. */
            __fsetlocking(fp, FSETLOCKING_BYCALLER);
            posix_fadvise(fileno(fp), 0, 0, POSIX_FADV_SEQUENTIAL);
            s->pcap =
                pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, perr);
            if (s->pcap == NULL)
                fclose(fp);
        }
    }
    if (s->pcap == NULL) {
        /* libpcap often starts its message with the path already. */
        size_t n = strlen(path);
        const char *why = strncmp(perr, path, n) == 0 && perr[n] == ':' ? perr + n + 2 : perr;
        snprintf(err, errlen, "%s: cannot read capture: %s", s->name, why);
        source_close(s);
        return NULL;
    }
    s->linktype = pcap_datalink(s->pcap);
    if (source_set_filter(s, filter, err, errlen) != 0) {
        source_close(s);
        return NULL;
    }
    return s;
}

static void source_live_error(source *s, int rc, char *err, size_t errlen)
{
    const char *why = pcap_geterr(s->pcap);

    if (rc == PCAP_ERROR_PERM_DENIED)
        snprintf(err, errlen, "%s: no permission to capture (run as root or grant CAP_NET_RAW): %s",
                 s->name, why);
    else if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
        snprintf(err, errlen, "%s: no such interface: %s", s->name, why);
    else if (rc == PCAP_ERROR_IFACE_NOT_UP)
        snprintf(err, errlen, "%s: interface is down", s->name);
    else
        snprintf(err, errlen, "%s: cannot start capture: %s (%s)", s->name, pcap_statustostr(rc),
                 why);
}

/* Live reads poll the descriptor themselves: with TPACKET_V3, libpcap's
 * blocking read can wait forever on a quiet interface (the kernel retires
 * only blocks that hold packets), and the capture loop must tick and see
 * a stop request even when nothing arrives. */
static int source_set_nonblock(source *s, char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE];

    s->fd = pcap_get_selectable_fd(s->pcap);
    if (s->fd < 0 || pcap_setnonblock(s->pcap, 1, perr) != 0) {
        snprintf(err, errlen, "%s: cannot poll the capture: %s", s->name,
                 s->fd < 0 ? "no selectable descriptor" : perr);
        return -1;
    }
    return 0;
}

source *source_open_live(const char *iface, const char *filter, const source_live_opts *o,
                         char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    source *s = source_alloc(iface, 1);

    if (s == NULL) {
        snprintf(err, errlen, "%s: out of memory", iface);
        return NULL;
    }
    s->pcap = pcap_create(iface, perr);
    if (s->pcap == NULL) {
        snprintf(err, errlen, "%s: cannot open interface: %s", iface, perr);
        source_close(s);
        return NULL;
    }
    pcap_set_snaplen(s->pcap, o->snaplen);
    pcap_set_promisc(s->pcap, o->promiscuous);
    pcap_set_timeout(s->pcap, o->timeout_ms);
    pcap_set_tstamp_precision(s->pcap, PCAP_TSTAMP_PRECISION_MICRO);
    if (o->buffer_bytes > 0)
        pcap_set_buffer_size(s->pcap,
                             o->buffer_bytes > INT32_MAX ? INT32_MAX : (int)o->buffer_bytes);
    int rc = pcap_activate(s->pcap);
    if (rc < 0) {
        source_live_error(s, rc, err, errlen);
        source_close(s);
        return NULL;
    }
    s->linktype = pcap_datalink(s->pcap);
    if (source_set_filter(s, filter, err, errlen) != 0 || source_set_nonblock(s, err, errlen)) {
        source_close(s);
        return NULL;
    }
    s->timeout_ms = o->timeout_ms;
    return s;
}

static int source_next_savefile(source *s, packet *p)
{
    savefile_rec r;
    int rc;

    for (;;) {
        if (s->brk) {
            s->brk = 0; /* as libpcap: the next call reads on */
            return SOURCE_END;
        }
        rc = savefile_next(s->sf, &r);
        if (rc != SAVEFILE_PACKET)
            break;
        if (s->has_prog) {
            struct pcap_pkthdr h = {.caplen = r.caplen, .len = r.len};
            if (!pcap_offline_filter(&s->prog, &h, r.data))
                continue;
        }
        p->ts_us = r.ts_us;
        p->caplen = r.caplen;
        p->wirelen = r.len < r.caplen ? r.caplen : r.len;
        p->data = r.data;
        return SOURCE_PACKET;
    }
    if (rc == SAVEFILE_END)
        return SOURCE_END;
    snprintf(s->err, sizeof(s->err), "%s", savefile_error(s->sf));
    return SOURCE_ERROR;
}

int source_next(source *s, packet *p)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;

    if (s->sf)
        return source_next_savefile(s, p);
    rc = pcap_next_ex(s->pcap, &h, &data);

    if (rc == 0 && s->live) {
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        if (poll(&pfd, 1, s->timeout_ms) > 0)
            rc = pcap_next_ex(s->pcap, &h, &data);
    }
    if (rc == 1) {
        p->ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        p->caplen = h->caplen;
        p->wirelen = h->len < h->caplen ? h->caplen : h->len;
        p->data = data;
        return SOURCE_PACKET;
    }
    if (rc == 0)
        return SOURCE_TIMEOUT;
    if (rc == PCAP_ERROR_BREAK)
        return SOURCE_END;
    snprintf(s->err, sizeof(s->err), "%s: %s", s->name, pcap_geterr(s->pcap));
    return SOURCE_ERROR;
}

int64_t source_offset(const source *s)
{
    if (s->sf)
        return savefile_offset(s->sf);
    FILE *f = s->live ? NULL : pcap_file(s->pcap);
    return f ? (int64_t)ftello(f) : -1;
}

const char *source_error(const source *s)
{
    return s->err;
}

const char *source_name(const source *s)
{
    return s->name;
}

int source_linktype(const source *s)
{
    return s->linktype;
}

int source_is_live(const source *s)
{
    return s->live;
}

int source_kernel_stats(source *s, uint64_t *recv, uint64_t *drop, uint64_t *ifdrop)
{
    struct pcap_stat st;

    if (!s->live || pcap_stats(s->pcap, &st) != 0)
        return -1;
    *recv = st.ps_recv;
    *drop = st.ps_drop;
    *ifdrop = st.ps_ifdrop;
    return 0;
}

void source_break(source *s)
{
    if (s->sf)
        s->brk = 1;
    else
        pcap_breakloop(s->pcap);
}

void source_close(source *s)
{
    if (s == NULL)
        return;
    if (s->pcap)
        pcap_close(s->pcap); /* closes the FILE before its buffer goes */
    savefile_close(s->sf);
    if (s->has_prog)
        pcap_freecode(&s->prog);
    free(s->buf);
    free(s->name);
    free(s);
}
