/* test_csl.c -- unit tests of comma-separated lists (base/csl.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/csl.h"

/* Splits s and checks its items against want (NULL-terminated). */
static void split(const char *s, const char *const *want)
{
    const char *p = s, *item;
    size_t len, i = 0;
    int more;

    do {
        more = csl_next(&p, &item, &len);
        assert_non_null(want[i]);
        assert_int_equal(len, strlen(want[i]));
        assert_memory_equal(item, want[i], len);
        i++;
    } while (more);
    assert_null(want[i]);
    assert_int_equal(*p, '\0');
}

static void test_items(void **state)
{
    (void)state;
    split("a", (const char *const[]){"a", NULL});
    split(" HK, mo ,SG\t", (const char *const[]){"HK", "mo", "SG", NULL});
    split("a.mmdb,,b.mmdb", (const char *const[]){"a.mmdb", "", "b.mmdb", NULL});
    split("port0,", (const char *const[]){"port0", "", NULL});
    split("", (const char *const[]){"", NULL});
    split(" x y ,z", (const char *const[]){"x y", "z", NULL});
}

static void test_blank(void **state)
{
    (void)state;
    assert_true(csl_blank(""));
    assert_true(csl_blank(" \t "));
    assert_false(csl_blank(" ,"));
    assert_false(csl_blank("a"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_items),
        cmocka_unit_test(test_blank),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
