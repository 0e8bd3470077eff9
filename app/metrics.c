/* metrics.c -- counters as Prometheus text (see metrics.h).
 *
 * A table maps each field of the counters object to a metric: its name
 * (loophole_*, counters ending in _total as Prometheus's conventions ask),
 * its type and help text; fields that are objects of counts (drop reasons,
 * flow record end reasons, alerts by rule) become one series per key under
 * a label. Every series carries the sensor's name as label `sensor`, so one
 * node_exporter can serve several sensors of a host. Fields absent from the
 * object are left out, so the renderer follows whatever the collector
 * gives it.
 */
#include "metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum metrics_kind { M_COUNTER, M_GAUGE };

typedef struct metrics_def {
    const char *field; /* key in the counters object */
    const char *name;  /* metric name */
    enum metrics_kind kind;
    const char *label; /* for an object of counts: the label of its keys */
    double scale;      /* value * scale; 0 = 1 */
    const char *help;
} metrics_def;

static const metrics_def metrics_defs[] = {
    {"packets", "loophole_packets_total", M_COUNTER, NULL, 0, "Frames read from the source."},
    {"bytes", "loophole_bytes_total", M_COUNTER, NULL, 0, "Bytes of the frames on the wire."},
    {"decoded", "loophole_packets_decoded_total", M_COUNTER, NULL, 0,
     "Frames decoded down to an IP packet of a flow."},
    {"ignored_non_ip", "loophole_packets_non_ip_total", M_COUNTER, NULL, 0,
     "Frames without IP (ARP, LLDP, STP...), ignored."},
    {"drops", "loophole_drops_total", M_COUNTER, NULL, 0, "Frames dropped, all reasons."},
    {"drop_reasons", "loophole_drops_by_reason_total", M_COUNTER, "reason", 0,
     "Frames dropped, by reason (malformed kinds, kernel and interface drops)."},
    {"queue_waits", "loophole_queue_waits_total", M_COUNTER, NULL, 0,
     "Packets that found their worker's queue full and held the capture back (not a drop)."},
    {"flows_active", "loophole_flows_active", M_GAUGE, NULL, 0, "Flows in the flow tables."},
    {"flows_total", "loophole_flows_total", M_COUNTER, NULL, 0, "Flows created."},
    {"flows_evicted", "loophole_flows_evicted_total", M_COUNTER, NULL, 0,
     "Flows ended early because the flow table was full."},
    {"flow_records", "loophole_flow_records_total", M_COUNTER, "end", 0,
     "Flow records written, by why they ended."},
    {"flow_records_lost", "loophole_flow_records_lost_total", M_COUNTER, NULL, 0,
     "Flow records lost to write errors of --flows."},
    {"dpi_flows", "loophole_dpi_flows_total", M_COUNTER, NULL, 0, "Flows given to nDPI."},
    {"dpi_unknown", "loophole_dpi_unknown_total", M_COUNTER, NULL, 0,
     "Flows nDPI gave up on without a protocol."},
    {"events_queued", "loophole_events_queued", M_GAUGE, NULL, 0,
     "Events waiting for the Redis writer."},
    {"events_sent", "loophole_events_sent_total", M_COUNTER, NULL, 0, "Events Redis acknowledged."},
    {"events_journaled", "loophole_events_journaled_total", M_COUNTER, NULL, 0,
     "Events written to the journal while Redis was away."},
    {"events_replayed", "loophole_events_replayed_total", M_COUNTER, NULL, 0,
     "Journaled events later acknowledged by Redis."},
    {"events_dropped", "loophole_events_dropped_total", M_COUNTER, NULL, 0,
     "Events lost: queue or journal full."},
    {"events_rejected", "loophole_events_rejected_total", M_COUNTER, NULL, 0,
     "Events Redis refused."},
    {"journal_bytes", "loophole_journal_bytes", M_GAUGE, NULL, 0, "Size of the journal file."},
    {"redis_round_trips", "loophole_redis_round_trip_seconds_count", M_COUNTER, NULL, 0,
     "Redis latency: seconds from sending a pipeline of events to its last reply."},
    {"redis_round_trip_us", "loophole_redis_round_trip_seconds_sum", M_COUNTER, NULL, 1e-6,
     "Redis latency: seconds from sending a pipeline of events to its last reply."},
    {"alerts", "loophole_alerts_total", M_COUNTER, NULL, 0, "Alerts raised."},
    {"alerts_by_rule", "loophole_rule_alerts_total", M_COUNTER, "rule", 0,
     "Alerts raised, by rule."},
};

/* Label values escape backslash, double quote and line feed. */
static void metrics_label(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', f);
        if (*s == '\n') {
            fputs("\\n", f);
            continue;
        }
        fputc(*s, f);
    }
}

static void metrics_series(FILE *f, const metrics_def *d, const char *sensor, const char *key,
                           const json_t *v)
{
    double x = json_number_value(v) * (d->scale != 0 ? d->scale : 1);

    fputs(d->name, f);
    fputs("{sensor=\"", f);
    metrics_label(f, sensor);
    if (key) {
        fprintf(f, "\",%s=\"", d->label);
        metrics_label(f, key);
    }
    if (d->scale != 0)
        fprintf(f, "\"} %.6f\n", x);
    else
        fprintf(f, "\"} %lld\n", (long long)json_integer_value(v));
}

/* A summary's _count and _sum share one family, announced once. */
static const char *metrics_family(const metrics_def *d, char *buf, size_t len)
{
    const char *suffixes[] = {"_count", "_sum"};
    size_t n = strlen(d->name);

    for (size_t i = 0; i < 2; i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k && strcmp(d->name + n - k, suffixes[i]) == 0 && n - k < len) {
            memcpy(buf, d->name, n - k);
            buf[n - k] = '\0';
            return buf;
        }
    }
    return NULL;
}

char *metrics_render(const json_t *stats)
{
    const char *sensor = json_string_value(json_object_get(stats, "sensor"));
    char announced[128] = "", fam[128];
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    if (!f)
        return NULL;
    if (!sensor)
        sensor = "";
    for (size_t i = 0; i < sizeof(metrics_defs) / sizeof(metrics_defs[0]); i++) {
        const metrics_def *d = &metrics_defs[i];
        const json_t *v = json_object_get(stats, d->field);
        const char *family = metrics_family(d, fam, sizeof(fam));
        const char *key;
        json_t *item;

        if (!v || !(d->label ? json_is_object(v) : json_is_number(v)))
            continue;
        if (family) {
            if (strcmp(announced, family) != 0) {
                fprintf(f, "# HELP %s %s\n# TYPE %s summary\n", family, d->help, family);
                snprintf(announced, sizeof(announced), "%s", family);
            }
        } else {
            fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", d->name, d->help, d->name,
                    d->kind == M_COUNTER ? "counter" : "gauge");
        }
        if (!d->label) {
            metrics_series(f, d, sensor, NULL, v);
            continue;
        }
        json_object_foreach((json_t *)v, key, item)
        {
            if (json_is_number(item))
                metrics_series(f, d, sensor, key, item);
        }
    }
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

int metrics_write_textfile(const char *path, const json_t *stats, char *err, size_t errlen)
{
    char tmp[4096];
    char *text = metrics_render(stats);
    FILE *f;
    int ok;

    if (!text) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open for writing: %s", tmp, strerror(errno));
        free(text);
        return -1;
    }
    ok = fputs(text, f) >= 0;
    ok = (fclose(f) == 0) && ok;
    free(text);
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
