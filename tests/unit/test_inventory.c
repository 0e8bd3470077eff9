/* test_inventory.c -- the GPU fleet CSV (interface.md section 4) and the
 * prefix table under it.
 *
 * Valid files with IPv4 and IPv6, comments, quotes and empty fields;
 * overlapping networks (the longest wins); malformed lines, each reported
 * as FILE:LINE; and a reload that replaces one inventory with another.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "geo/inventory.h"
#include "geo/prefix.h"

static inventory *parse_ok(const char *text)
{
    char err[512] = "";
    inventory *inv = inventory_parse("fleet.csv", text, strlen(text), err, sizeof(err));
    if (inv == NULL)
        fail_msg("%s", err);
    return inv;
}

static const inventory_entry *at(const inventory *inv, const char *ip)
{
    pkt_addr a;
    assert_int_equal(pkt_addr_parse(ip, &a), 0);
    return inventory_lookup(inv, &a);
}

static void test_valid_file(void **state)
{
    static const char text[] = "# the fleet\n"
                               "cidr,provider,region,sku,tenant\n"
                               "\n"
                               "104.171.200.0/22, Lambda , us-east-1 ,H100,   # trailing comment\n"
                               "10.0.0.0/8,onprem,fra1,A100,\"Acme, Inc.\"\n"
                               "2001:db8:100::/48,coreweave,,H200,beta\r\n"
                               "192.0.2.1,,,,\n"
                               "2001:db8:200::1,x,,,\"say \"\"hi\"\"\"\n";
    const inventory_entry *e;

    (void)state;
    inventory *inv = parse_ok(text);
    assert_int_equal(inventory_count(inv), 5);
    e = at(inv, "104.171.203.255");
    assert_non_null(e);
    assert_string_equal(e->provider, "Lambda");
    assert_string_equal(e->region, "us-east-1");
    assert_string_equal(e->sku, "H100");
    assert_null(e->tenant);
    assert_int_equal(e->line, 4);
    assert_null(at(inv, "104.171.204.0"));
    assert_null(at(inv, "104.171.199.255"));
    assert_string_equal(at(inv, "10.200.1.1")->tenant, "Acme, Inc.");
    e = at(inv, "2001:db8:100:ffff::9");
    assert_non_null(e);
    assert_string_equal(e->provider, "coreweave");
    assert_null(e->region);
    assert_string_equal(e->tenant, "beta");
    assert_null(at(inv, "2001:db8:101::1"));
    e = at(inv, "192.0.2.1");
    assert_non_null(e);
    assert_null(e->provider);
    assert_null(at(inv, "192.0.2.2"));
    assert_string_equal(at(inv, "2001:db8:200::1")->tenant, "say \"hi\"");
    assert_null(at(inv, "2001:db8:200::2"));
    /* an IPv6 network never covers IPv4 through the mapped form */
    assert_null(at(inv, "::ffff:1.2.3.4"));
    inventory_free(inv);
}

static void test_overlap_longest_wins(void **state)
{
    static const char text[] = "cidr,provider,region,sku,tenant\n"
                               "10.0.0.1/32,p,,,host\n" /* before its parents */
                               "0.0.0.0/0,p,,,all\n"
                               "10.0.0.0/8,p,,,eight\n"
                               "10.0.0.0/24,p,,,twentyfour\n"
                               "::/0,p,,,all6\n"
                               "2001:db8::/32,p,,,doc\n"
                               "2001:db8:0:1::/64,p,,,net64\n";

    (void)state;
    inventory *inv = parse_ok(text);
    assert_string_equal(at(inv, "10.0.0.1")->tenant, "host");
    assert_string_equal(at(inv, "10.0.0.2")->tenant, "twentyfour");
    assert_string_equal(at(inv, "10.0.1.2")->tenant, "eight");
    assert_string_equal(at(inv, "11.0.0.1")->tenant, "all");
    assert_string_equal(at(inv, "2001:db8:0:1::5")->tenant, "net64");
    assert_string_equal(at(inv, "2001:db8:0:2::5")->tenant, "doc");
    assert_string_equal(at(inv, "2a00::1")->tenant, "all6");
    inventory_free(inv);
}

static void expect_error(const char *text, const char *want)
{
    char err[512] = "";

    assert_null(inventory_parse("fleet.csv", text, strlen(text), err, sizeof(err)));
    if (strstr(err, want) == NULL)
        fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void test_malformed_lines(void **state)
{
    static const char h[] = "cidr,provider,region,sku,tenant\n";
    char text[512];
    static const struct {
        const char *line, *want;
    } cases[] = {
        {"10.0.0.0/33,a,b,c,d", "fleet.csv:3: cidr \"10.0.0.0/33\": prefix length must be 0-32"},
        {"2001:db8::/129,a,b,c,d", "fleet.csv:3: cidr \"2001:db8::/129\""},
        {"10.0.0.1/24,a,b,c,d", "fleet.csv:3: cidr \"10.0.0.1/24\": host bits set"},
        {"10.0.0.0/,a,b,c,d", "fleet.csv:3:"},
        {"10.0.0.0/8x,a,b,c,d", "fleet.csv:3:"},
        {"10.0.0.0/-1,a,b,c,d", "fleet.csv:3:"},
        {"300.0.0.0/8,a,b,c,d", "fleet.csv:3: cidr \"300.0.0.0/8\": not an IP address"},
        {"example.com,a,b,c,d", "fleet.csv:3: cidr \"example.com\""},
        {",a,b,c,d", "fleet.csv:3: cidr \"\""},
        {"10.0.0.0/8,a,b,c",
         "fleet.csv:3: expected 5 fields (cidr,provider,region,sku,tenant), got 4"},
        {"10.0.0.0/8,a,b,c,d,e", "fleet.csv:3: expected 5 fields"},
        {"10.0.0.0/8,\"a,b,c,d", "fleet.csv:3: unclosed quote"},
        {"::ffff:10.0.0.0/104,a,b,c,d", "fleet.csv:3: cidr \"::ffff:10.0.0.0/104\": IPv4-mapped"},
        {"1.2.3.0/24,a,,,\n1.2.3.0/24,b,,,",
         "fleet.csv:4: network 1.2.3.0/24 is already listed on line 3"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), "%s# comment\n%s\n", h, cases[i].line);
        expect_error(text, cases[i].want);
    }
    expect_error("", "fleet.csv: empty: expected the header");
    expect_error("# only a comment\n\n", "fleet.csv: empty");
    expect_error("cidr,provider,region,sku\n", "fleet.csv:1: expected the header");
    expect_error("10.0.0.0/8,a,b,c,d\n", "fleet.csv:1: expected the header");
    char nul[] = "cidr,provider,region,sku,tenant\n1.2.3.4,a?b,,,\n";
    nul[40] = '\0';
    char err[256];
    assert_null(inventory_parse("f", nul, sizeof(nul) - 1, err, sizeof(err)));
    assert_string_equal(err, "f:2: NUL byte in line");
    /* a line too long to be a line */
    char *big = malloc(6000);
    assert_non_null(big);
    memset(big, 'a', 6000);
    memcpy(big, h, sizeof(h) - 1);
    assert_null(inventory_parse("f", big, 6000, err, sizeof(err)));
    assert_string_equal(err, "f:2: line longer than 4096 bytes");
    free(big);
}

static void test_header_only_and_load_errors(void **state)
{
    char err[512] = "";

    (void)state;
    inventory *inv = parse_ok("cidr,provider,region,sku,tenant\n");
    assert_int_equal(inventory_count(inv), 0);
    assert_null(at(inv, "1.2.3.4"));
    inventory_free(inv);
    assert_null(inventory_load("/nonexistent/fleet.csv", err, sizeof(err)));
    assert_string_equal(err, "/nonexistent/fleet.csv: No such file or directory");
}

/* A reload builds a new inventory from the edited file: the old one stays
 * intact until it is freed. */
static void test_reload(void **state)
{
    char path[] = "/tmp/test_inventory.XXXXXX", err[512];
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");

    (void)state;
    fputs("cidr,provider,region,sku,tenant\n10.0.0.0/24,a,,,one\n", f);
    fclose(f);
    inventory *old = inventory_load(path, err, sizeof(err));
    assert_non_null(old);
    f = fopen(path, "w");
    fputs("cidr,provider,region,sku,tenant\n10.0.0.0/24,a,,,two\n2001:db8::/64,b,,,six\n", f);
    fclose(f);
    inventory *fresh = inventory_load(path, err, sizeof(err));
    assert_non_null(fresh);
    assert_string_equal(at(old, "10.0.0.9")->tenant, "one");
    assert_null(at(old, "2001:db8::1"));
    assert_string_equal(at(fresh, "10.0.0.9")->tenant, "two");
    assert_string_equal(at(fresh, "2001:db8::1")->tenant, "six");
    f = fopen(path, "w");
    fputs("cidr,provider,region,sku,tenant\n10.0.0.0/24,a,,,two\nbad line\n", f);
    fclose(f);
    assert_null(inventory_load(path, err, sizeof(err)));
    assert_non_null(strstr(err, ":3: "));
    assert_non_null(strstr(err, path));
    inventory_free(old);
    inventory_free(fresh);
    unlink(path);
}

static void test_prefix_parse(void **state)
{
    pkt_addr a;
    int bits;
    const char *why;

    (void)state;
    assert_int_equal(prefix_parse("0.0.0.0/0", &a, &bits, &why), 0);
    assert_int_equal(bits, 0);
    assert_int_equal(prefix_parse("1.2.3.4", &a, &bits, &why), 0);
    assert_int_equal(bits, 32);
    assert_int_equal(prefix_parse("2001:db8::", &a, &bits, &why), 0);
    assert_int_equal(bits, 128);
    assert_int_equal(prefix_parse("2001:db8::/032", &a, &bits, &why), 0);
    assert_int_equal(bits, 32);
    assert_int_equal(prefix_parse("2001:db8::/0032", &a, &bits, &why), -1);
    assert_int_equal(prefix_parse("1.2.3.4/ 8", &a, &bits, &why), -1);
    assert_int_equal(prefix_parse("/8", &a, &bits, &why), -1);
    assert_int_equal(prefix_parse("1.2.3.4/32/1", &a, &bits, &why), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_file),      cmocka_unit_test(test_overlap_longest_wins),
        cmocka_unit_test(test_malformed_lines), cmocka_unit_test(test_header_only_and_load_errors),
        cmocka_unit_test(test_reload),          cmocka_unit_test(test_prefix_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
