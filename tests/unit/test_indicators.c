/* test_indicators.c -- suffix tables and the indicator files.
 *
 * Suffix matching on label boundaries ("evil-aliyuncs.com" is not
 * "aliyuncs.com"), case, trailing dots, ports, longest suffix; the three
 * table formats with their errors as FILE:LINE; later rows overriding
 * earlier ones; and the shipped tables in data/indicators, which must load
 * and answer the facts they were written from.
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

#include "geo/indicators.h"
#include "geo/names.h"

static int v_a = 1, v_b = 2, v_c = 3;

static void *match(const names_table *t, const char *host)
{
    return names_match(t, host, strlen(host));
}

static void add(names_table *t, const char *name, void *v)
{
    void *old;
    const char *why;
    if (names_add(t, name, strlen(name), v, &old, &why) != 0)
        fail_msg("%s: %s", name, why);
}

static void test_suffix_boundaries(void **state)
{
    names_table *t = names_new();

    (void)state;
    add(t, "aliyuncs.com", &v_a);
    add(t, "*.oss-cn-beijing.aliyuncs.com", &v_b);
    add(t, ".ngrok.io", &v_c);
    assert_ptr_equal(match(t, "aliyuncs.com"), &v_a);
    assert_ptr_equal(match(t, "x.aliyuncs.com"), &v_a);
    assert_ptr_equal(match(t, "bucket.oss-cn-hangzhou.aliyuncs.com"), &v_a);
    assert_null(match(t, "evil-aliyuncs.com"));
    assert_null(match(t, "aliyuncs.com.evil.net"));
    assert_null(match(t, "liyuncs.com"));
    assert_null(match(t, "com"));
    /* the longest listed suffix wins, and "*." means the name itself too */
    assert_ptr_equal(match(t, "b.oss-cn-beijing.aliyuncs.com"), &v_b);
    assert_ptr_equal(match(t, "oss-cn-beijing.aliyuncs.com"), &v_b);
    assert_ptr_equal(match(t, "abc.ngrok.io"), &v_c);
    assert_ptr_equal(match(t, "ngrok.io"), &v_c);
    names_free(t);
}

static void test_suffix_case_dots_ports(void **state)
{
    names_table *t = names_new();

    (void)state;
    add(t, "Hf-Mirror.COM.", &v_a);
    assert_int_equal(names_count(t), 1);
    assert_ptr_equal(match(t, "hf-mirror.com"), &v_a);
    assert_ptr_equal(match(t, "HF-MIRROR.COM"), &v_a);
    assert_ptr_equal(match(t, "cdn.hf-mirror.com."), &v_a);
    assert_ptr_equal(match(t, "hf-mirror.com:443"), &v_a);
    assert_null(match(t, "hf-mirror.com.."));
    assert_null(match(t, ".hf-mirror.com"));
    assert_null(match(t, "a..hf-mirror.com"));
    assert_null(match(t, ""));
    assert_null(match(t, "."));
    assert_null(match(t, "hf-mirror.co"));
    assert_null(names_match(t, "hf-mirror.com", 12)); /* length, not NUL, ends it */
    assert_null(match(t, "x\xff.hf-mirror.com"));     /* hostile bytes never match */
    /* replacing keeps one entry */
    void *old;
    const char *why;
    assert_int_equal(names_add(t, "hf-mirror.com", 13, &v_b, &old, &why), 0);
    assert_ptr_equal(old, &v_a);
    assert_int_equal(names_count(t), 1);
    assert_ptr_equal(match(t, "hf-mirror.com"), &v_b);
    /* bad names */
    assert_int_equal(names_add(t, "", 0, &v_a, &old, &why), -1);
    assert_int_equal(names_add(t, "a..b", 4, &v_a, &old, &why), -1);
    assert_int_equal(names_add(t, "a b.com", 7, &v_a, &old, &why), -1);
    assert_int_equal(names_add(t, "*.", 2, &v_a, &old, &why), -1);
    names_free(t);
}

static void test_suffix_many_names(void **state)
{
    names_table *t = names_new();
    char name[64];

    (void)state;
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "h%d.example%d.net", i, i % 7);
        add(t, name, (void *)(intptr_t)(i + 1));
    }
    assert_int_equal(names_count(t), 5000);
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "deep.x.h%d.example%d.net", i, i % 7);
        assert_int_equal((intptr_t)match(t, name), i + 1);
        snprintf(name, sizeof(name), "h%d.example%d.net", i, (i + 1) % 7);
        assert_null(match(t, name));
    }
    names_free(t);
}

static indicators *parse(indicators_kind kind, const char *text, char *err, size_t errlen)
{
    indicators *in = indicators_new();
    assert_non_null(in);
    if (indicators_parse(in, kind, "t.csv", text, strlen(text), err, errlen) != 0) {
        indicators_free(in);
        return NULL;
    }
    return in;
}

static void test_tables(void **state)
{
    char err[512] = "";
    pkt_addr a;

    (void)state;
    indicators *in = indicators_new();
    const char asn[] = "asn,category,name\n398090,gpu_cloud,Lambda\nAS56040-AS56042,"
                       "china_telecom,China Mobile\n16509,hyperscaler,\n";
    const char nets[] = "cidr,category,name\n104.171.200.0/22,gpu_cloud,Lambda\n"
                        "104.171.200.17,gpu_cloud,Lambda host\n2400:3200::1,cn_resolver,AliDNS\n";
    const char doms[] = "suffix,category,name\naliyuncs.com,cn_storage,\"Alibaba, OSS\"\n";
    assert_int_equal(indicators_parse(in, INDICATORS_ASN, "a", asn, strlen(asn), err, 512), 0);
    assert_int_equal(indicators_parse(in, INDICATORS_NETWORKS, "n", nets, strlen(nets), err, 512),
                     0);
    assert_int_equal(indicators_parse(in, INDICATORS_DOMAINS, "d", doms, strlen(doms), err, 512),
                     0);
    assert_string_equal(indicators_asn(in, 398090)->name, "Lambda");
    assert_string_equal(indicators_asn(in, 56041)->category, "china_telecom");
    assert_non_null(indicators_asn(in, 56042));
    assert_null(indicators_asn(in, 56043));
    assert_null(indicators_asn(in, 56039));
    assert_null(indicators_asn(in, 16509)->name);
    assert_null(indicators_asn(in, 0));
    assert_int_equal(indicators_count(in, INDICATORS_ASN), 5);
    pkt_addr_parse("104.171.200.17", &a);
    assert_string_equal(indicators_network(in, &a)->name, "Lambda host");
    pkt_addr_parse("104.171.200.18", &a);
    assert_string_equal(indicators_network(in, &a)->name, "Lambda");
    pkt_addr_parse("2400:3200::1", &a);
    assert_string_equal(indicators_network(in, &a)->category, "cn_resolver");
    pkt_addr_parse("2400:3200::2", &a);
    assert_null(indicators_network(in, &a));
    assert_string_equal(indicators_domain(in, "OSS-CN-HANGZHOU.ALIYUNCS.COM.", 29)->name,
                        "Alibaba, OSS");
    assert_null(indicators_domain(in, "evil-aliyuncs.com", 17));
    /* a second file overrides rows of the first */
    const char site[] = "asn,category,name\n16509,gpu_cloud,Our AWS GPU account\n";
    assert_int_equal(indicators_parse(in, INDICATORS_ASN, "s", site, strlen(site), err, 512), 0);
    assert_string_equal(indicators_asn(in, 16509)->category, "gpu_cloud");
    assert_string_equal(indicators_asn(in, 398090)->name, "Lambda");
    indicators_free(in);
}

static void expect_error(indicators_kind kind, const char *text, const char *want)
{
    char err[512] = "";

    assert_null(parse(kind, text, err, sizeof(err)));
    if (strstr(err, want) == NULL)
        fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void test_table_errors(void **state)
{
    (void)state;
    expect_error(INDICATORS_ASN, "", "t.csv: empty");
    expect_error(INDICATORS_ASN, "cidr,category,name\n", "t.csv:1: expected the header asn,");
    expect_error(INDICATORS_ASN, "asn,category,name\n\n12x,hosting,x\n", "t.csv:3: not an AS");
    expect_error(INDICATORS_ASN, "asn,category,name\n5-4,hosting,x\n", "t.csv:2: not an AS");
    expect_error(INDICATORS_ASN, "asn,category,name\n1-99999,hosting,x\n", "t.csv:2:");
    expect_error(INDICATORS_ASN, "asn,category,name\n4294967296,hosting,x\n", "t.csv:2:");
    expect_error(INDICATORS_ASN, "asn,category,name\n1,Hosting,x\n", "t.csv:2: category");
    expect_error(INDICATORS_ASN, "asn,category,name\n1,,x\n", "t.csv:2: category");
    expect_error(INDICATORS_ASN, "asn,category,name\n1,hosting\n", "t.csv:2: expected 3 fields");
    expect_error(INDICATORS_NETWORKS, "cidr,category,name\n1.2.3.4/40,x,y\n",
                 "t.csv:2: prefix length");
    expect_error(INDICATORS_NETWORKS, "suffix,category,name\n", "t.csv:1: expected the header");
    expect_error(INDICATORS_DOMAINS, "suffix,category,name\nbad name.com,x,y\n",
                 "t.csv:2: not a domain name");
    expect_error(INDICATORS_DOMAINS, "suffix,category,name\n\"a.com,x,y\n", "t.csv:2: unclosed");
    expect_error(INDICATORS_CONTROLS, "", "t.csv: empty");
    expect_error(INDICATORS_CONTROLS, "kind,by,pattern\n", "t.csv:1: expected the header kind,by");
    expect_error(INDICATORS_CONTROLS, "kind,by,match,apps\nssh,port,tcp/22\n",
                 "t.csv:2: expected 4 fields");
    expect_error(INDICATORS_CONTROLS, "kind,by,match,apps\nSSH,app,SSH,\n", "t.csv:2: kind");
    expect_error(INDICATORS_CONTROLS, "kind,by,match,apps\nssh,sni,a.com,\n", "t.csv:2: by must");
    expect_error(INDICATORS_CONTROLS, "kind,by,match,apps\nx,name,a..com,\n", "empty label");
    expect_error(INDICATORS_CONTROLS, "kind,by,match,apps\nx,name,a b.com,\n", "t.csv:2: name");
    expect_error(INDICATORS_CONTROLS, "kind,by,match,apps\nx,path,api,\n", "t.csv:2: path");
    expect_error(INDICATORS_CONTROLS, "kind,by,match,apps\nx,port,tcp/0,\n", "t.csv:2: port");
    expect_error(INDICATORS_CONTROLS, "kind,by,match,apps\nx,port,sctp/22,\n", "t.csv:2: port");
    expect_error(INDICATORS_CONTROLS, "kind,by,match,apps\nx,port,tcp/9-8,\n", "t.csv:2: port");
    expect_error(INDICATORS_CONTROLS, "kind,by,match,apps\nx,port,tcp/65536,\n", "port");
    expect_error(INDICATORS_CONTROLS, "kind,by,match,apps\nx,port,tcp/22,TLS||\n", "apps must");
    expect_error(INDICATORS_CONTROLS, "kind,by,match,apps\nx,name,a.com,TLS\n", "port rules only");
}

static const char *shipped(void)
{
    static char dir[1024];
    const char *data = getenv("LOOPHOLE_TESTDATA");
    snprintf(dir, sizeof(dir), "%s/../../data/indicators", data ? data : "tests/data");
    return dir;
}

static void test_shipped_tables(void **state)
{
    char err[512] = "";
    pkt_addr a;
    static const struct {
        const char *host, *category;
    } names[] = {
        {"pypi.tuna.tsinghua.edu.cn", "cn_mirror"},
        {"hf-mirror.com", "cn_model_hub"},
        {"www.modelscope.cn", "cn_model_hub"},
        {"mybucket.oss-cn-beijing.aliyuncs.com", "cn_storage"},
        {"abc.mirror.aliyuncs.com", "cn_mirror"},
        {"bkt-125.cos.ap-shanghai.myqcloud.com", "cn_storage"},
        {"api.openai.com", "ai_api"},
        {"api.anthropic.com", "ai_api"},
        {"download.pytorch.org", "gpu_software"},
    };

    (void)state;
    indicators *in = indicators_load_dir(shipped(), err, sizeof(err));
    if (in == NULL)
        fail_msg("%s", err);
    assert_string_equal(indicators_asn(in, 398090)->category, "gpu_cloud");
    assert_string_equal(indicators_asn(in, 4134)->category, "china_telecom");
    assert_string_equal(indicators_asn(in, 56045)->category, "china_telecom");
    assert_string_equal(indicators_asn(in, 45102)->category, "china_cloud");
    assert_string_equal(indicators_asn(in, 16509)->category, "hyperscaler");
    assert_string_equal(indicators_asn(in, 20473)->category, "hosting");
    pkt_addr_parse("223.5.5.5", &a);
    assert_string_equal(indicators_network(in, &a)->name, "AliDNS");
    pkt_addr_parse("2400:da00::6666", &a);
    assert_string_equal(indicators_network(in, &a)->category, "cn_resolver");
    pkt_addr_parse("104.171.200.17", &a);
    assert_string_equal(indicators_network(in, &a)->category, "gpu_cloud");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const indicator *r = indicators_domain(in, names[i].host, strlen(names[i].host));
        if (r == NULL || strcmp(r->category, names[i].category) != 0)
            fail_msg("%s: got %s, want %s", names[i].host, r ? r->category : "nothing",
                     names[i].category);
    }
    assert_null(indicators_domain(in, "evil-aliyuncs.com", 17));
    /* control-session names are rules of controls.csv, no longer domains */
    assert_null(indicators_domain(in, "quic.cftunnel.com", 17));
    size_t n;
    const controls_rule *r = controls_rules(indicators_controls(in), &n);
    assert_int_equal(n, indicators_count(in, INDICATORS_CONTROLS));
    assert_true(n >= 100);
    assert_string_equal(r[0].kind, "ssh");
    assert_int_equal(r[0].by, CONTROLS_BY_APP);
    assert_string_equal(r[n - 1].kind, "remote_desktop:rustdesk");
    assert_int_equal(r[n - 1].by, CONTROLS_BY_PORT);
    assert_int_equal(r[n - 1].port_lo, 21115);
    assert_int_equal(r[n - 1].port_hi, 21119);
    assert_int_equal(r[n - 1].proto, 0);
    assert_string_equal(r[n - 1].apps, "Unknown");
    indicators_free(in);
    assert_null(indicators_load_dir("/nonexistent", err, sizeof(err)));
    assert_string_equal(err, "/nonexistent/asn.csv: No such file or directory");
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* generated/asn.csv and generated/networks.csv load first when present:
 * their rows count, and a hand-written row for the same key wins. */
static void test_generated_tables(void **state)
{
    char dir[] = "/tmp/lh-ind-XXXXXX", sub[64], err[512] = "";
    pkt_addr a;

    (void)state;
    assert_non_null(mkdtemp(dir));
    write_text(dir, "asn.csv", "asn,category,name\n20473,hosting,Vultr\n");
    write_text(dir, "networks.csv", "cidr,category,name\n203.0.113.0/25,tunnel_edge,Edge\n");
    write_text(dir, "domains.csv", "suffix,category,name\n");
    write_text(dir, "controls.csv", "kind,by,match,apps\nssh,app,SSH,\n");
    indicators *in = indicators_load_dir(dir, err, sizeof(err));
    if (in == NULL)
        fail_msg("%s", err);
    assert_null(indicators_asn(in, 64500));
    indicators_free(in);
    snprintf(sub, sizeof(sub), "%s/generated", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_text(sub, "asn.csv",
               "# derived\nasn,category,name\n20473,hyperscaler,Wrong\n64500,hosting,"
               "\"Example Hosting, Inc.\"\n");
    write_text(sub, "networks.csv", "cidr,category,name\n203.0.113.0/24,hosting,Wide\n");
    in = indicators_load_dir(dir, err, sizeof(err));
    if (in == NULL)
        fail_msg("%s", err);
    assert_string_equal(indicators_asn(in, 64500)->name, "Example Hosting, Inc.");
    assert_string_equal(indicators_asn(in, 20473)->category, "hosting"); /* hand-written wins */
    pkt_addr_parse("203.0.113.200", &a);
    assert_string_equal(indicators_network(in, &a)->name, "Wide");
    pkt_addr_parse("203.0.113.5", &a);
    assert_string_equal(indicators_network(in, &a)->name, "Edge");
    indicators_free(in);
    /* a broken generated table is an error naming it */
    write_text(sub, "asn.csv", "asn,category,name\nx,hosting,y\n");
    assert_null(indicators_load_dir(dir, err, sizeof(err)));
    if (strstr(err, "generated/asn.csv:2: not an AS") == NULL)
        fail_msg("%s", err);
    static const char *const files[] = {"generated/asn.csv", "generated/networks.csv",
                                        "asn.csv",           "networks.csv",
                                        "domains.csv",       "controls.csv"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(sub);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suffix_boundaries), cmocka_unit_test(test_suffix_case_dots_ports),
        cmocka_unit_test(test_suffix_many_names), cmocka_unit_test(test_tables),
        cmocka_unit_test(test_table_errors),      cmocka_unit_test(test_shipped_tables),
        cmocka_unit_test(test_generated_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
