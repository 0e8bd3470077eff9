/* test_pkt_addr.c -- unit tests of the shared address type
 * (base/pkt_addr.c): its text is inet_ntop()'s, IPv4 written directly
 * included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "base/pkt_addr.h"

/* Every octet value in every position of an IPv4 address (the others
 * varied too), against inet_ntop(). */
static void test_v4_text(void **state)
{
    char got[64], want[INET_ADDRSTRLEN];
    pkt_addr a;

    (void)state;
    for (unsigned pos = 0; pos < 4; pos++)
        for (unsigned v = 0; v < 256; v++) {
            uint8_t q[4] = {(uint8_t)(v * 7 + 1), (uint8_t)(v * 13), (uint8_t)(255 - v),
                            (uint8_t)(v / 3)};
            q[pos] = (uint8_t)v;
            assert_int_equal(pkt_addr_parse("0.0.0.0", &a), 0);
            memcpy(a.b + 12, q, 4);
            assert_non_null(inet_ntop(AF_INET, q, want, sizeof(want)));
            assert_string_equal(pkt_addr_format(&a, got, sizeof(got)), want);
        }
}

static void test_round_trip_and_short_buffers(void **state)
{
    const char *texts[] = {"0.0.0.0", "255.255.255.255", "10.0.9.1", "2001:db8::7", "::1"};
    char got[64];
    pkt_addr a;

    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        assert_int_equal(pkt_addr_parse(texts[i], &a), 0);
        assert_string_equal(pkt_addr_format(&a, got, sizeof(got)), texts[i]);
    }
    /* a buffer too short for the text: empty, as inet_ntop() fails */
    assert_int_equal(pkt_addr_parse("255.255.255.255", &a), 0);
    assert_string_equal(pkt_addr_format(&a, got, 8), "");
    assert_int_equal(pkt_addr_parse("1.2.3.4", &a), 0);
    assert_string_equal(pkt_addr_format(&a, got, 8), "1.2.3.4");
    assert_int_equal(pkt_addr_parse("not an address", &a), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v4_text),
        cmocka_unit_test(test_round_trip_and_short_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
