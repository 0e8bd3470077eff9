/* test_journal.c -- the on-disk event journal: order, delivery, the bound,
 * reopening, a torn tail, and the lock against a second user. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "redis/journal.h"

static char path[64];

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof(path), "/tmp/lhtest-journal.XXXXXX");
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static void append_n(journal *j, int from, int to)
{
    char buf[64], err[256];
    for (int i = from; i < to; i++) {
        int n = snprintf(buf, sizeof(buf), "event-%d", i);
        assert_int_equal(journal_append(j, buf, (size_t)n, err, sizeof(err)), 0);
    }
}

/* Reads the next record and checks it is event-i. */
static void expect(journal *j, int i)
{
    char want[64], err[256];
    size_t len;
    int failed;
    void *p = journal_next(j, &len, &failed, err, sizeof(err));

    assert_non_null(p);
    assert_int_equal(len, (size_t)snprintf(want, sizeof(want), "event-%d", i));
    assert_memory_equal(p, want, len);
    free(p);
}

static void test_order_and_delivery(void **state)
{
    char err[256];
    uint64_t torn;
    size_t len;
    int failed;
    journal *j = journal_open(path, 1 << 20, &torn, err, sizeof(err));

    (void)state;
    assert_non_null(j);
    append_n(j, 0, 10);
    assert_int_equal(journal_pending(j), 10);
    for (int i = 0; i < 4; i++)
        expect(j, i);
    /* only 3 delivered: the 4th comes again after a rewind */
    assert_int_equal(journal_consume(j, 3, err, sizeof(err)), 0);
    journal_rewind(j);
    expect(j, 3);
    journal_close(j, 0);
    /* reopened: the delivered offset survived, order kept */
    j = journal_open(path, 1 << 20, &torn, err, sizeof(err));
    assert_int_equal(torn, 0);
    assert_int_equal(journal_pending(j), 7);
    for (int i = 3; i < 10; i++)
        expect(j, i);
    assert_null(journal_next(j, &len, &failed, err, sizeof(err)));
    assert_int_equal(failed, 0);
    assert_int_equal(journal_consume(j, 7, err, sizeof(err)), 0);
    assert_int_equal(journal_bytes(j), 0); /* cut back to its header */
    journal_close(j, 1);
    assert_int_equal(access(path, F_OK), -1);
}

static void test_bound_and_torn_tail(void **state)
{
    char err[256], big[100] = {0};
    uint64_t torn;
    journal *j = journal_open(path, 16 + 3 * 108, &torn, err, sizeof(err));

    (void)state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(journal_append(j, big, sizeof(big), err, sizeof(err)), 0);
    assert_int_equal(journal_append(j, big, sizeof(big), err, sizeof(err)), 1);
    /* a second process cannot share it */
    uint64_t t2;
    assert_null(journal_open(path, 1 << 20, &t2, err, sizeof(err)));
    assert_non_null(strstr(err, "in use"));
    journal_close(j, 0);
    /* a torn last record is cut off, the others stay */
    int fd = open(path, O_WRONLY);
    assert_int_equal(ftruncate(fd, 16 + 2 * 108 + 50), 0);
    close(fd);
    j = journal_open(path, 1 << 20, &torn, err, sizeof(err));
    assert_int_equal(torn, 50);
    assert_int_equal(journal_pending(j), 2);
    journal_close(j, 0);
    /* not a journal at all */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "hello, not a journal", 20), 20);
    close(fd);
    assert_null(journal_open(path, 1 << 20, &torn, err, sizeof(err)));
    assert_non_null(strstr(err, "not a loophole journal"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_and_delivery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bound_and_torn_tail, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
