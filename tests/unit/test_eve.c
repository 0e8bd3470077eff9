/* test_eve.c -- EVE alert conversion (app/eve.c).
 *
 * The signature_id of every rule must be the one docs/siem.md's table has
 * given it (ids are never changed or reused), every rule of the contract
 * must have one, and a native alert must come out as an EVE event with
 * the deciding flow's five-tuple, EVE's severity order and the native
 * alert under "loophole". The system test tests/system/eve_alerts.sh does
 * the same on every rule's scenario.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "app/eve.h"

/* The rule ids of interface.md section 2. */
static const char *const contract_rules[] = {
    "cn_direct_control", "relay_control",       "proxy_latency", "stepping_stone",
    "reseller_fanout",   "shared_access_fanin", "cn_footprint",  "weights_egress",
    "reverse_tunnel",    "ai_api_relay",        "cn_timezone",
};

static char *read_doc(void)
{
    const char *data = getenv("LOOPHOLE_TESTDATA");
    char path[4096];
    FILE *f;
    char *buf;
    long n;

    assert_non_null(data);
    snprintf(path, sizeof(path), "%s/../../docs/siem.md", data);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_table_matches_docs(void **state)
{
    size_t n;
    const eve_rule *t = eve_rules(&n);
    char *doc = read_doc();
    char row[256];

    (void)state;
    assert_int_equal(n, sizeof(contract_rules) / sizeof(contract_rules[0]));
    for (size_t i = 0; i < n; i++) {
        snprintf(row, sizeof(row), "| `%s` | %u | %s |", t[i].rule, t[i].sid, t[i].signature);
        if (!strstr(doc, row))
            fail_msg("docs/siem.md has no row \"%s\"", row);
        assert_true(t[i].sid >= 1797000 && t[i].sid < EVE_SID_UNLISTED);
        for (size_t j = 0; j < i; j++)
            assert_int_not_equal(t[i].sid, t[j].sid);
    }
    for (size_t i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < n && strcmp(t[j].rule, contract_rules[i]) != 0; j++)
            ;
        if (j == n)
            fail_msg("rule %s has no signature_id", contract_rules[i]);
    }
    free(doc);
}

static json_t *convert(const char *native)
{
    size_t len = 0;
    char *line = eve_from_alert(native, strlen(native), &len);
    json_t *o;

    assert_non_null(line);
    assert_int_equal(strlen(line), len);
    o = json_loads(line, 0, NULL);
    assert_non_null(o);
    free(line);
    return o;
}

static void test_convert(void **state)
{
    const char *native =
        "{\"ts\":\"2026-03-02T09:00:06.514602Z\",\"event_type\":\"alert\",\"sensor\":\"s1\","
        "\"rule\":\"proxy_latency\",\"severity\":\"medium\",\"entity\":{\"role\":\"relay\","
        "\"ip\":\"2001:db8::5\"},\"evidence\":[{\"flow\":{\"src\":\"[2001:db8::5]:42361\","
        "\"dst\":\"[2001:db8::17]:22\",\"proto\":\"tcp\",\"community_id\":"
        "\"1:tgXrYsOFsL/wCLHatArQx/gqcLk=\",\"app\":\"TLS.Google\"},\"detail\":\"d\"}],"
        "\"summary\":\"s\",\"id\":\"abc\",\"score\":60}";
    json_t *o = convert(native), *l, *a;

    (void)state;
    assert_string_equal(json_string_value(json_object_get(o, "timestamp")),
                        "2026-03-02T09:00:06.514602+0000");
    assert_string_equal(json_string_value(json_object_get(o, "event_type")), "alert");
    assert_string_equal(json_string_value(json_object_get(o, "src_ip")), "2001:db8::5");
    assert_int_equal(json_integer_value(json_object_get(o, "src_port")), 42361);
    assert_string_equal(json_string_value(json_object_get(o, "dest_ip")), "2001:db8::17");
    assert_int_equal(json_integer_value(json_object_get(o, "dest_port")), 22);
    assert_string_equal(json_string_value(json_object_get(o, "proto")), "TCP");
    assert_string_equal(json_string_value(json_object_get(o, "app_proto")), "tls");
    /* the first 8 bytes of the id's hash, shifted right by 12 */
    assert_int_equal(json_integer_value(json_object_get(o, "flow_id")),
                     (json_int_t)(UINT64_C(0xb605eb62c385b0bf) >> 12));
    a = json_object_get(o, "alert");
    assert_int_equal(json_integer_value(json_object_get(a, "signature_id")), 1797003);
    assert_int_equal(json_integer_value(json_object_get(a, "severity")), 2);
    l = json_object_get(o, "loophole");
    assert_null(json_object_get(l, "ts"));
    assert_null(json_object_get(l, "event_type"));
    assert_int_equal(json_integer_value(json_object_get(l, "score")), 60);
    assert_string_equal(json_string_value(json_object_get(l, "rule")), "proxy_latency");
    json_decref(o);

    /* An unlisted rule, no evidence: the id for unlisted rules, no tuple. */
    o = convert("{\"ts\":\"x\",\"rule\":\"new_rule\",\"severity\":\"critical\",\"evidence\":[]}");
    a = json_object_get(o, "alert");
    assert_int_equal(json_integer_value(json_object_get(a, "signature_id")), EVE_SID_UNLISTED);
    assert_int_equal(json_integer_value(json_object_get(a, "severity")), 1);
    assert_string_equal(json_string_value(json_object_get(a, "signature")),
                        "LOOPHOLE new_rule rule");
    assert_null(json_object_get(o, "src_ip"));
    assert_null(json_object_get(o, "flow_id"));
    json_decref(o);
}

static void test_not_json(void **state)
{
    size_t len = 0;

    (void)state;
    assert_null(eve_from_alert("not json", 8, &len));
    assert_null(eve_from_alert("[1,2]", 5, &len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_docs),
        cmocka_unit_test(test_convert),
        cmocka_unit_test(test_not_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
