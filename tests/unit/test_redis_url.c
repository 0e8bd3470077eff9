/* test_redis_url.c -- --redis URL parsing: every accepted form, the
 * password from the environment, %-escapes, and refusals that never echo
 * the password. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "redis/url.h"

static void test_forms(void **state)
{
    rurl u;
    char err[256];

    (void)state;
    assert_int_equal(rurl_parse(&u, "redis://h.example:6380/2", NULL, err, sizeof(err)), 0);
    assert_string_equal(u.host, "h.example");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 2);
    assert_null(u.user);
    assert_null(u.password);
    rurl_free(&u);
    assert_int_equal(rurl_parse(&u, "redis://[::1]", NULL, err, sizeof(err)), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 6379);
    rurl_free(&u);
    assert_int_equal(rurl_parse(&u, "redis://us%40r:p%3Aw@h", NULL, err, sizeof(err)), 0);
    assert_string_equal(u.user, "us@r");
    assert_string_equal(u.password, "p:w");
    rurl_free(&u);
    assert_int_equal(rurl_parse(&u, "redis://:pw@h", "env", err, sizeof(err)), 0);
    assert_null(u.user);
    assert_string_equal(u.password, "pw"); /* the URL wins */
    rurl_free(&u);
    assert_int_equal(rurl_parse(&u, "redis://bob@h", "envpw", err, sizeof(err)), 0);
    assert_string_equal(u.user, "bob");
    assert_string_equal(u.password, "envpw");
    rurl_free(&u);
    assert_int_equal(rurl_parse(&u, "unix:///run/r.sock?db=4", NULL, err, sizeof(err)), 0);
    assert_string_equal(u.path, "/run/r.sock");
    assert_null(u.host);
    assert_int_equal(u.db, 4);
    rurl_free(&u);
}

static void test_cluster(void **state)
{
    rurl u;
    char err[256];

    (void)state;
    assert_int_equal(rurl_parse(&u, "redis+cluster://sensor:pw@10.0.0.1:7000,[::1]:7001,h", NULL,
                                err, sizeof(err)),
                     0);
    assert_true(u.cluster);
    assert_int_equal(u.nseeds, 3);
    assert_string_equal(u.seeds[0].host, "10.0.0.1");
    assert_int_equal(u.seeds[0].port, 7000);
    assert_string_equal(u.seeds[1].host, "::1");
    assert_int_equal(u.seeds[1].port, 7001);
    assert_string_equal(u.seeds[2].host, "h");
    assert_int_equal(u.seeds[2].port, 6379);
    assert_string_equal(u.host, "10.0.0.1"); /* the first seed, for messages */
    assert_string_equal(u.user, "sensor");
    assert_string_equal(u.password, "pw");
    rurl_free(&u);
    /* no database in a cluster, no empty seed, a bad port named */
    assert_int_equal(rurl_parse(&u, "redis+cluster://h:7000/1", NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no database"));
    rurl_free(&u);
    assert_int_equal(rurl_parse(&u, "redis+cluster://h:7000,,h:7001", NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "seeds"));
    rurl_free(&u);
    assert_int_equal(rurl_parse(&u, "redis+cluster://", NULL, err, sizeof(err)), -1);
    rurl_free(&u);
    assert_int_equal(rurl_parse(&u, "redis+cluster://:s3cret@h:99999", NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "99999"));
    assert_null(strstr(err, "s3cret"));
    rurl_free(&u);
}

static void test_refusals(void **state)
{
    static const char *const bad[] = {
        "http://h",        "redis://",       "redis://h:0",
        "redis://h:70000", "redis://h/x",    "redis://[::1",
        "unix://rel",      "unix:///s?db=x", "redis://u:%zzsecret@h",
        "redis://u:%00@h", "redis://h:12ab",
    };
    rurl u;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (rurl_parse(&u, bad[i], NULL, err, sizeof(err)) == 0)
            fail_msg("accepted %s", bad[i]);
        assert_null(strstr(err, "secret"));
        rurl_free(&u);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_forms), cmocka_unit_test(test_cluster),
                                       cmocka_unit_test(test_refusals)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
