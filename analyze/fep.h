/* fep.h -- does a TCP connection start with a fully encrypted payload?
 *
 * Fully encrypted protocols (Shadowsocks, VMess, obfs4 and the like) send
 * nothing but random-looking bytes from their first packet on, so nDPI
 * names none of them. Wu et al. ("How the Great Firewall of China Detects
 * and Blocks Fully Encrypted Traffic", USENIX Security 2023) found the
 * censor's test on the first client payload of a TCP connection, written
 * as exemptions: a payload is exempt -- it looks like something -- when
 * any of these holds (docs/detection-notes.md):
 *
 *   Ex1  the average of set bits per byte is <= 3.4 or >= 4.6
 *   Ex2  its first 6 bytes are printable ASCII (0x20-0x7e)
 *   Ex3  more than half of its bytes are printable
 *   Ex4  it holds more than 20 contiguous printable bytes
 *   Ex5  it starts like TLS (a handshake or application-data record of
 *        version 3.x) or like an HTTP request
 *
 * What is left is "fully encrypted". fep_check() applies them to one
 * payload; the worker calls fep_packet() on each flow's first client
 * payload and the record reports the result only for flows nDPI did not
 * name (fep_flow()), which exempts every protocol nDPI knows as well.
 *
 * Written here rather than taken from nDPI: its fully-encrypted heuristic
 * arrived in 4.8, and Debian 12 ships 4.2.
 *
 * Threads: no state; the flow field belongs to the flow's worker.
 */
#ifndef LOOPHOLE_FEP_H
#define LOOPHOLE_FEP_H

#include <stddef.h>
#include <stdint.h>

#include "capture/packet.h"
#include "flow.h"

/* The shortest first payload judged: Shadowsocks AEAD with the shortest
 * salt (16 bytes) sends salt + 2-byte length + 16-byte tag + at least 1
 * byte of payload + 16-byte tag = 51 bytes. Shorter payloads are mostly
 * protocol greetings and give too few bytes for a popcount average. */
#define FEP_MIN_LEN 51

/* The result of fep_check(): FEP_FULLY_ENCRYPTED, or the first exemption
 * that applies (FEP_SHORT when the payload is under FEP_MIN_LEN). */
enum fep_verdict {
    FEP_UNSEEN = 0, /* no client payload yet (flow field only) */
    FEP_FULLY_ENCRYPTED,
    FEP_SHORT,
    FEP_POPCOUNT,  /* Ex1 */
    FEP_PREFIX,    /* Ex2 */
    FEP_PRINTABLE, /* Ex3 */
    FEP_RUN,       /* Ex4 */
    FEP_PROTOCOL,  /* Ex5 */
};

int fep_check(const uint8_t *b, size_t len);

/* A short name of a verdict ("fully_encrypted", "popcount", ...). */
const char *fep_name(int verdict);

/* Per-packet hook: judges the first client payload of a TCP flow (the
 * bytes captured of it) into the flow's fep. `dir` is flow_dir(). */
void fep_packet(flow *f, const packet *p, int dir);

/* 1 when fep_packet() has something to judge in p: the flow's first
 * client payload. */
static inline int fep_wants(const flow *f, const packet *p, int dir)
{
    return flow_an(f)->fep == FEP_UNSEEN && dir == 0 && p->payload_len > 0;
}

/* 1 when the flow's first client payload was fully encrypted and no nDPI
 * dissector named the flow's protocol (a guess from the port does not
 * count). */
int fep_flow(const flow *f);

#endif
