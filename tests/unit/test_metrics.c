/* test_metrics.c -- Prometheus text of the counters (app/metrics.c).
 *
 * A counters object of --stats's form is rendered and read back line by
 * line: every sample carries the sensor label (escaped as the exposition
 * format asks), objects of counts become one series per key, the Redis
 * latency is one summary family in seconds, and fields the object lacks
 * are left out. tests/system/metrics_prometheus.sh has node_exporter read
 * the file.
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
#include <jansson.h>

#include "app/metrics.h"

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_render(void **state)
{
    json_t *o = json_pack("{s:s, s:I, s:{s:I, s:I}, s:I, s:I, s:I, s:{s:I}}", "sensor", "a\"b\\c",
                          "packets", (json_int_t)1234, "drop_reasons", "kernel", (json_int_t)3,
                          "bad_tunnel", (json_int_t)1, "redis_round_trips", (json_int_t)4,
                          "redis_round_trip_us", (json_int_t)2500000, "alerts", (json_int_t)2,
                          "alerts_by_rule", "cn_footprint", (json_int_t)2);
    char *t;

    (void)state;
    assert_non_null(o);
    t = metrics_render(o);
    assert_non_null(t);
    assert_non_null(strstr(t, "loophole_packets_total{sensor=\"a\\\"b\\\\c\"} 1234\n"));
    assert_non_null(
        strstr(t, "loophole_drops_by_reason_total{sensor=\"a\\\"b\\\\c\",reason=\"kernel\"} 3\n"));
    assert_non_null(strstr(
        t, "loophole_drops_by_reason_total{sensor=\"a\\\"b\\\\c\",reason=\"bad_tunnel\"} 1\n"));
    assert_int_equal(count(t, "# TYPE loophole_redis_round_trip_seconds summary\n"), 1);
    assert_non_null(
        strstr(t, "loophole_redis_round_trip_seconds_count{sensor=\"a\\\"b\\\\c\"} 4\n"));
    assert_non_null(
        strstr(t, "loophole_redis_round_trip_seconds_sum{sensor=\"a\\\"b\\\\c\"} 2.500000\n"));
    assert_non_null(
        strstr(t, "loophole_rule_alerts_total{sensor=\"a\\\"b\\\\c\",rule=\"cn_footprint\"} 2\n"));
    assert_non_null(strstr(t, "# TYPE loophole_alerts_total counter\n"));
    assert_null(strstr(t, "loophole_flows_active")); /* not in the object */
    free(t);
    json_decref(o);
}

static void test_textfile(void **state)
{
    char dir[] = "/tmp/test_metrics.XXXXXX", path[64], err[256];
    json_t *o = json_pack("{s:s, s:I}", "sensor", "s1", "packets", (json_int_t)7);
    FILE *f;
    char buf[4096];
    size_t n;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/x.prom", dir);
    assert_int_equal(metrics_write_textfile(path, o, err, sizeof(err)), 0);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_non_null(strstr(buf, "loophole_packets_total{sensor=\"s1\"} 7\n"));
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
    /* A directory that does not exist: an error naming the file. */
    snprintf(path, sizeof(path), "%s/x.prom", dir);
    assert_int_equal(metrics_write_textfile(path, o, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "x.prom.tmp"));
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_textfile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
