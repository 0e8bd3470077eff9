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
    redis_url u;
    char err[256];

    (void)state;
    assert_int_equal(redis_url_parse(&u, "redis://h.example:6380/2", NULL, err, sizeof(err)), 0);
    assert_string_equal(u.host, "h.example");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 2);
    assert_null(u.user);
    assert_null(u.password);
    redis_url_free(&u);
    assert_int_equal(redis_url_parse(&u, "redis://[::1]", NULL, err, sizeof(err)), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 6379);
    redis_url_free(&u);
    assert_int_equal(redis_url_parse(&u, "redis://us%40r:p%3Aw@h", NULL, err, sizeof(err)), 0);
    assert_string_equal(u.user, "us@r");
    assert_string_equal(u.password, "p:w");
    redis_url_free(&u);
    assert_int_equal(redis_url_parse(&u, "redis://:pw@h", "env", err, sizeof(err)), 0);
    assert_null(u.user);
    assert_string_equal(u.password, "pw"); /* the URL wins */
    redis_url_free(&u);
    assert_int_equal(redis_url_parse(&u, "redis://bob@h", "envpw", err, sizeof(err)), 0);
    assert_string_equal(u.user, "bob");
    assert_string_equal(u.password, "envpw");
    redis_url_free(&u);
    assert_int_equal(redis_url_parse(&u, "unix:///run/r.sock?db=4", NULL, err, sizeof(err)), 0);
    assert_string_equal(u.path, "/run/r.sock");
    assert_null(u.host);
    assert_int_equal(u.db, 4);
    redis_url_free(&u);
}

static void test_refusals(void **state)
{
    static const char *const bad[] = {
        "http://h",        "redis://",       "redis://h:0",
        "redis://h:70000", "redis://h/x",    "redis://[::1",
        "unix://rel",      "unix:///s?db=x", "redis://u:%zzsecret@h",
        "redis://u:%00@h", "redis://h:12ab",
    };
    redis_url u;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (redis_url_parse(&u, bad[i], NULL, err, sizeof(err)) == 0)
            fail_msg("accepted %s", bad[i]);
        assert_null(strstr(err, "secret"));
        redis_url_free(&u);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_forms),
                                       cmocka_unit_test(test_refusals)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
