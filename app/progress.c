/* progress.c -- the one-line progress indicator of a replay (see progress.h).
 *
 * The position in the file being read comes from the capture thread's
 * counters (capture_stats.file_offset, refreshed every few thousand
 * packets), so drawing costs nothing on the packet path and needs no
 * access to the capture's handle, nor to /proc (which a sensor that has
 * dropped its privileges can no longer read).
 */
#include "progress.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROGRESS_PERIOD_US 250000u

typedef struct progress_file {
    dev_t dev;
    ino_t ino;
    uint64_t size; /* 0 with known = 0: standard input or a pipe */
    int known;
} progress_file;

struct progress {
    FILE *out;
    progress_file *files;
    int nfiles;
    uint64_t total; /* bytes of all files, when every size is known */
    int sized;      /* every file has a size */
    uint64_t last_us, last_packets;
    double rate;
    _Atomic int shown; /* a line is on the terminal now */
};

int progress_wanted(int setting, int nfiles, int fd)
{
    return setting && nfiles > 0 && isatty(fd);
}

progress *progress_new(FILE *out, const char *const *files, int nfiles)
{
    progress *p = calloc(1, sizeof(*p));
    struct stat st;

    if (p == NULL || (p->files = calloc((size_t)nfiles + 1, sizeof(*p->files))) == NULL) {
        free(p);
        return NULL;
    }
    p->out = out;
    p->nfiles = nfiles;
    p->rate = -1; /* unknown until two drawings measured it */
    p->sized = 1;
    for (int i = 0; i < nfiles; i++) {
        progress_file *f = &p->files[i];
        if (strcmp(files[i], "-") != 0 && stat(files[i], &st) == 0 && S_ISREG(st.st_mode)) {
            f->dev = st.st_dev;
            f->ino = st.st_ino;
            f->size = (uint64_t)st.st_size;
            f->known = 1;
            p->total += f->size;
        } else {
            p->sized = 0;
        }
    }
    return p;
}

double progress_fraction(progress *p, uint64_t files_done, uint64_t file_offset)
{
    uint64_t done = 0;

    if (!p->sized || p->total == 0)
        return -1;
    for (uint64_t i = 0; i < files_done && i < (uint64_t)p->nfiles; i++)
        done += p->files[i].size;
    if (files_done < (uint64_t)p->nfiles) {
        const progress_file *f = &p->files[files_done];
        done += file_offset < f->size ? file_offset : f->size;
    }
    return (double)done / (double)p->total;
}

/* 1234 -> "1234", 12345678 -> "12.35M": counters stay short on the line. */
static void progress_human(uint64_t v, char *buf, size_t len)
{
    if (v < 100000)
        snprintf(buf, len, "%" PRIu64, v);
    else if (v < 1000000)
        snprintf(buf, len, "%.1fk", (double)v / 1e3);
    else
        snprintf(buf, len, "%.2fM", (double)v / 1e6);
}

void progress_format(progress *p, const progress_sample *s, double rate, char *buf, size_t len)
{
    char pk[32], fl[32], al[32], rt[32], share[32] = "";
    double frac = progress_fraction(p, s->files_done, s->file_offset);

    progress_human(s->packets, pk, sizeof(pk));
    progress_human(s->flows, fl, sizeof(fl));
    progress_human(s->alerts, al, sizeof(al));
    /* no rate before two drawings: a replay shorter than one period
     * would otherwise show "0 pkt/s" */
    rt[0] = '\0';
    if (rate >= 0) {
        progress_human((uint64_t)rate, rt, sizeof(rt) - 8);
        strcat(rt, " pkt/s  ");
    }
    if (frac >= 0)
        snprintf(share, sizeof(share), "%5.1f%%  ", frac * 100);
    snprintf(buf, len, "loophole: %s%s packets  %s%s flows  %s alerts", share, pk, rt, fl, al);
}

void progress_update(progress *p, const progress_sample *s, uint64_t now_us)
{
    char line[256];

    if (p->last_us != 0 && now_us - p->last_us < PROGRESS_PERIOD_US)
        return;
    if (p->last_us != 0) {
        double inst = (double)(s->packets - p->last_packets) * 1e6 / (double)(now_us - p->last_us);
        /* smoothed, so the figure can be read while it changes */
        p->rate = p->rate < 0 ? inst : 0.7 * p->rate + 0.3 * inst;
    }
    p->last_us = now_us;
    p->last_packets = s->packets;
    progress_format(p, s, p->rate, line, sizeof(line));
    /* \033[K clears what a longer earlier line left on the right */
    fprintf(p->out, "\r%s\033[K", line);
    fflush(p->out);
    atomic_store(&p->shown, 1);
}

void progress_interrupt(progress *p)
{
    if (p && atomic_exchange(&p->shown, 0)) {
        fputs("\r\033[K", p->out);
        fflush(p->out);
    }
}

void progress_free(progress *p)
{
    if (p == NULL)
        return;
    progress_interrupt(p);
    free(p->files);
    free(p);
}
