/* fuzz_udpctl.c -- libFuzzer harness for the WireGuard, OpenVPN and QUIC
 * message types of UDP channels (analyze/udpctl.c).
 *
 * Input: datagram payload. Each datagram is read from a heap copy of
 * exactly its bytes, so AddressSanitizer sees any read past them.
 *  1. udpctl_parse() on the whole input, as each protocol (and as none)
 *     from each side: the message and protocol it answers are its own, a
 *     protocol asked for is the one answered, and a message always has a
 *     protocol.
 *  2. udpctl_packet() on two flows, as the worker calls it after
 *     session_packet() has counted the datagram: the whole input sent by
 *     the client, answered by the server and sent again (a handshake and
 *     data both ways from one datagram's bytes), then the input cut into
 *     datagrams, each after a 2-byte header (top bit: the side; the other
 *     15 bits: its length). The flow's state stays its own: a protocol of
 *     the enum that never changes once set, only the known flags, and no
 *     more data datagrams per side than that side sent.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/flow.h"
#include "analyze/udpctl.h"

static void fuzz_parse(const uint8_t *b, size_t size)
{
    for (int proto = UDPCTL_NONE; proto <= UDPCTL_QUIC; proto++)
        for (int dir = 0; dir < 2; dir++) {
            int got;
            int m = udpctl_parse(b, size, proto, dir, &got);
            if (m < UDPCTL_M_NONE || m > UDPCTL_M_DATA || got < UDPCTL_NONE || got > UDPCTL_QUIC ||
                (proto != UDPCTL_NONE && got != proto) ||
                (m != UDPCTL_M_NONE && got == UDPCTL_NONE))
                __builtin_trap();
        }
}

typedef struct fuzz_flow {
    flow f;
    flow_analysis an; /* the flow's analysis state, owned here */
    uint32_t sent[2]; /* datagrams each side sent */
} fuzz_flow;

/* One datagram of payload (data, n) from side dir of ff. */
static void fuzz_datagram(fuzz_flow *ff, const uint8_t *data, size_t n, int dir)
{
    uint8_t *b = malloc(n ? n : 1);
    packet p;
    uint8_t was = ff->an.uc_proto;

    if (b == NULL)
        return;
    memcpy(b, data, n);
    memset(&p, 0, sizeof(p));
    p.data = b;
    p.caplen = (uint32_t)n;
    p.payload_caplen = (uint32_t)n;
    p.payload_len = (uint32_t)n;
    p.proto = 17;
    if (n > 0) {
        ff->an.data_pkts[dir]++; /* session_packet() counts it first */
        ff->sent[dir]++;
    }
    udpctl_packet(&ff->f, &p, dir);
    free(b);
    if (ff->an.uc_proto > UDPCTL_QUIC || (was != UDPCTL_NONE && ff->an.uc_proto != was) ||
        (ff->an.uc_flags & ~(UDPCTL_F_HELLO | UDPCTL_F_REPLY)) != 0 ||
        ff->an.uc_data[0] > ff->sent[0] || ff->an.uc_data[1] > ff->sent[1] ||
        (ff->an.uc_proto == UDPCTL_NONE &&
         (ff->an.uc_flags || ff->an.uc_data[0] || ff->an.uc_data[1])))
        __builtin_trap();
}

static void fuzz_flow_init(fuzz_flow *ff)
{
    memset(ff, 0, sizeof(*ff));
    ff->f.key.proto = 17;
    ff->f.an = &ff->an;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fuzz_flow ff;
    uint8_t *b = malloc(size ? size : 1);

    if (b == NULL)
        return 0;
    memcpy(b, data, size);
    fuzz_parse(b, size);
    free(b);

    fuzz_flow_init(&ff);
    fuzz_datagram(&ff, data, size, 0);
    fuzz_datagram(&ff, data, size, 1);
    fuzz_datagram(&ff, data, size, 0);

    fuzz_flow_init(&ff);
    for (size_t at = 0; at + 2 <= size;) {
        int dir = data[at] >> 7;
        size_t n = (size_t)(data[at] & 0x7f) << 8 | data[at + 1];
        at += 2;
        if (n > size - at)
            n = size - at;
        fuzz_datagram(&ff, data + at, n, dir);
        at += n;
    }
    return 0;
}
