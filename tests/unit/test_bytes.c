/* test_bytes.c -- unit tests of base/bytes.h: decimal digits as printf's
 * %llu writes them, around every change in their count and at the ends of
 * the range; a buffer that grows by put and reserve, keeps room for a NUL,
 * refuses a size that cannot fit without changing, and is usable again
 * after bytes_free().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/bytes.h"

static void same_as_printf(uint64_t v)
{
    char want[32], got[32];
    int n = snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
    size_t k = bytes_digits(got, v);

    assert_int_equal(k, (size_t)n);
    assert_memory_equal(got, want, k);
}

static void test_digits(void **state)
{
    uint64_t p = 1, x = 88172645463325252ull;

    (void)state;
    same_as_printf(0);
    same_as_printf(UINT64_MAX);
    same_as_printf(UINT64_MAX - 1);
    for (int i = 0; i < 20; i++) { /* 10^i - 1, 10^i, 10^i + 1 */
        same_as_printf(p - 1);
        same_as_printf(p);
        same_as_printf(p + 1);
        p *= 10;
    }
    for (int i = 0; i < 10000; i++) { /* xorshift: every magnitude */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        same_as_printf(x >> (i % 64));
    }
}

static void test_buffer(void **state)
{
    bytes_buf b = {0};
    char big[1000];

    (void)state;
    memset(big, 'x', sizeof(big));
    assert_int_equal(bytes_putc(&b, 'a'), 0);
    assert_int_equal(bytes_put(&b, "bc", 2), 0);
    assert_true(b.cap > b.len); /* room for a NUL */
    for (int i = 0; i < 100; i++)
        assert_int_equal(bytes_put(&b, big, sizeof(big)), 0);
    assert_int_equal(b.len, 3 + 100 * sizeof(big));
    assert_true(b.cap > b.len);
    assert_memory_equal(b.p, "abcxxx", 6);
    assert_int_equal(b.p[b.len - 1], 'x');
    /* reserve: room for n more and a NUL, nothing written */
    size_t len = b.len;
    assert_int_equal(bytes_reserve(&b, 5000), 0);
    assert_true(b.cap - b.len > 5000);
    assert_int_equal(b.len, len);
    /* a size that cannot fit fails and leaves the buffer as it was */
    char *p = b.p;
    size_t cap = b.cap;
    assert_int_equal(bytes_reserve(&b, SIZE_MAX - 1), -1);
    assert_int_equal(bytes_reserve(&b, SIZE_MAX / 2), -1);
    assert_ptr_equal(b.p, p);
    assert_int_equal(b.cap, cap);
    assert_int_equal(b.len, len);
    bytes_free(&b);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    /* usable again */
    assert_int_equal(bytes_put(&b, "z", 1), 0);
    assert_int_equal(b.len, 1);
    bytes_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digits),
        cmocka_unit_test(test_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
