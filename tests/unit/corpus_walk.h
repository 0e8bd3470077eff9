/* corpus_walk.h -- the third-party captures under $LOOPHOLE_CORPUS/ndpi for
 * unit tests: which they are, and every packet of one read with libpcap
 * and handed to a callback, ready for the decoder.
 *
 * A test of the corpus fails without it (the captures are what it is
 * about); it is never skipped. Include it after cmocka.h.
 */
#ifndef LOOPHOLE_CORPUS_WALK_H
#define LOOPHOLE_CORPUS_WALK_H

#include <glob.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>

#include "capture/decode.h"

/* One packet of a capture: its link type and libpcap's header and bytes
 * (valid until the callback returns). */
typedef void corpus_packet_fn(void *ctx, int dlt, const struct pcap_pkthdr *h, const u_char *bytes);

/* Fills g with every capture of the corpus (globfree() it). */
static inline void corpus_glob(glob_t *g)
{
    const char *dir = getenv("LOOPHOLE_CORPUS");
    char pattern[4096];

    if (!dir || !*dir)
        fail_msg("LOOPHOLE_CORPUS is not set: the third-party captures are needed");
    snprintf(pattern, sizeof(pattern), "%s/ndpi/*.pcap*", dir);
    if (glob(pattern, 0, NULL, g) != 0 || g->gl_pathc == 0)
        fail_msg("no captures under %s/ndpi", dir);
}

/* Sets d's link type to the capture's (when d is not NULL) and hands
 * every packet of path to fn; fails the test on a capture libpcap cannot
 * open or read to its end. */
static inline void corpus_read(const char *path, decoder *d, corpus_packet_fn *fn, void *ctx)
{
    char err[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *h;
    const u_char *bytes;
    pcap_t *pc = pcap_open_offline(path, err);
    int rc;

    if (!pc)
        fail_msg("%s: %s", path, err);
    if (d != NULL && decode_set_linktype(d, pcap_datalink(pc)) != 0)
        fail_msg("%s: link type %d not supported", path, pcap_datalink(pc));
    while ((rc = pcap_next_ex(pc, &h, &bytes)) == 1)
        fn(ctx, pcap_datalink(pc), h, bytes);
    if (rc != -2)
        fail_msg("%s: %s", path, pcap_geterr(pc));
    pcap_close(pc);
}

#endif
