/* fuzz_decode.c -- libFuzzer harness for the packet decoder.
 *
 * Input: one byte choosing the link type (modulo the supported ones), then
 * the frame. The frame is decoded twice, once whole (caplen == wirelen)
 * and once as if the snap length had cut it (wirelen larger than caplen),
 * each from a heap copy of exactly the frame's bytes so AddressSanitizer
 * sees any read past them. The decoder is created once; its fragment
 * tracker carries over between inputs as it would between packets.
 * Invariants of a successful decode trap when broken.
 */
#include <pcap/dlt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/decode.h"

/* New link types go at the end: a seed's first byte indexes this list. */
static const int fuzz_dlts[] = {DLT_EN10MB,       DLT_LINUX_SLL,      DLT_LINUX_SLL2, DLT_RAW,
                                DLT_IPV4,         DLT_IPV6,           DLT_NULL,       DLT_LOOP,
                                DLT_PPP,          DLT_PPP_SERIAL,     DLT_C_HDLC,     DLT_PPP_ETHER,
                                DLT_PPP_WITH_DIR, DLT_C_HDLC_WITH_DIR};

static void fuzz_check(const packet *p, int r)
{
    if (r < 0 || r >= DECODE_NRESULTS)
        __builtin_trap();
    if (r != DECODE_OK)
        return;
    if (p->l3_off >= p->caplen)
        __builtin_trap();
    if ((uint64_t)p->payload_off + p->payload_caplen > p->caplen)
        __builtin_trap();
    if (p->ip_version != 4 && p->ip_version != 6)
        __builtin_trap();
    if (p->wire_bytes > p->wirelen)
        __builtin_trap();
    if (p->l4_off > p->caplen || p->payload_caplen > p->payload_len)
        __builtin_trap();
    if (p->tunnel_depth > 4 || (p->tunnel_depth == 0) != (p->tunnel_type == PKT_TUNNEL_NONE))
        __builtin_trap();
}

static void fuzz_one(decoder *d, const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
                     uint64_t ts)
{
    packet p;

    memset(&p, 0, sizeof(p));
    p.ts_us = ts;
    p.caplen = caplen;
    p.wirelen = wirelen;
    p.data = frame;
    fuzz_check(&p, decode_packet(d, &p));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static decoder *d;
    static uint64_t ts;
    uint8_t *frame;
    uint32_t len;

    if (!d) {
        decode_config cfg;
        decode_config_defaults(&cfg);
        cfg.frag_slots = 64; /* small, so collisions and replacement happen */
        d = decode_new(&cfg);
        if (!d)
            return 0;
    }
    if (size < 1 || size > 65536 + 1)
        return 0;
    decode_set_linktype(d, fuzz_dlts[data[0] % (sizeof(fuzz_dlts) / sizeof(fuzz_dlts[0]))]);
    len = (uint32_t)(size - 1);
    frame = malloc(len); /* malloc(0) too: ASan flags any read of it */
    if (!frame && len)
        return 0;
    memcpy(frame, data + 1, len);
    ts += 1000000; /* a second per input: entries live for 30 inputs */
    fuzz_one(d, frame, len, len, ts);
    fuzz_one(d, frame, len, len + 1 + data[0] * 37u, ts);
    free(frame);
    return 0;
}
