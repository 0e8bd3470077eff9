/* test_json_text.c -- unit tests of the compact JSON writer
 * (base/json_text.c): the same bytes as jansson's json_dumps() with the
 * sensor's flags, on values built to reach every rule of its string
 * escaping, numbers and nesting, and on every value of MaxMind's test
 * data (documents nobody here wrote, with names in many scripts), and
 * NULL wherever jansson fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glob.h>
#include <jansson.h>

#include "base/json_text.h"

#define FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)

/* jtext_dump(v) is json_dumps(v) at this precision; returns how many
 * values were compared (1). */
static int same_text(const json_t *v, int precision)
{
    size_t len = 0;
    char *want = json_dumps(v, FLAGS | JSON_REAL_PRECISION(precision));
    char *got = jtext_dump(v, precision, &len);

    assert_non_null(want);
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_int_equal(len, strlen(want));
    free(want);
    free(got);
    return 1;
}

/* v and every value inside it, at both precisions the sensor uses. */
static int same_tree(const json_t *v)
{
    int n = same_text(v, 0) + same_text(v, 9);

    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            n += same_tree(json_array_get(v, i));
    } else if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m) n += same_tree(m);
    }
    return n;
}

static void test_scalars(void **state)
{
    const json_int_t ints[] = {0,          1,         -1,       9, 10, 99, 100, 1234567890123LL,
                               -987654321, INT64_MAX, INT64_MIN};
    const double reals[] = {0.0,
                            -0.0,
                            1.0,
                            -1.5,
                            0.1,
                            1e-7,
                            1e21,
                            123456789.123456789,
                            3.14159265358979,
                            2.5e-300,
                            1.7976931348623157e308,
                            100.0};

    (void)state;
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        json_t *v = json_integer(ints[i]);
        same_tree(v);
        json_decref(v);
    }
    for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
        json_t *v = json_real(reals[i]);
        same_tree(v);
        json_decref(v);
    }
    json_t *v[] = {json_null(),     json_true(),  json_false(),
                   json_string(""), json_array(), json_object()};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        same_tree(v[i]);
        json_decref(v[i]);
    }
}

/* Every byte below 0x80 alone and inside text, multi-byte characters of
 * every length, NUL, and keys escaped like strings. */
static void test_strings(void **state)
{
    char s[8];
    json_t *o = json_object();

    (void)state;
    for (int c = 0; c < 0x80; c++) {
        s[0] = 'a', s[1] = (char)c, s[2] = 'z';
        json_t *v = json_stringn(s, 3);
        assert_non_null(v);
        same_tree(v);
        json_object_set_new(o, (char[]){(char)(c ? c : 'x'), '\0'}, v);
    }
    json_t *u = json_string("caf\xc3\xa9 \xe5\x8c\x97\xe4\xba\xac \xf0\x9f\x98\x80 \"q\" \\ /");
    json_object_set_new(o, "k\"e\\y\n\xc3\xa9", u);
    json_object_set_new(o, "nul", json_stringn("a\0b", 3));
    json_object_set_new(o, "\x7f", json_string("\x7f\x1f\x01"));
    same_tree(o);
    json_decref(o);
}

/* Invalid UTF-8 (made without jansson's check) and a container inside
 * itself: jansson fails both, and so must the writer. */
static void test_failures(void **state)
{
    static const char *bad[] = {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                "\xe2\x82", "\x80",         "ok\xff"};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *a = json_array();
        json_array_append_new(a, json_stringn_nocheck(bad[i], strlen(bad[i])));
        assert_null(json_dumps(a, FLAGS));
        assert_null(jtext_dump(a, 0, NULL));
        json_decref(a);
    }
    json_t *a = json_array(), *o = json_object();
    json_object_set(o, "self", a);
    json_array_append(a, o);
    assert_null(json_dumps(o, FLAGS));
    assert_null(jtext_dump(o, 0, NULL));
    json_array_clear(a); /* break the cycle so both can be freed */
    json_decref(a);
    json_decref(o);
}

/* Insertion order survives deletions and re-insertions, and deep nesting
 * of both containers. */
static void test_order_and_depth(void **state)
{
    json_t *o = json_object(), *deep = json_integer(7);

    (void)state;
    for (int i = 0; i < 40; i++) {
        char k[16];
        snprintf(k, sizeof(k), "m%d", (i * 17) % 40);
        json_object_set_new(o, k, json_integer(i));
    }
    json_object_del(o, "m3");
    json_object_set_new(o, "m3", json_string("back"));
    same_tree(o);
    for (int i = 0; i < 2000; i++) {
        json_t *c = i % 2 ? json_array() : json_object();
        if (i % 2)
            json_array_append_new(c, deep);
        else
            json_object_set_new(c, "d", deep);
        deep = c;
    }
    same_text(deep, 0);
    json_decref(deep);
    json_decref(o);
}

/* MaxMind's test data: every value of every document. */
static void test_maxmind_documents(void **state)
{
    const char *dir = getenv("LOOPHOLE_CORPUS");
    char pattern[4096];
    glob_t g;
    int values = 0;

    (void)state;
    if (!dir || !*dir)
        fail_msg("LOOPHOLE_CORPUS is not set: MaxMind's test data is needed");
    snprintf(pattern, sizeof(pattern), "%s/mmdb/*.json", dir);
    assert_int_equal(glob(pattern, 0, NULL, &g), 0);
    assert_true(g.gl_pathc >= 8);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        json_error_t err;
        json_t *doc = json_load_file(g.gl_pathv[i], JSON_DECODE_ANY, &err);
        if (doc == NULL)
            fail_msg("%s: %s", g.gl_pathv[i], err.text);
        values += same_tree(doc);
        json_decref(doc);
    }
    globfree(&g);
    assert_true(values > 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),           cmocka_unit_test(test_strings),
        cmocka_unit_test(test_failures),          cmocka_unit_test(test_order_and_depth),
        cmocka_unit_test(test_maxmind_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
