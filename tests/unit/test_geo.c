/* test_geo.c -- MaxMind lookups, special ranges, snapshots and the cache.
 *
 * Known answers come from MaxMind's own test databases (the corpus, see
 * its README) and from small databases this test writes with
 * tools/geo-build.pl, i.e. with MaxMind's writer, the same way the
 * default database is built: IPv4 and IPv6, one merged file against a
 * country file plus an ASN file. Errors: missing, unreadable, garbage and
 * truncated databases must fail naming the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "geo/cache.h"
#include "geo/geo.h"
#include "base/stats.h"
#include "geo/snapshot.h"

static char tmpdir[256];

static const char *corpus_db(const char *name)
{
    static char path[4][1024];
    static int i;
    const char *dir = getenv("LOOPHOLE_CORPUS");

    i = (i + 1) % 4;
    snprintf(path[i], sizeof(path[i]), "%s/mmdb/%s.mmdb", dir ? dir : "../shared/corpus", name);
    return path[i];
}

static const char *tmp_path(const char *name)
{
    static char path[8][512];
    static int i;

    i = (i + 1) % 8;
    snprintf(path[i], sizeof(path[i]), "%s/%s", tmpdir, name);
    return path[i];
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

/* Builds a database with MaxMind's writer through the project's tool. */
static void build_db(const char *out, const char *country_csv, const char *asn_csv)
{
    char cmd[2048];
    const char *data = getenv("LOOPHOLE_TESTDATA");
    int n = snprintf(cmd, sizeof(cmd), "perl %s/../../tools/geo-build.pl --out %s",
                     data ? data : "tests/data", out);

    if (country_csv)
        n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, " --country %s", country_csv);
    if (asn_csv)
        snprintf(cmd + n, sizeof(cmd) - (size_t)n, " --asn %s", asn_csv);
    if (system(cmd) != 0)
        fail_msg("failed: %s", cmd);
}

static geo_db *open1(const char *path)
{
    char err[512] = "";
    geo_db *db = geo_db_open(&path, 1, err, sizeof(err));
    if (db == NULL)
        fail_msg("%s", err);
    return db;
}

static geo_info look(const geo_db *db, const char *ip, int want_found)
{
    pkt_addr a;
    geo_info g;

    assert_int_equal(pkt_addr_parse(ip, &a), 0);
    assert_int_equal(geo_db_lookup(db, &a, &g), want_found);
    return g;
}

static void test_maxmind_country_and_city(void **state)
{
    (void)state;
    geo_db *country = open1(corpus_db("GeoIP2-Country-Test"));
    assert_string_equal(look(country, "81.2.69.142", 1).country, "GB");
    assert_string_equal(look(country, "216.160.83.56", 1).country, "US");
    assert_string_equal(look(country, "89.160.20.112", 1).country, "SE");
    assert_string_equal(look(country, "175.16.199.0", 1).country, "CN");
    assert_string_equal(look(country, "2001:218::1", 1).country, "JP");
    assert_string_equal(look(country, "67.43.156.0", 1).country, "BT"); /* not registered RO */
    geo_info g = look(country, "1.1.1.1", 0);
    assert_string_equal(g.country, "");
    assert_int_equal(g.asn, 0);
    geo_db_free(country);

    geo_db *city = open1(corpus_db("GeoIP2-City-Test"));
    assert_string_equal(look(city, "2.125.160.216", 1).country, "GB");
    assert_string_equal(look(city, "175.16.199.0", 1).country, "CN");
    assert_int_equal(look(city, "175.16.199.0", 1).asn, 0);
    geo_db_free(city);
    geo_db *lite = open1(corpus_db("GeoLite2-City-Test"));
    assert_string_equal(look(lite, "2001:218::1", 1).country, "JP"); /* no city key */
    geo_db_free(lite);
}

static void test_maxmind_asn(void **state)
{
    (void)state;
    geo_db *asn = open1(corpus_db("GeoLite2-ASN-Test"));
    geo_info g = look(asn, "1.128.0.0", 1);
    assert_int_equal(g.asn, 1221);
    assert_string_equal(g.as_org, "Telstra Pty Ltd");
    assert_string_equal(g.country, "");
    assert_int_equal(look(asn, "12.81.92.1", 1).asn, 7018);
    assert_string_equal(look(asn, "12.81.92.1", 1).as_org, "AT&T Services");
    assert_int_equal(look(asn, "149.101.100.1", 1).asn, 6167);
    g = look(asn, "2600:6000::1", 1);
    assert_int_equal(g.asn, 237);
    assert_string_equal(g.as_org, "Merit Network Inc.");
    look(asn, "81.2.69.142", 0);
    look(asn, "8.8.8.8", 0);
    geo_db_free(asn);
}

/* Country from one file, AS from another, in either order. */
static void test_country_plus_asn_files(void **state)
{
    const char *paths[] = {corpus_db("GeoLite2-ASN-Test"), corpus_db("GeoLite2-Country-Test")};
    char err[512];

    (void)state;
    for (int order = 0; order < 2; order++) {
        const char *p[2] = {paths[order], paths[!order]};
        geo_db *db = geo_db_open(p, 2, err, sizeof(err));
        assert_non_null(db);
        geo_info g = look(db, "89.160.20.112", 1);
        assert_string_equal(g.country, "SE");
        assert_int_equal(g.asn, 29518);
        assert_string_equal(g.as_org, "Bredband2 AB");
        g = look(db, "81.2.69.142", 1); /* country only */
        assert_string_equal(g.country, "GB");
        assert_int_equal(g.asn, 0);
        assert_string_equal(g.as_org, "");
        geo_db_free(db);
    }
}

static void test_special_ranges(void **state)
{
    static const struct {
        const char *ip, *label;
    } cases[] = {
        {"10.1.2.3", GEO_PRIVATE},
        {"172.16.0.1", GEO_PRIVATE},
        {"172.31.255.255", GEO_PRIVATE},
        {"172.32.0.1", NULL},
        {"192.168.1.1", GEO_PRIVATE},
        {"100.64.0.1", GEO_PRIVATE},
        {"100.128.0.1", NULL},
        {"169.254.1.1", GEO_PRIVATE},
        {"127.0.0.1", GEO_LOOPBACK},
        {"0.1.2.3", GEO_RESERVED},
        {"192.0.2.7", GEO_DOCUMENTATION},
        {"198.51.100.1", GEO_DOCUMENTATION},
        {"203.0.113.9", GEO_DOCUMENTATION},
        {"198.18.0.1", GEO_RESERVED},
        {"224.0.0.251", GEO_MULTICAST},
        {"239.255.255.250", GEO_MULTICAST},
        {"240.0.0.1", GEO_RESERVED},
        {"255.255.255.255", GEO_RESERVED},
        {"8.8.8.8", NULL},
        {"11.0.0.1", NULL},
        {"::1", GEO_LOOPBACK},
        {"::", GEO_RESERVED},
        {"fe80::1", GEO_PRIVATE},
        {"fd00::1", GEO_PRIVATE},
        {"2001:db8::1", GEO_DOCUMENTATION},
        {"3fff::1", GEO_DOCUMENTATION},
        {"ff02::1", GEO_MULTICAST},
        {"100::1", GEO_RESERVED},
        {"2001:4860::1", NULL},
        {"2400:3200::1", NULL},
        {"2001:db9::1", NULL},
    };
    pkt_addr a;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(pkt_addr_parse(cases[i].ip, &a), 0);
        const char *got = geo_special(&a);
        if ((got == NULL) != (cases[i].label == NULL) || (got && strcmp(got, cases[i].label) != 0))
            fail_msg("%s: got %s, want %s", cases[i].ip, got ? got : "NULL",
                     cases[i].label ? cases[i].label : "NULL");
    }
}

static void expect_open_error(const char *path, const char *what)
{
    char err[512] = "";

    assert_null(geo_db_open(&path, 1, err, sizeof(err)));
    if (strstr(err, path) == NULL || strstr(err, what) == NULL)
        fail_msg("error \"%s\" should name %s and say %s", err, path, what);
}

static void test_bad_databases(void **state)
{
    static char buf[1 << 16];
    FILE *f;
    size_t n;

    (void)state;
    expect_open_error(tmp_path("missing.mmdb"), "No such file");
    write_file(tmp_path("garbage.mmdb"), "this is not a database\n", 23);
    expect_open_error(tmp_path("garbage.mmdb"), "not a valid MaxMind database");
    write_file(tmp_path("empty.mmdb"), "", 0);
    expect_open_error(tmp_path("empty.mmdb"), "not a valid MaxMind database");
    /* the first part of a real database: tree and data cut off */
    assert_non_null(f = fopen(corpus_db("GeoIP2-Country-Test"), "rb"));
    n = fread(buf, 1, 4000, f);
    fclose(f);
    write_file(tmp_path("cut.mmdb"), buf, n);
    expect_open_error(tmp_path("cut.mmdb"), "cut.mmdb");
    /* unreadable (root reads anything: then the check is moot) */
    write_file(tmp_path("secret.mmdb"), "x", 1);
    chmod(tmp_path("secret.mmdb"), 0);
    if (geteuid() != 0)
        expect_open_error(tmp_path("secret.mmdb"), "Permission denied");
    /* the second of two files is bad: still an error naming it */
    const char *two[] = {corpus_db("GeoLite2-ASN-Test"), tmp_path("garbage.mmdb")};
    char err[512];
    assert_null(geo_db_open(two, 2, err, sizeof(err)));
    assert_non_null(strstr(err, "garbage.mmdb"));
}

static const char country_csv[] = "1.0.0.0,1.0.0.255,AU\n"
                                  "1.0.1.0,1.0.3.255,CN\n"
                                  "104.171.200.0,104.171.203.255,US\n"
                                  "2400:3200::,2400:3200:ffff:ffff:ffff:ffff:ffff:ffff,CN\n";
static const char asn_csv[] = "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n"
                              "1.0.2.0,1.0.2.255,4134,Chinanet\n"
                              "104.171.200.0,104.171.203.255,398090,Lambda\n"
                              "2400:3200::,2400:3200:ffff:ffff:ffff:ffff:ffff:ffff,37963,"
                              "\"Hangzhou Alibaba Advertising Co.,Ltd.\"\n"
                              "2a01:4f8::,2a01:4f8:ffff:ffff:ffff:ffff:ffff:ffff,24940,"
                              "Hetzner Online GmbH\n";

static void check_built(const geo_db *db)
{
    geo_info g = look(db, "1.0.0.1", 1);
    assert_string_equal(g.country, "AU");
    assert_int_equal(g.asn, 13335);
    assert_string_equal(g.as_org, "Cloudflare, Inc.");
    g = look(db, "1.0.1.9", 1); /* country, no AS */
    assert_string_equal(g.country, "CN");
    assert_int_equal(g.asn, 0);
    g = look(db, "1.0.2.200", 1);
    assert_string_equal(g.country, "CN");
    assert_int_equal(g.asn, 4134);
    g = look(db, "104.171.200.17", 1);
    assert_string_equal(g.country, "US");
    assert_string_equal(g.as_org, "Lambda");
    g = look(db, "2400:3200::1", 1);
    assert_string_equal(g.country, "CN");
    assert_int_equal(g.asn, 37963);
    assert_string_equal(g.as_org, "Hangzhou Alibaba Advertising Co.,Ltd.");
    g = look(db, "2a01:4f8:c0c:1::2", 1); /* AS, no country */
    assert_string_equal(g.country, "");
    assert_int_equal(g.asn, 24940);
    look(db, "1.0.4.1", 0);
    look(db, "2001:4860::1", 0);
}

/* The merged file answers exactly like a country file plus an ASN file. */
static void test_built_merged_vs_separate(void **state)
{
    char err[512];

    (void)state;
    write_file(tmp_path("c.csv"), country_csv, sizeof(country_csv) - 1);
    write_file(tmp_path("a.csv"), asn_csv, sizeof(asn_csv) - 1);
    build_db(tmp_path("merged.mmdb"), tmp_path("c.csv"), tmp_path("a.csv"));
    build_db(tmp_path("country.mmdb"), tmp_path("c.csv"), NULL);
    build_db(tmp_path("asn.mmdb"), NULL, tmp_path("a.csv"));
    geo_db *merged = open1(tmp_path("merged.mmdb"));
    check_built(merged);
    geo_db_free(merged);
    const char *sep[] = {tmp_path("country.mmdb"), tmp_path("asn.mmdb")};
    geo_db *both = geo_db_open(sep, 2, err, sizeof(err));
    assert_non_null(both);
    check_built(both);
    geo_db_free(both);
    geo_db *c = open1(tmp_path("country.mmdb"));
    assert_int_equal(look(c, "1.0.0.1", 1).asn, 0);
    geo_db_free(c);
}

static void test_long_org_is_cut_on_a_character(void **state)
{
    char csv[512], org[300] = "";

    (void)state;
    for (int i = 0; i < 60; i++)
        strcat(org, "\xc3\xa9"); /* 120 bytes of "é" */
    snprintf(csv, sizeof(csv), "5.0.0.0,5.0.0.255,64500,%s\n", org);
    write_file(tmp_path("long.csv"), csv, strlen(csv));
    build_db(tmp_path("long.mmdb"), NULL, tmp_path("long.csv"));
    geo_db *db = open1(tmp_path("long.mmdb"));
    geo_info g = look(db, "5.0.0.1", 1);
    assert_int_equal(strlen(g.as_org), GEO_ORG_MAX - 2); /* 94: an even cut */
    assert_memory_equal(g.as_org, org, GEO_ORG_MAX - 2);
    geo_db_free(db);
}

static geo_snapshot *snapshot(const char *inventory_path)
{
    char err[512] = "", dir[1024];
    const char *data = getenv("LOOPHOLE_TESTDATA");
    const char *db = tmp_path("merged.mmdb");
    geo_snapshot_config c = {&db, 1, dir, inventory_path};

    snprintf(dir, sizeof(dir), "%s/../../data/indicators", data ? data : "tests/data");
    geo_snapshot *s = geo_snapshot_load(&c, err, sizeof(err));
    if (s == NULL)
        fail_msg("%s", err);
    return s;
}

/* Databases, shipped indicator tables and inventory answer together; the
 * cache returns the same and invalidates on a new generation. */
static void test_snapshot_and_cache(void **state)
{
    static const char inv1[] = "cidr,provider,region,sku,tenant\n"
                               "10.9.0.0/16,onprem,fra1,H100,\n";
    static const char inv2[] = "cidr,provider,region,sku,tenant\n"
                               "10.9.0.0/16,onprem,fra1,H100,\n"
                               "10.9.8.7,onprem,fra1,H100,acme\n";
    geo_holder *h = geo_holder_new();
    geo_snapshot *mine = NULL;
    geo_cache *cache = geo_cache_new(64);
    geo_party p, q;
    pkt_addr lambda, priv, cn;

    (void)state;
    build_db(tmp_path("merged.mmdb"), tmp_path("c.csv"), tmp_path("a.csv"));
    write_file(tmp_path("inv1.csv"), inv1, sizeof(inv1) - 1);
    write_file(tmp_path("inv2.csv"), inv2, sizeof(inv2) - 1);
    pkt_addr_parse("104.171.200.17", &lambda);
    pkt_addr_parse("10.9.8.7", &priv);
    pkt_addr_parse("1.0.2.9", &cn);
    geo_holder_refresh(h, &mine);
    assert_null(mine); /* nothing published yet */
    geo_holder_publish(h, snapshot(tmp_path("inv1.csv")));
    geo_holder_refresh(h, &mine);
    assert_non_null(mine);

    geo_cache_lookup(cache, mine, &lambda, &p);
    assert_string_equal(p.category, "gpu_cloud"); /* networks.csv: Lambda range */
    assert_int_equal(p.gpu, GEO_GPU_PROVIDER);
    assert_string_equal(p.provider, "Lambda");
    geo_cache_lookup(cache, mine, &cn, &p);
    assert_string_equal(p.category, "china_telecom"); /* asn.csv: AS4134 */
    assert_int_equal(p.gpu, GEO_GPU_NONE);
    geo_cache_lookup(cache, mine, &priv, &p);
    assert_string_equal(p.category, "private");
    assert_int_equal(p.gpu, GEO_GPU_INVENTORY);
    assert_null(p.tenant);
    assert_int_equal(STAT_GET(geo_cache_get_stats(cache)->misses), 3);
    geo_cache_lookup(cache, mine, &priv, &q); /* a hit, the same answer */
    assert_int_equal(STAT_GET(geo_cache_get_stats(cache)->hits), 1);
    assert_memory_equal(&p, &q, sizeof(p));

    /* reload: the old snapshot stays valid for this worker until refresh */
    geo_holder_publish(h, snapshot(tmp_path("inv2.csv")));
    geo_cache_lookup(cache, mine, &priv, &p);
    assert_null(p.tenant);
    geo_holder_refresh(h, &mine);
    geo_cache_lookup(cache, mine, &priv, &p);
    assert_string_equal(p.tenant, "acme");
    assert_string_equal(p.sku, "H100");
    assert_int_equal(STAT_GET(geo_cache_get_stats(cache)->hits), 2);
    geo_snapshot_unref(mine);
    geo_holder_free(h);
    geo_cache_free(cache);
}

/* Many addresses through a small cache: every answer equals the uncached
 * one, whatever was evicted. */
static void test_cache_agrees_with_snapshot(void **state)
{
    geo_snapshot *s = snapshot(NULL);
    geo_holder *h = geo_holder_new();
    geo_cache *cache = geo_cache_new(8), *none = geo_cache_new(0);
    geo_party a, b, c;

    (void)state;
    geo_holder_publish(h, s);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 64; i++) {
            pkt_addr x;
            char ip[32];
            snprintf(ip, sizeof(ip), "1.0.%d.%d", i % 5, i * 7 % 256);
            pkt_addr_parse(ip, &x);
            geo_cache_lookup(cache, s, &x, &a);
            if (i % 3 == 0) /* asked again at once: a hit */
                geo_cache_lookup(cache, s, &x, &a);
            geo_cache_lookup(none, s, &x, &b);
            geo_snapshot_describe(s, &x, &c);
            assert_memory_equal(&a, &c, sizeof(a));
            assert_memory_equal(&b, &c, sizeof(b));
        }
    }
    assert_true(STAT_GET(geo_cache_get_stats(cache)->hits) > 0);
    assert_int_equal(STAT_GET(geo_cache_get_stats(none)->hits), 0);
    geo_cache_free(cache);
    geo_cache_free(none);
    geo_holder_free(h);
}

static void test_snapshot_errors_name_the_file(void **state)
{
    char err[512] = "";
    const char *db = corpus_db("GeoLite2-ASN-Test");
    geo_snapshot_config c = {&db, 1, tmp_path("no-such-dir"), NULL};

    (void)state;
    assert_null(geo_snapshot_load(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "no-such-dir/asn.csv"));
    write_file(tmp_path("badinv.csv"), "cidr,provider,region,sku,tenant\n1.2.3.0/33,x,,,\n", 47);
    c.indicators_dir = NULL;
    c.inventory = tmp_path("badinv.csv");
    assert_null(geo_snapshot_load(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "badinv.csv:2:"));
}

static void test_default_db_search(void **state)
{
    char buf[1024];

    (void)state;
    mkdir(tmp_path("share"), 0755);
    mkdir(tmp_path("src"), 0755);
    mkdir(tmp_path("src/data"), 0755);
    mkdir(tmp_path("src/data/geo"), 0755);
    assert_null(geo_default_db(tmp_path("share"), tmp_path("src"), buf, sizeof(buf)));
    write_file(tmp_path("src/data/geo/loophole-geo.mmdb"), "x", 1);
    assert_string_equal(geo_default_db(tmp_path("share"), tmp_path("src"), buf, sizeof(buf)),
                        tmp_path("src/data/geo/loophole-geo.mmdb"));
    write_file(tmp_path("share/loophole-geo.mmdb"), "x", 1);
    assert_string_equal(geo_default_db(tmp_path("share"), tmp_path("src"), buf, sizeof(buf)),
                        tmp_path("share/loophole-geo.mmdb"));
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_geo.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[300];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maxmind_country_and_city),
        cmocka_unit_test(test_maxmind_asn),
        cmocka_unit_test(test_country_plus_asn_files),
        cmocka_unit_test(test_special_ranges),
        cmocka_unit_test(test_bad_databases),
        cmocka_unit_test(test_built_merged_vs_separate),
        cmocka_unit_test(test_long_org_is_cut_on_a_character),
        cmocka_unit_test(test_snapshot_and_cache),
        cmocka_unit_test(test_cache_agrees_with_snapshot),
        cmocka_unit_test(test_snapshot_errors_name_the_file),
        cmocka_unit_test(test_default_db_search),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
