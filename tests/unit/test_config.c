/* test_config.c -- the configuration module against real files and argv.
 *
 * Fixtures live in tests/data/config (LOOPHOLE_TESTDATA/config); cases that
 * need one odd line each write a small file into a temporary directory.
 * Error cases assert on the message, because the message is the interface:
 * it must name the file, the line and the key, or the flag.
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

#include "app/config.h"
#include "base/setting.h"

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define SEC UINT64_C(1000000)

static char tmpdir[64];

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

static const char *data_path(const char *name)
{
    static char buf[4096];
    const char *dir = getenv("LOOPHOLE_TESTDATA");

    snprintf(buf, sizeof buf, "%s/config/%s", dir ? dir : "tests/data", name);
    return buf;
}

/* Writes text into tmpdir/name and returns the path (static buffer). */
static const char *write_conf(const char *name, const char *text)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Runs config_parse_args on a fresh config over a NULL-terminated list. */
static int parse_argv(config *c, char *err, size_t errlen, ...)
{
    char *argv[64];
    int argc = 0, rc;
    va_list ap;
    const char *a;

    va_start(ap, errlen);
    argv[argc++] = strdup("loophole");
    while ((a = va_arg(ap, const char *)) != NULL && argc < 63)
        argv[argc++] = strdup(a);
    va_end(ap);
    argv[argc] = NULL;
    config_init(c);
    err[0] = '\0';
    rc = config_parse_args(c, argc, argv, err, errlen);
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    return rc;
}

#define PARSE(c, err, ...) parse_argv((c), (err), sizeof(err), __VA_ARGS__, (const char *)NULL)

/* Asserts that a failed parse left a message holding every given part. */
static void assert_err_has(const char *err, ...)
{
    va_list ap;
    const char *part;

    va_start(ap, err);
    while ((part = va_arg(ap, const char *)) != NULL) {
        if (strstr(err, part) == NULL)
            fail_msg("message \"%s\" lacks \"%s\"", err, part);
    }
    va_end(ap);
}

#define ERR_HAS(err, ...) assert_err_has((err), __VA_ARGS__, (const char *)NULL)

/* Loads text as a file named name and expects failure. */
static void expect_file_error(const char *name, const char *text, char *err, size_t errlen)
{
    config c;
    const char *path = write_conf(name, text);

    config_init(&c);
    assert_int_equal(config_load_file(&c, path, err, errlen), -1);
    config_free(&c);
}

static int setup_tmpdir(void **state)
{
    (void)state;
    /* mkdtemp's template ends in six 'X' that it replaces. */
    size_t n = (size_t)snprintf(tmpdir, sizeof tmpdir, "/tmp/test_config.");
    memset(tmpdir + n, 'X', 6);
    tmpdir[n + 6] = '\0';
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmpdir(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------------
 * Defaults and files
 * ---------------------------------------------------------------------- */

static void assert_defaults_except_sources(const config *c)
{
    assert_int_equal(c->capture.live.snaplen, 262144);
    assert_int_equal(c->capture.live.buffer_bytes, 256 * MiB);
    assert_int_equal(c->capture.live.promiscuous, 1);
    assert_int_equal(c->flows.max_flows, 1000000);
    assert_int_equal(c->queue_bytes, 4 * MiB);
    assert_int_equal(c->capture.decode.vxlan_port, 4789);
    assert_int_equal(c->capture.decode.geneve_port, 6081);
    /* what no key sets, from each module's init */
    assert_int_equal(c->capture.live.timeout_ms, 100);
    assert_int_equal(c->capture.decode.max_depth, 4);
    assert_int_equal(c->flows.linger_us, 5 * SEC);
    assert_string_equal(c->redis.prefix, "lh:");
    assert_int_equal(c->redis.stream_maxlen, 100000);
    assert_int_equal(c->redis.alert_retention_us, 30ull * 86400 * 1000000);
    assert_int_equal(c->redis.keep, 0);
    assert_int_equal(c->redis.journal_max_bytes, GiB);
    assert_int_equal(c->redis.flows, 0);
    assert_int_equal(c->redis.queue_bytes, 4 * MiB);
    assert_null(c->redis.peers);
    assert_int_equal(c->redis.peer_timeout_us, 60 * SEC);
    assert_string_equal(c->alerts_path, "-");
    assert_int_equal(c->stats_secs, 0);
    assert_int_equal(c->progress, 1);
    assert_int_equal(c->rules.nchina, 1);
    assert_string_equal(c->rules.china[0], "CN");
    assert_int_equal(c->rules.nrelay, 7);
    assert_string_equal(c->rules.relay[0], "HK");
    assert_string_equal(c->rules.relay[6], "MY");
    assert_int_equal(c->rules.egress_bytes, GiB);
    assert_int_equal(c->rules.egress_window_us, 3600 * SEC);
    assert_int_equal(c->rules.fanout_hosts, 5);
    assert_int_equal(c->rules.fanout_window_us, 86400 * SEC);
    assert_int_equal(c->rules.fanin_networks, 6);
    assert_int_equal(c->rules.fanin_window_us, 86400 * SEC);
    assert_int_equal(c->rules.proxy_latency_us, 25000);
    assert_int_equal(c->rules.stepping_delta_us, 80000);
    assert_int_equal(c->flows.idle_us, 120 * SEC);
    assert_int_equal(c->flows.active_us, 1800 * SEC);
    assert_int_equal(c->rules.footprint_services, 3);
    assert_int_equal(c->rules.footprint_window_us, 86400 * SEC);
    assert_int_equal(c->rules.ai_relay_clients, 20);
    assert_int_equal(c->rules.ai_relay_window_us, 3600 * SEC);
    assert_int_equal(c->rules.ai_relay_lag_us, 2 * SEC);
    assert_int_equal(c->rules.tunnel_min_us, 120 * SEC);
    assert_int_equal(c->rules.tunnel_bursts, 4);
    assert_int_equal(c->rules.tunnel_min_bytes, 4096);
}

static void test_defaults(void **state)
{
    config c;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    (void)state;
    config_init(&c);
    assert_defaults_except_sources(&c);
    assert_int_equal(c.nfiles, 0);
    assert_null(c.files);
    assert_null(c.capture.interface);
    assert_null(c.capture.filter);
    assert_int_equal(c.geo.ndbs, 0);
    assert_null(c.geo.inventory);
    assert_null(c.geo.indicators_dir);
    assert_null(c.redis.url);
    assert_null(c.redis.journal_path);
    assert_null(c.flows_path);
    assert_null(c.graph_path);
    assert_null(c.summary_path);
    assert_null(c.config_path);
    assert_int_equal(c.threads, cores > 16 ? 16 : (cores < 1 ? 1 : cores));
    assert_true(c.sensor != NULL && c.sensor[0] != '\0');
    config_free(&c);
    config_free(&c); /* zeroed: a second free is harmless */
}

static void test_full_file_sets_every_key(void **state)
{
    config c;
    char err[512] = "";

    (void)state;
    config_init(&c);
    if (config_load_file(&c, data_path("full.conf"), err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_string_equal(c.capture.interface, "eth1");
    assert_string_equal(c.capture.filter, "udp port 4789 or tcp");
    assert_int_equal(c.capture.live.snaplen, 9000);
    assert_int_equal(c.threads, 3);
    assert_int_equal(c.capture.live.buffer_bytes, 512 * MiB);
    assert_int_equal(c.capture.live.promiscuous, 0);
    assert_int_equal(c.flows.max_flows, 250000);
    assert_int_equal(c.queue_bytes, 8 * MiB);
    assert_int_equal(c.capture.decode.vxlan_port, 8472);
    assert_int_equal(c.capture.decode.geneve_port, 0);
    assert_int_equal(c.geo.ndbs, 4);
    assert_string_equal(c.geo.dbs[0], "/var/lib/loophole/country.mmdb");
    assert_string_equal(c.geo.dbs[1], "/var/lib/loophole/asn.mmdb");
    assert_string_equal(c.geo.dbs[2], "/var/lib/loophole/merged.mmdb");
    assert_string_equal(c.geo.dbs[3], "/var/lib/loophole/extra.mmdb");
    assert_string_equal(c.geo.inventory, "/etc/loophole/fleet.csv");
    assert_string_equal(c.geo.indicators_dir, "/etc/loophole/indicators");
    assert_string_equal(c.redis.url, "redis://sensor:s3cret@redis.example:6380/2");
    assert_string_equal(c.redis.prefix, "lhtest:");
    assert_int_equal(c.redis.stream_maxlen, 5000);
    assert_int_equal(c.redis.keep, 1);
    assert_string_equal(c.redis.journal_path, "/var/spool/loophole/journal");
    assert_int_equal(c.redis.journal_max_bytes, 2 * GiB);
    assert_int_equal(c.redis.flows, 1);
    assert_int_equal(c.redis.queue_bytes, 8 * MiB);
    assert_string_equal(c.alerts_path, "/var/log/loophole/alerts.jsonl");
    assert_string_equal(c.flows_path, "-");
    assert_string_equal(c.sensor, "edge-7");
    assert_int_equal(c.stats_secs, 60);
    assert_int_equal(c.rules.nchina, 1);
    assert_string_equal(c.rules.china[0], "CN");
    assert_int_equal(c.rules.nrelay, 3);
    assert_string_equal(c.rules.relay[0], "HK");
    assert_string_equal(c.rules.relay[1], "SG");
    assert_string_equal(c.rules.relay[2], "MO");
    assert_int_equal(c.rules.egress_bytes, 500000000);
    assert_int_equal(c.rules.egress_window_us, 1800 * SEC);
    assert_int_equal(c.rules.fanout_hosts, 9);
    assert_int_equal(c.rules.fanout_window_us, 12 * 3600 * SEC);
    assert_int_equal(c.rules.fanin_networks, 4);
    assert_int_equal(c.rules.fanin_window_us, 2 * 86400 * SEC);
    assert_int_equal(c.rules.proxy_latency_us, 40000);
    assert_int_equal(c.rules.stepping_delta_us, SEC);
    assert_int_equal(c.flows.idle_us, 90 * SEC);
    assert_int_equal(c.flows.active_us, 3600 * SEC);
    config_free(&c);
}

/* The example documents the defaults: with every ';key = value' line
 * uncommented it must load, and give the default of every key that has a
 * fixed one. */
static void test_example_states_the_defaults(void **state)
{
    static char text[16384];
    char src[4096], line[512], err[512] = "";
    const char *dir = getenv("LOOPHOLE_TESTDATA");
    size_t used = 0;
    int settings = 0;
    FILE *in;
    config c;

    (void)state;
    snprintf(src, sizeof src, "%s/../../docs/loophole.conf.example", dir ? dir : "tests/data");
    in = fopen(src, "r");
    assert_non_null(in);
    while (fgets(line, sizeof line, in)) {
        int setting = line[0] == ';' && line[1] >= 'a' && line[1] <= 'z';
        settings += setting;
        used += (size_t)snprintf(text + used, sizeof text - used, "%s", line + setting);
        assert_true(used < sizeof text);
    }
    fclose(in);
    assert_int_equal(settings, 56); /* 55 keys, [geo] db twice */

    config_init(&c);
    if (config_load_file(&c, write_conf("example.conf", text), err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_defaults_except_sources(&c);
    assert_int_equal(c.threads, 8);
    assert_string_equal(c.sensor, "sensor-1");
    assert_int_equal(c.geo.ndbs, 2);
    config_free(&c);
}

/* Every [thresholds] key, whichever module's table holds it, says where
 * its default comes from (issue 17: a paper, a protocol fact, a measured
 * distribution, or the operational reasoning behind it; never just "none
 * found"). */
static void test_thresholds_have_sources(void **state)
{
    const setting_key *k;
    int n = 0;

    (void)state;
    for (size_t i = 0; (k = config_setting(i, NULL)) != NULL; i++) {
        if (strcmp(k->section, "thresholds") != 0)
            continue;
        n++;
        if (k->def == NULL || k->source == NULL || strlen(k->source) < 10)
            fail_msg("[thresholds] %s: no default or no source", k->name);
        if (strncmp(k->source, "none", 4) == 0)
            fail_msg("[thresholds] %s: the source says none: %s", k->name, k->source);
    }
    assert_int_equal(n, 18); /* the rules' 16 and the flow table's 2: both tables walked */
}

/* docs/rules.md's table of thresholds has a row "| `key` | `default` |
 * source |" for each key, with the default the code's table gives. */
static void test_rules_md_states_the_thresholds(void **state)
{
    static char text[200000];
    char src[4096], row[2048];
    const char *dir = getenv("LOOPHOLE_TESTDATA");
    const setting_key *k;
    size_t len;
    FILE *in;

    (void)state;
    snprintf(src, sizeof src, "%s/../../docs/rules.md", dir ? dir : "tests/data");
    in = fopen(src, "r");
    assert_non_null(in);
    len = fread(text, 1, sizeof text - 1, in);
    fclose(in);
    assert_true(len < sizeof text - 1);
    text[len] = '\0';
    for (size_t i = 0; (k = config_setting(i, NULL)) != NULL; i++) {
        if (strcmp(k->section, "thresholds") != 0)
            continue;
        snprintf(row, sizeof row, "\n| `%s` | `%s` | ", k->name, k->def);
        if (strstr(text, row) == NULL)
            fail_msg("docs/rules.md has no row '| `%s` | `%s` |'", k->name, k->def);
    }
}

/* ------------------------------------------------------------------------
 * Flags
 * ---------------------------------------------------------------------- */

/* The hardening settings: --user and --wait-interface, and their keys. */
static void test_user_and_wait_interface(void **state)
{
    config c;
    char err[512];

    (void)state;
    assert_int_equal(PARSE(&c, err, "-i", "eth1"), CONFIG_OK);
    assert_null(c.user);
    assert_int_equal(c.capture.wait_interface, 0);
    config_free(&c);
    assert_int_equal(PARSE(&c, err, "-i", "eth1", "--user", "sensor", "--wait-interface"),
                     CONFIG_OK);
    assert_string_equal(c.user, "sensor");
    assert_int_equal(c.capture.wait_interface, 1);
    config_free(&c);
    config_init(&c);
    assert_int_equal(config_load_file(&c,
                                      write_conf("harden.conf", "[capture]\nuser = lh\n"
                                                                "wait_interface = yes\n"),
                                      err, sizeof err),
                     0);
    assert_string_equal(c.user, "lh");
    assert_int_equal(c.capture.wait_interface, 1);
    assert_int_not_equal(
        config_load_file(&c, write_conf("harden-bad.conf", "[capture]\nwait_interface = maybe\n"),
                         err, sizeof err),
        0);
    assert_non_null(strstr(err, "wait_interface"));
    config_free(&c);
}

static void test_flags_override_file(void **state)
{
    config c;
    char err[512];
    char conf[4096];

    (void)state;
    snprintf(conf, sizeof conf, "%s", data_path("live.conf"));
    assert_int_equal(PARSE(&c, err, "-c", conf, "--threads", "7", "-f", "udp", "--geo",
                           "/x/one.mmdb", "--geo", "/x/two.mmdb"),
                     CONFIG_OK);
    assert_string_equal(c.config_path, conf);
    assert_string_equal(c.capture.interface, "eth0"); /* from the file */
    assert_int_equal(c.threads, 7);
    assert_string_equal(c.capture.filter, "udp");
    assert_string_equal(c.sensor, "from-file");
    /* --geo replaces the file's list, and repeats append to each other */
    assert_int_equal(c.geo.ndbs, 2);
    assert_string_equal(c.geo.dbs[0], "/x/one.mmdb");
    assert_string_equal(c.geo.dbs[1], "/x/two.mmdb");
    config_free(&c);

    /* a flag before -c still wins: the file is loaded first */
    assert_int_equal(PARSE(&c, err, "--sensor", "from-flag", "-c", conf), CONFIG_OK);
    assert_string_equal(c.sensor, "from-flag");
    assert_int_equal(c.geo.ndbs, 2);
    assert_string_equal(c.geo.dbs[0], "/srv/geo/a.mmdb");
    config_free(&c);
}

static void test_r_replaces_file_interface(void **state)
{
    config c;
    char err[512];
    char conf[4096];

    (void)state;
    snprintf(conf, sizeof conf, "%s", data_path("live.conf"));
    assert_int_equal(PARSE(&c, err, "-c", conf, "-r", "day1.pcap"), CONFIG_OK);
    assert_null(c.capture.interface);
    assert_int_equal(c.nfiles, 1);
    config_free(&c);

    assert_int_equal(PARSE(&c, err, "-c", conf, "-i", "eth9"), CONFIG_OK);
    assert_string_equal(c.capture.interface, "eth9");
    config_free(&c);
}

static void test_every_flag(void **state)
{
    config c;
    char err[512];

    (void)state;
    assert_int_equal(PARSE(&c, err, "-i", "mirror0", "-f", "tcp port 22", "--geo", "a.mmdb",
                           "--inventory", "fleet.csv", "--indicators", "ind", "--redis",
                           "unix:///run/lh.sock", "--alerts", "alerts.jsonl", "--flows", "-",
                           "--sensor", "s1", "--threads", "64", "--snaplen", "1514", "--stats",
                           "30", "--max-flows", "5000", "--buffer", "64MiB", "--queue", "1GiB",
                           "--no-promisc", "--keep-redis"),
                     CONFIG_OK);
    assert_string_equal(c.capture.interface, "mirror0");
    assert_string_equal(c.capture.filter, "tcp port 22");
    assert_int_equal(c.geo.ndbs, 1);
    assert_string_equal(c.geo.dbs[0], "a.mmdb");
    assert_string_equal(c.geo.inventory, "fleet.csv");
    assert_string_equal(c.geo.indicators_dir, "ind");
    assert_string_equal(c.redis.url, "unix:///run/lh.sock");
    assert_string_equal(c.alerts_path, "alerts.jsonl");
    assert_string_equal(c.flows_path, "-");
    assert_string_equal(c.sensor, "s1");
    assert_int_equal(c.threads, 64);
    assert_int_equal(c.capture.live.snaplen, 1514);
    assert_int_equal(c.stats_secs, 30);
    assert_int_equal(c.flows.max_flows, 5000);
    assert_int_equal(c.capture.live.buffer_bytes, 64 * MiB);
    assert_int_equal(c.queue_bytes, GiB);
    assert_int_equal(c.capture.live.promiscuous, 0);
    assert_int_equal(c.redis.keep, 1);
    assert_null(c.config_path);
    config_free(&c);

    /* --name=value and unique prefixes, as getopt_long allows */
    assert_int_equal(PARSE(&c, err, "-rx.pcap", "--threads=3", "--max=9"), CONFIG_OK);
    assert_int_equal(c.threads, 3);
    assert_int_equal(c.flows.max_flows, 9);
    assert_string_equal(c.files[0], "x.pcap");
    config_free(&c);
}

static void test_repeated_r_keeps_order_and_stdin(void **state)
{
    config c;
    char err[512];

    (void)state;
    assert_int_equal(PARSE(&c, err, "-r", "b.pcap", "-r", "-", "-r", "a.pcapng"), CONFIG_OK);
    assert_int_equal(c.nfiles, 3);
    assert_string_equal(c.files[0], "b.pcap");
    assert_string_equal(c.files[1], "-");
    assert_string_equal(c.files[2], "a.pcapng");
    assert_null(c.capture.interface);
    config_free(&c);

    assert_int_equal(PARSE(&c, err, "-r", "x.pcap", "--alerts", "-"), CONFIG_OK);
    assert_string_equal(c.alerts_path, "-");
    config_free(&c);
}

/* getopt keeps its state in libc; a second call must start afresh. */
static void test_parse_twice(void **state)
{
    config c;
    char err[512];

    (void)state;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(PARSE(&c, err, "-r", "one.pcap", "--threads", "2"), CONFIG_OK);
        assert_int_equal(c.nfiles, 1);
        assert_int_equal(c.threads, 2);
        config_free(&c);
        assert_int_equal(PARSE(&c, err, "-r", "x", "--threads", "0"), CONFIG_ERROR);
        config_free(&c);
    }
}

static void test_source_rules(void **state)
{
    config c;
    char err[512];

    (void)state;
    assert_int_equal(PARSE(&c, err, "-r", "a.pcap", "-i", "eth0"), CONFIG_ERROR);
    ERR_HAS(err, "-r", "-i", "exclusive");
    config_free(&c);

    assert_int_equal(PARSE(&c, err, "--threads", "4"), CONFIG_ERROR);
    ERR_HAS(err, "no packet source", "-r", "-i");
    config_free(&c);

    assert_int_equal(PARSE(&c, err, "-r", "-", "-r", "a", "-r", "-"), CONFIG_ERROR);
    ERR_HAS(err, "-r: ", "standard input");
    config_free(&c);

    assert_int_equal(PARSE(&c, err, "-r", ""), CONFIG_ERROR);
    ERR_HAS(err, "-r: ");
    config_free(&c);
}

static void test_flag_errors(void **state)
{
    static const struct {
        const char *flag, *value, *message;
    } cases[] = {
        {"--threads", "0", "--threads: expected an integer from 1 to 64, got '0'"},
        {"--threads", "x", "--threads: expected an integer from 1 to 64, got 'x'"},
        {"--threads", "65", "--threads: expected an integer from 1 to 64, got '65'"},
        {"--threads", "-1", "--threads: expected an integer from 1 to 64, got '-1'"},
        {"--threads", "", "--threads: expected an integer from 1 to 64, got ''"},
        {"--snaplen", "10", "--snaplen: expected an integer from 64 to 262144, got '10'"},
        {"--max-flows", "0", "--max-flows: expected an integer from 1 to 4294967295, got '0'"},
        {"--buffer", "4GiB", "--buffer: expected a size from 1MiB to 2047MiB"},
        {"--buffer", "lots", "--buffer: expected a size from 1MiB to 2047MiB"},
        {"--queue", "1KiB", "--queue: expected a size of at least 64KiB"},
        {"--stats", "1500ms", "--stats: expected a whole number of seconds"},
        {"--stats", "2d", "--stats: expected a whole number of seconds from 0 to 86400"},
        {"--sensor", "", "--sensor: expected a value"},
        {"--alerts", "", "--alerts: expected a value"},
        {"--geo", "", "--geo: expected a file name"},
        {"--redis", "http://x", "--redis: expected redis://"},
        {"--redis", "redis://", "--redis: expected redis://"},
        {"--redis", "redis://h:0", "--redis: expected redis://"},
        {"--redis", "redis://h:70000", "--redis: expected redis://"},
        {"--redis", "redis://h/x", "--redis: expected redis://"},
        {"--redis", "unix://relative", "--redis: expected redis://"},
    };
    config c;
    char err[512];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(PARSE(&c, err, "-r", "x.pcap", cases[i].flag, cases[i].value),
                         CONFIG_ERROR);
        if (strncmp(err, cases[i].message, strlen(cases[i].message)) != 0)
            fail_msg("%s '%s': got \"%s\"", cases[i].flag, cases[i].value, err);
        config_free(&c);
    }
}

/* [redis] peers: a list of sensor names, meaningful only with a Redis the
 * sensors share (redis/peers.h). */
static void test_redis_peers(void **state)
{
    config c;
    char err[512];
    const char *both = "[redis]\npeers = edge-1, edge-2\npeer_timeout = 2m\n";

    (void)state;
    assert_int_equal(PARSE(&c, err, "-c", write_conf("peers.conf", both), "-r", "x.pcap", "--redis",
                           "redis://h:6379"),
                     CONFIG_OK);
    assert_string_equal(c.redis.peers, "edge-1, edge-2");
    assert_int_equal(c.redis.peer_timeout_us, 120 * SEC);
    config_free(&c);
    assert_int_equal(PARSE(&c, err, "-c", write_conf("peers.conf", both), "-r", "x.pcap"),
                     CONFIG_ERROR);
    ERR_HAS(err, "[redis] peers needs [redis] url");
    config_free(&c);
    assert_int_equal(PARSE(&c, err, "-c",
                           write_conf("peers-bad.conf", "[redis]\npeers = edge-1,,edge-2\n"), "-r",
                           "x.pcap", "--redis", "redis://h:6379"),
                     CONFIG_ERROR);
    ERR_HAS(err, "[redis] peers:", "empty name");
    config_free(&c);
    /* this sensor alone in the list: no peers, nothing to share */
    assert_int_equal(PARSE(&c, err, "-c", write_conf("self.conf", "[redis]\npeers = me\n"), "-r",
                           "x.pcap", "--sensor", "me"),
                     CONFIG_OK);
    config_free(&c);
}

static void test_redis_urls_accepted(void **state)
{
    static const char *const ok[] = {
        "redis://127.0.0.1:6379", "redis://localhost",          "redis://h:6380/15",
        "redis://u:p@h:1/0",      "redis://:pw@redis.lan:6379", "redis://[::1]:6379/2",
        "redis://[2001:db8::1]",  "unix:///run/redis.sock",
    };
    config c;
    char err[512];

    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (PARSE(&c, err, "-r", "x", "--redis", ok[i]) != CONFIG_OK)
            fail_msg("%s: %s", ok[i], err);
        assert_string_equal(c.redis.url, ok[i]);
        config_free(&c);
    }
}

static void test_usage_errors(void **state)
{
    config c;
    char err[512];

    (void)state;
    assert_int_equal(PARSE(&c, err, "-r", "x", "--bogus"), CONFIG_ERROR);
    ERR_HAS(err, "--bogus", "unknown");
    config_free(&c);

    assert_int_equal(PARSE(&c, err, "-r", "x", "--bogus=1"), CONFIG_ERROR);
    ERR_HAS(err, "--bogus:");
    config_free(&c);

    assert_int_equal(PARSE(&c, err, "-r", "x", "-z"), CONFIG_ERROR);
    ERR_HAS(err, "-z", "unknown");
    config_free(&c);

    assert_int_equal(PARSE(&c, err, "-r", "x", "--threads"), CONFIG_ERROR);
    ERR_HAS(err, "--threads", "expects a value");
    config_free(&c);

    assert_int_equal(PARSE(&c, err, "-r"), CONFIG_ERROR);
    ERR_HAS(err, "-r", "expects a value");
    config_free(&c);

    assert_int_equal(PARSE(&c, err, "-r", "x", "--no-promisc=1"), CONFIG_ERROR);
    ERR_HAS(err, "--no-promisc: takes no value");
    config_free(&c);

    /* --s could be --sensor, --snaplen or --stats: refused, not guessed */
    assert_int_equal(PARSE(&c, err, "-r", "x", "--s", "1"), CONFIG_ERROR);
    ERR_HAS(err, "--s:", "ambiguous");
    config_free(&c);

    /* an abbreviation is named in full */
    assert_int_equal(PARSE(&c, err, "-r", "x", "--thr"), CONFIG_ERROR);
    ERR_HAS(err, "--threads: expects a value");
    config_free(&c);

    assert_int_equal(PARSE(&c, err, "-r", "x", "stray.pcap"), CONFIG_ERROR);
    ERR_HAS(err, "stray.pcap", "-r");
    config_free(&c);
}

/* Runs a --help or --version parse with stdout sent to a file, and
 * returns what was printed. */
static char *capture_stdout(const char *flag, int *rc)
{
    static char out[4096];
    char err[512];
    const char *path = write_conf("stdout.txt", "");
    int saved = dup(STDOUT_FILENO);
    config c;
    FILE *f;
    size_t n;

    fflush(stdout);
    assert_non_null(freopen(path, "w", stdout));
    *rc = PARSE(&c, err, flag, "--threads", "0");
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    config_free(&c);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    fclose(f);
    return out;
}

static void test_help_and_version(void **state)
{
    static const char *const flags[] = {
        "-r FILE",       "-i IFACE",        "-f EXPR",      "-c FILE",         "--geo",
        "--inventory",   "--redis",         "--alerts",     "--flows",         "--sensor",
        "--threads",     "--snaplen",       "--stats",      "--max-flows",     "--buffer",
        "--queue",       "--no-promisc",    "--keep-redis", "--help",          "--version",
        "--indicators",  "--redis-flows",   "--graph",      "--summary",       "--progress",
        "--no-progress", "loophole alerts", "--user",       "--wait-interface"};
    int rc;
    char *out;

    (void)state;
    /* help and version win over a value that would be refused */
    out = capture_stdout("--help", &rc);
    assert_int_equal(rc, CONFIG_EXIT);
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        if (strstr(out, flags[i]) == NULL)
            fail_msg("--help lacks %s", flags[i]);
    }
    out = capture_stdout("-h", &rc);
    assert_int_equal(rc, CONFIG_EXIT);
    assert_non_null(strstr(out, "Usage: loophole"));

    out = capture_stdout("--version", &rc);
    assert_int_equal(rc, CONFIG_EXIT);
    assert_true(strncmp(out, "loophole " LOOPHOLE_VERSION "\n", strlen(LOOPHOLE_VERSION) + 10) ==
                0);
}

/* ------------------------------------------------------------------------
 * Units
 * ---------------------------------------------------------------------- */

static void test_parse_size(void **state)
{
    static const struct {
        const char *s;
        uint64_t v;
    } ok[] = {
        {"0", 0},
        {"4096", 4096},
        {"100B", 100},
        {"1K", 1024},
        {"1KiB", 1024},
        {"256MiB", 256 * MiB},
        {"256M", 256 * MiB},
        {"1GiB", GiB},
        {"3G", 3 * GiB},
        {"2TiB", 2 * GiB * 1024},
        {"1T", GiB * 1024},
        {"1kB", 1000},
        {"1KB", 1000},
        {"5MB", 5000000},
        {"2GB", 2000000000},
        {"1TB", UINT64_C(1000000000000)},
        {"1 GiB", GiB},
        {"16777215TiB", UINT64_C(16777215) << 40},
        {"18446744073709551615", UINT64_MAX},
    };
    static const char *const bad[] = {
        "",
        "-1",
        "-1GiB",
        "+1",
        " 1",
        "1 ",
        "1  GiB",
        "1GiB ",
        "GiB",
        "1.5GiB",
        "1gib",
        "1Mb",
        "1mb",
        "1 KiB!",
        "1e6",
        "0x10",
        "1PiB",
        "99999999999TiB",
        "16777216TiB",
        "18446744073709551616",
        "1,000",
    };
    uint64_t v;

    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (config_parse_size(ok[i].s, &v) != 0 || v != ok[i].v)
            fail_msg("size '%s' should be %llu", ok[i].s, (unsigned long long)ok[i].v);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 42;
        if (config_parse_size(bad[i], &v) != -1 || v != 42)
            fail_msg("size '%s' should be refused", bad[i]);
    }
    assert_int_equal(config_parse_size(NULL, &v), -1);
}

static void test_parse_duration(void **state)
{
    static const struct {
        const char *s;
        int ms;
        uint64_t us;
    } ok[] = {
        {"0", 0, 0},           {"30", 0, 30 * SEC},     {"30", 1, 30000},
        {"30s", 0, 30 * SEC},  {"30s", 1, 30 * SEC},    {"80ms", 0, 80000},
        {"80ms", 1, 80000},    {"250us", 0, 250},       {"10m", 0, 600 * SEC},
        {"1h", 0, 3600 * SEC}, {"24h", 0, 86400 * SEC}, {"2d", 0, 172800 * SEC},
        {"5 m", 0, 300 * SEC}, {"1ms", 1, 1000},        {"120s", 0, 120 * SEC},
    };
    static const char *const bad[] = {
        "",
        "soon",
        "-5s",
        "+5s",
        "1.5s",
        "5 ",
        " 5",
        "5S",
        "5sec",
        "5min",
        "1w",
        "s",
        "5ns",
        "5hh",
        "10m30s",
        "99999999999999999d",
        "18446744073709551616",
    };
    uint64_t v;

    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (config_parse_duration_us(ok[i].s, ok[i].ms, &v) != 0 || v != ok[i].us)
            fail_msg("duration '%s' (ms %d) should be %llu us", ok[i].s, ok[i].ms,
                     (unsigned long long)ok[i].us);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 42;
        if (config_parse_duration_us(bad[i], 0, &v) != -1 || v != 42)
            fail_msg("duration '%s' should be refused", bad[i]);
    }
    /* a bare number that fits as seconds overflows as microseconds */
    assert_int_equal(config_parse_duration_us("18446744073709", 0, &v), 0);
    assert_int_equal(config_parse_duration_us("18446744073710", 0, &v), -1);
}

static void test_parse_bool(void **state)
{
    static const struct {
        const char *s;
        int v;
    } ok[] = {
        {"yes", 1}, {"no", 0}, {"true", 1}, {"false", 0}, {"on", 1},
        {"off", 0}, {"1", 1},  {"0", 0},    {"YES", 1},   {"False", 0},
    };
    static const char *const bad[] = {"", "y", "n", "2", "enable", "yes ", "-1", "nope"};
    int v;

    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        v = -1;
        assert_int_equal(config_parse_bool(ok[i].s, &v), 0);
        assert_int_equal(v, ok[i].v);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 42;
        if (config_parse_bool(bad[i], &v) != -1 || v != 42)
            fail_msg("bool '%s' should be refused", bad[i]);
    }
}

/* Keys named *_ms read a bare number as milliseconds; other durations read
 * it as seconds. */
static void test_ms_keys(void **state)
{
    config c;
    char err[512] = "";
    const char *path = write_conf("ms.conf", "[thresholds]\n"
                                             "proxy_latency_ms = 7\n"
                                             "stepping_delta_ms = 2s\n"
                                             "flow_idle_timeout = 7\n"
                                             "ai_relay_lag_ms = 1500\n"
                                             "tunnel_min_duration = 90\n");

    (void)state;
    config_init(&c);
    if (config_load_file(&c, path, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(c.rules.proxy_latency_us, 7000);
    assert_int_equal(c.rules.stepping_delta_us, 2 * SEC);
    assert_int_equal(c.flows.idle_us, 7 * SEC);
    assert_int_equal(c.rules.ai_relay_lag_us, 1500000);
    assert_int_equal(c.rules.tunnel_min_us, 90 * SEC);
    config_free(&c);
}

/* ------------------------------------------------------------------------
 * File errors: each names the file, the line and the key
 * ---------------------------------------------------------------------- */

static void expect_fixture_error(const char *name, const char *where, const char *what)
{
    config c;
    char err[512] = "";
    char path[4096];

    snprintf(path, sizeof path, "%s", data_path(name));
    config_init(&c);
    assert_int_equal(config_load_file(&c, path, err, sizeof err), -1);
    ERR_HAS(err, path, where, what);
    config_free(&c);
}

static void test_file_unknown_section(void **state)
{
    (void)state;
    expect_fixture_error("unknown_section.conf",
                         ":5: [tresholds] egress_bytes:", "unknown section [tresholds]");
}

static void test_file_unknown_key(void **state)
{
    (void)state;
    expect_fixture_error("unknown_key.conf", ":3: [capture] thraeds:", "unknown key");
}

static void test_file_bad_value(void **state)
{
    config c;
    char err[512] = "", path[4096], want[4200];

    (void)state;
    expect_fixture_error("bad_value.conf", ":5: [thresholds] egress_window:",
                         "expected a duration such as 30s, 10m, 1h, got 'soon'");
    /* the whole message, exactly */
    snprintf(path, sizeof path, "%s", data_path("bad_value.conf"));
    snprintf(want, sizeof want,
             "%s:5: [thresholds] egress_window: expected a duration such as 30s, 10m, 1h, "
             "got 'soon'",
             path);
    config_init(&c);
    assert_int_equal(config_load_file(&c, path, err, sizeof err), -1);
    assert_string_equal(err, want);
    config_free(&c);
}

static void test_file_bad_country(void **state)
{
    (void)state;
    expect_fixture_error("bad_country.conf", ":3: [countries] relay:", "'CHN'");
}

static void test_file_missing(void **state)
{
    config c;
    char err[512] = "";
    char path[4096];

    (void)state;
    snprintf(path, sizeof path, "%s", data_path("no-such-file.conf"));
    config_init(&c);
    assert_int_equal(config_load_file(&c, path, err, sizeof err), -1);
    ERR_HAS(err, path, "No such file");
    config_free(&c);

    /* a directory opens but cannot be read */
    config_init(&c);
    assert_int_equal(config_load_file(&c, tmpdir, err, sizeof err), -1);
    ERR_HAS(err, tmpdir, "cannot read");
    config_free(&c);
}

/* An error in the -c file reaches the caller of config_parse_args as is. */
static void test_file_error_through_args(void **state)
{
    config c;
    char err[512];
    char path[4096];

    (void)state;
    snprintf(path, sizeof path, "%s", data_path("unknown_key.conf"));
    assert_int_equal(PARSE(&c, err, "-c", path, "-r", "x"), CONFIG_ERROR);
    ERR_HAS(err, path, ":3:", "thraeds");
    config_free(&c);

    snprintf(path, sizeof path, "%s", data_path("absent.conf"));
    assert_int_equal(PARSE(&c, err, "-r", "x", "-c", path), CONFIG_ERROR);
    ERR_HAS(err, "absent.conf");
    config_free(&c);
}

static void test_file_value_errors(void **state)
{
    static const struct {
        const char *text, *where, *what;
    } cases[] = {
        {"[capture]\nthreads = 0\n", ":2: [capture] threads:", "from 1 to 64, got '0'"},
        {"[capture]\nthreads = 65\n", ":2: [capture] threads:", "got '65'"},
        {"[capture]\nbuffer = 99999999999TiB\n", ":2: [capture] buffer:", "expected a size"},
        {"[capture]\npromiscuous = maybe\n", ":2: [capture] promiscuous:", "yes/no"},
        {"[capture]\nvxlan_port = 65536\n", ":2: [capture] vxlan_port:", "0 to 65535"},
        {"[redis]\nurl = tcp://x\n", ":2: [redis] url:", "redis://"},
        {"[redis]\njournal_max = 0\n", ":2: [redis] journal_max:", "at least 1MiB"},
        {"[redis]\npeer_timeout = 1s\n", ":2: [redis] peer_timeout:", "at least 5s"},
        {"[output]\nsensor =\n", ":2: [output] sensor:", "expected a value"},
        {"[output]\nstats = -1\n", ":2: [output] stats:", "seconds"},
        {"[countries]\nchina = C1\n", ":2: [countries] china:", "'C1'"},
        {"[countries]\nchina = CN,\n", ":2: [countries] china:", "''"},
        {"[geo]\ndb = a.mmdb,,b.mmdb\n", ":2: [geo] db:", "file names"},
        {"[thresholds]\nfanout_hosts = 0\n", ":2: [thresholds] fanout_hosts:", "got '0'"},
        {"[thresholds]\negress_window = 0\n", ":2: [thresholds] egress_window:", "at least 1s"},
        {"[thresholds]\nproxy_latency_ms = 0\n",
         ":2: [thresholds] proxy_latency_ms:", "at least 1ms"},
        {"[thresholds]\nproxy_latency_ms = soon\n",
         ":2: [thresholds] proxy_latency_ms:", "a bare number is milliseconds"},
        {"threads = 4\n", ":1: threads:", "outside any section"},
        {"# c\n[capture]\nsnaplen = 1500\n  threads = 4\n",
         ":4: [capture] snaplen:", "indented line"},
        {"[capture]\nsnaplen\n", ":2:", "expected [section] or key = value"},
        {"[capture\nsnaplen = 1\n", ":1:", "expected [section] or key = value"},
        /* the first error is the one reported */
        {"[capture]\nthreads = 99\nsnaplen = 1\n[nope]\nx = 1\n",
         ":2: [capture] threads:", "got '99'"},
        {"[capture]\nbad line\nthreads = 99\n", ":2:", "expected [section]"},
    };
    char err[512];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        expect_file_error("case.conf", cases[i].text, err, sizeof err);
        if (!strstr(err, "case.conf") || !strstr(err, cases[i].where) ||
            !strstr(err, cases[i].what))
            fail_msg("case %zu: \"%s\" lacks \"%s\" or \"%s\"", i, err, cases[i].where,
                     cases[i].what);
    }
}

static void test_file_syntax_details(void **state)
{
    config c;
    char err[512] = "", text[1024];

    (void)state;
    /* a line longer than inih's buffer is refused, not cut */
    snprintf(text, sizeof text, "[capture]\n\nfilter = %0*d\n", 300, 0);
    expect_file_error("long.conf", text, err, sizeof err);
    ERR_HAS(err, "long.conf:3:", "longer than");

    /* an indented first key is fine; keys and sections ignore case; a later
     * scalar wins; an empty optional string unsets */
    config_init(&c);
    assert_int_equal(config_load_file(&c,
                                      write_conf("ok.conf", "\xEF\xBB\xBF[Capture]\n"
                                                            "  Threads = 2\n"
                                                            "threads = 5\n"
                                                            "filter = tcp\n"
                                                            "filter =\n"
                                                            "[countries]\n"
                                                            "relay =\n"),
                                      err, sizeof err),
                     0);
    assert_int_equal(c.threads, 5);
    assert_null(c.capture.filter);
    assert_int_equal(c.rules.nrelay, 0);
    assert_null(c.rules.relay);
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full_file_sets_every_key),
        cmocka_unit_test(test_example_states_the_defaults),
        cmocka_unit_test(test_thresholds_have_sources),
        cmocka_unit_test(test_rules_md_states_the_thresholds),
        cmocka_unit_test(test_flags_override_file),
        cmocka_unit_test(test_r_replaces_file_interface),
        cmocka_unit_test(test_every_flag),
        cmocka_unit_test(test_repeated_r_keeps_order_and_stdin),
        cmocka_unit_test(test_parse_twice),
        cmocka_unit_test(test_source_rules),
        cmocka_unit_test(test_flag_errors),
        cmocka_unit_test(test_redis_urls_accepted),
        cmocka_unit_test(test_redis_peers),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_user_and_wait_interface),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_parse_bool),
        cmocka_unit_test(test_ms_keys),
        cmocka_unit_test(test_file_unknown_section),
        cmocka_unit_test(test_file_unknown_key),
        cmocka_unit_test(test_file_bad_value),
        cmocka_unit_test(test_file_bad_country),
        cmocka_unit_test(test_file_missing),
        cmocka_unit_test(test_file_error_through_args),
        cmocka_unit_test(test_file_value_errors),
        cmocka_unit_test(test_file_syntax_details),
    };

    return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
