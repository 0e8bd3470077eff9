/* test_community_id.c -- Community ID v1 against Wireshark's implementation.
 *
 * The expected ids were computed by Debian 12's tshark 4.0 (its
 * "communityid" post-dissector, seed 0, base64) from a capture holding one
 * frame per case below; the corpus system test (tests/system/
 * corpus_accounting.sh) compares whole captures the same way. The cases cover
 * what the corpus has little of: an ICMP request and its reply (equal ids),
 * ICMP errors (one-way: the sender stays first, so the two directions
 * differ), a flow between two ports of one address (ordered by port), and
 * a protocol without ports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "capture/community_id.h"

static void check(const char *src, uint16_t sport, const char *dst, uint16_t dport, uint8_t proto,
                  const char *want)
{
    pkt_addr a, b;
    community_id_tuple t;
    char out[COMMUNITY_ID_LEN];

    assert_int_equal(pkt_addr_parse(src, &a), 0);
    assert_int_equal(pkt_addr_parse(dst, &b), 0);
    t.src = &a;
    t.dst = &b;
    t.sport = sport;
    t.dport = dport;
    t.proto = proto;
    assert_string_equal(community_id_v1(&t, 0, out), want);
}

static void test_icmp_echo_pair(void **state)
{
    (void)state;
    /* Type 8 code 0, then its reply type 0: one id. */
    check("10.0.0.1", 8, "10.0.0.2", 0, 1, "1:YcMyyWJfhc95EW1GfXt6jlZ3DiQ=");
    check("10.0.0.2", 0, "10.0.0.1", 0, 1, "1:YcMyyWJfhc95EW1GfXt6jlZ3DiQ=");
}

static void test_icmp_one_way(void **state)
{
    (void)state;
    /* Port unreachable (type 3 code 3) from either side. */
    check("10.0.0.2", 3, "10.0.0.1", 3, 1, "1:LhjXG72oBqb/FpYqPl9LboG4/B4=");
    check("10.0.0.1", 3, "10.0.0.2", 3, 1, "1:sn6MAmXQ6UD1gYE1XbV3XTNewrk=");
}

static void test_ports(void **state)
{
    (void)state;
    check("192.168.1.1", 53, "10.0.0.1", 40000, 17, "1:vDVEhGXofmFNVRplCn7zScEaGPU=");
    check("10.0.0.1", 40000, "192.168.1.1", 53, 17, "1:vDVEhGXofmFNVRplCn7zScEaGPU=");
    check("10.0.0.1", 5000, "10.0.0.1", 80, 6, "1:LD76GfTIBU2lu/ZefEgEGuuBPew=");
    check("10.0.0.1", 80, "10.0.0.1", 5000, 6, "1:LD76GfTIBU2lu/ZefEgEGuuBPew=");
}

static void test_no_ports(void **state)
{
    (void)state;
    /* ESP: the ports given are ignored. */
    check("10.0.0.1", 0, "10.0.0.2", 0, 50, "1:dX+1pd7Z9Y9hJE/IuQlfvK7bxuA=");
    check("10.0.0.2", 7, "10.0.0.1", 9, 50, "1:dX+1pd7Z9Y9hJE/IuQlfvK7bxuA=");
}

static void test_mixed_families(void **state)
{
    (void)state;
    check("10.0.0.1", 1, "::1", 2, 6, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_icmp_echo_pair), cmocka_unit_test(test_icmp_one_way),
        cmocka_unit_test(test_ports),          cmocka_unit_test(test_no_ports),
        cmocka_unit_test(test_mixed_families),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
