/* test_fep.c -- the fully-encrypted first-payload test (analyze/fep.c).
 *
 * Known inputs for each exemption of Wu et al. 2023 and its boundary:
 * popcount averages of exactly 3.4 and 4.6 (exempt) and just inside them
 * (not), 6 printable first bytes against 5, half printable against more
 * than half, a printable run of 21 against 20, TLS and HTTP starts, the
 * minimum length; random bytes from a fixed generator; the first client
 * payload of real protocols (an SSH banner, a TLS ClientHello, an HTTP
 * request, the Shadowsocks and OpenVPN first payloads of the nDPI corpus,
 * copied from the captures). Then the flow hooks: only the first client
 * payload of a TCP flow counts, and a dissector's name exempts while
 * nDPI's port guess does not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analyze/dpi.h"
#include "analyze/fep.h"
#include "analyze/flow.h"
#include "capture/flow_key.h"

/* xorshift64*: random-looking bytes that are the same on every run. */
static void fill_random(uint8_t *b, size_t n, uint64_t seed)
{
    uint64_t x = seed;

    for (size_t i = 0; i < n; i++) {
        x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
        b[i] = (uint8_t)((x * 2685821657736338717ULL) >> 56);
    }
}

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = 0;

    for (; h[0] && h[1]; h += 2)
        sscanf(h, "%2hhx", &out[n++]);
    return n;
}

/* n bytes of which `threes` have 3 bits set and the rest 4 (or 4 and 5
 * with high = 1); none printable: 0x07, 0x0f, 0x1f are control bytes. */
static void fill_bits(uint8_t *b, size_t n, size_t first, int high)
{
    for (size_t i = 0; i < n; i++)
        b[i] = high ? (i < first ? 0x0f : 0x1f) : (i < first ? 0x07 : 0x0f);
}

static void test_popcount_bounds(void **state)
{
    uint8_t b[60];

    (void)state;
    fill_bits(b, 60, 36, 0); /* 36*3 + 24*4 = 204 bits: 3.4 exactly */
    assert_int_equal(fep_check(b, 60), FEP_POPCOUNT);
    fill_bits(b, 60, 35, 0); /* 205 bits: 3.417 */
    assert_int_equal(fep_check(b, 60), FEP_FULLY_ENCRYPTED);
    fill_bits(b, 60, 24, 1); /* 24*4 + 36*5 = 276 bits: 4.6 exactly */
    assert_int_equal(fep_check(b, 60), FEP_POPCOUNT);
    fill_bits(b, 60, 25, 1); /* 275 bits: 4.583 */
    assert_int_equal(fep_check(b, 60), FEP_FULLY_ENCRYPTED);
    memset(b, 0, sizeof(b));
    assert_int_equal(fep_check(b, 60), FEP_POPCOUNT);
    memset(b, 0xff, sizeof(b));
    assert_int_equal(fep_check(b, 60), FEP_POPCOUNT);
}

static void test_printable_rules(void **state)
{
    uint8_t b[200];

    (void)state;
    fill_random(b, sizeof(b), 7);
    assert_int_equal(fep_check(b, sizeof(b)), FEP_FULLY_ENCRYPTED);
    /* Ex2: six printable first bytes exempt, five do not */
    memcpy(b, "abcdef", 6);
    assert_int_equal(fep_check(b, sizeof(b)), FEP_PREFIX);
    b[5] = 0x81;
    assert_int_equal(fep_check(b, sizeof(b)), FEP_FULLY_ENCRYPTED);
    /* Ex4: a printable run of 21 exempts, 20 does not */
    fill_random(b, sizeof(b), 7);
    b[0] = 0x01;
    b[79] = b[100] = 0x80;
    memcpy(b + 80, "abcdefghijklmnopqrst", 20);
    assert_int_equal(fep_check(b, sizeof(b)), FEP_FULLY_ENCRYPTED);
    b[100] = 'u';
    b[101] = 0x80;
    assert_int_equal(fep_check(b, sizeof(b)), FEP_RUN);
    /* Ex3: more than half printable, in runs of at most 2 */
    for (size_t i = 0; i < 100; i++)
        b[i] = (i % 3 == 2) ? 0x91 : 0x6a; /* 'j': 4 bits; 0x91: 3 bits */
    assert_int_equal(fep_check(b, 100), FEP_PRINTABLE);
    for (size_t i = 0; i < 100; i++)
        b[i] = (i % 2 == 1) ? 0x93 : 0x6a; /* exactly half printable */
    assert_int_equal(fep_check(b, 100), FEP_FULLY_ENCRYPTED);
}

static void test_protocols(void **state)
{
    uint8_t b[1500];
    size_t n;

    (void)state;
    /* a TLS ClientHello record: 16 03 01, then random-looking bytes */
    fill_random(b, 300, 11);
    memcpy(b, "\x16\x03\x01\x01\x27\x01", 6);
    assert_int_equal(fep_check(b, 300), FEP_PROTOCOL);
    b[0] = 0x17, b[2] = 0x03; /* application data, TLS 1.2 */
    assert_int_equal(fep_check(b, 300), FEP_PROTOCOL);
    b[1] = 0x02; /* SSL 2 is not exempt */
    assert_int_equal(fep_check(b, 300), FEP_FULLY_ENCRYPTED);
    /* printable protocols are exempt before Ex5 is tried */
    n = strlen(strcpy((char *)b, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"));
    fill_random(b + n, 40, 3);
    assert_int_equal(fep_check(b, n + 40), FEP_PREFIX);
    n = strlen(strcpy(
        (char *)b,
        "GET /api/kernels HTTP/1.1\r\nHost: gpu:8888\r\nUser-Agent: python-requests/2.31\r\n\r\n"));
    assert_int_equal(fep_check(b, n), FEP_PREFIX);
    /* from the nDPI corpus: Shadowsocks (shadowsocks.pcap, 105 bytes) and
     * OpenVPN over TCP with tls-auth (openvpn.pcap, 56 bytes) */
    n = unhex("f49cfb0b8796ba8714263d68fc34ad9ceb53ef21eb4996f01b3ad97440c48fc70b449cad9f5df5"
              "8c0bf665804d5a157c17514c96cc238b13ead300c9c533f637a3d2a3f034b8f267d65549fc05d5"
              "e66d5ddf13d3089f9ad59e3b2ae144267fb1dc6a735666da1358c6",
              b);
    assert_int_equal(n, 105);
    assert_int_equal(fep_check(b, n), FEP_FULLY_ENCRYPTED);
    n = unhex("0036382a56d979d99eccf40000000163cf4ff5b89824b0aa4e93c089c1e24af5443766b5cab18c"
              "23c17d51081eb196a229085eec179d0d88",
              b);
    assert_int_equal(n, 56);
    assert_int_equal(fep_check(b, n), FEP_FULLY_ENCRYPTED);
    /* too short to judge */
    fill_random(b, FEP_MIN_LEN, 5);
    assert_int_equal(fep_check(b, FEP_MIN_LEN - 1), FEP_SHORT);
    assert_int_equal(fep_check(b, FEP_MIN_LEN), FEP_FULLY_ENCRYPTED);
    assert_string_equal(fep_name(FEP_FULLY_ENCRYPTED), "fully_encrypted");
    assert_string_equal(fep_name(FEP_RUN), "run");
}

static dpi_facts *facts_app(const char *app)
{
    size_t la = strlen(app) + 1;
    dpi_facts *fa = calloc(1, sizeof(*fa) + la);
    assert_non_null(fa);
    for (int i = 0; i < DPI_NFACTS; i++)
        fa->off[i] = DPI_ABSENT;
    fa->off[DPI_APP] = 0;
    memcpy(fa->text, app, la);
    return fa;
}

static void tcp_flow(flow *f, uint8_t proto)
{
    packet p;
    flow_key k;
    memset(&p, 0, sizeof(p));
    p.proto = proto;
    assert_int_equal(pkt_addr_parse("104.171.200.17", &p.src), 0);
    assert_int_equal(pkt_addr_parse("8.210.37.5", &p.dst), 0);
    p.sport = 42361;
    p.dport = 8388;
    p.flags = proto == 6 ? PKT_F_HAS_TCP : 0;
    p.tcp_flags = TCP_SYN;
    flow_init(f, &k, 1, &p, flow_key_make(&k, &p));
}

static void payload(flow *f, const uint8_t *b, size_t n, int dir)
{
    packet p;
    memset(&p, 0, sizeof(p));
    p.data = b;
    p.payload_caplen = p.payload_len = (uint32_t)n;
    fep_packet(f, &p, dir);
}

static void test_flow_hooks(void **state)
{
    uint8_t rnd[120], tls[120];
    flow f;

    (void)state;
    fill_random(rnd, sizeof(rnd), 9);
    memcpy(tls, "\x16\x03\x01\x00\x73\x01", 6);
    fill_random(tls + 6, sizeof(tls) - 6, 9);
    /* the server speaking first does not count; the client's first does */
    tcp_flow(&f, 6);
    payload(&f, tls, sizeof(tls), 1);
    assert_int_equal(flow_an(&f)->fep, FEP_UNSEEN);
    payload(&f, rnd, sizeof(rnd), 0);
    assert_int_equal(flow_an(&f)->fep, FEP_FULLY_ENCRYPTED);
    payload(&f, tls, sizeof(tls), 0); /* later payloads change nothing */
    assert_int_equal(flow_an(&f)->fep, FEP_FULLY_ENCRYPTED);
    f.dpi_state = FLOW_DPI_DONE;
    f.facts = facts_app("Unknown");
    assert_true(fep_flow(&f));
    free(f.facts);
    f.facts = facts_app("TLS"); /* a dissector's verdict exempts */
    assert_false(fep_flow(&f));
    f.dpi_guessed = 1; /* ... the port guess does not */
    assert_true(fep_flow(&f));
    free(f.facts);
    flow_release(&f);
    /* a ClientHello first: not fully encrypted whatever follows */
    tcp_flow(&f, 6);
    payload(&f, tls, sizeof(tls), 0);
    payload(&f, rnd, sizeof(rnd), 0);
    assert_int_equal(flow_an(&f)->fep, FEP_PROTOCOL);
    assert_false(fep_flow(&f));
    flow_release(&f);
    /* UDP is not judged */
    tcp_flow(&f, 17);
    payload(&f, rnd, sizeof(rnd), 0);
    assert_int_equal(flow_an(&f)->fep, FEP_UNSEEN);
    assert_false(fep_flow(&f));
    flow_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_popcount_bounds),
        cmocka_unit_test(test_printable_rules),
        cmocka_unit_test(test_protocols),
        cmocka_unit_test(test_flow_hooks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
