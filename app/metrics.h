/* metrics.h -- the sensor's counters in Prometheus's text exposition
 * format, as a node_exporter textfile.
 *
 * One counters object enters, in the form --stats prints it (app/sensor.c
 * builds it); the text leaves as a malloc'ed string, or replaces a .prom
 * file atomically (written beside it, then renamed), which node_exporter's
 * textfile collector serves on its own /metrics. The sensor opens no port
 * of its own; docs/siem.md says why and lists every metric.
 */
#ifndef LOOPHOLE_METRICS_H
#define LOOPHOLE_METRICS_H

#include <jansson.h>
#include <stddef.h>

/* The text for `stats`; the caller frees it. NULL when out of memory. */
char *metrics_render(const json_t *stats);

/* Writes metrics_render(stats) to path through path + ".tmp" and a
 * rename, so a scrape never sees half a file. Returns 0, or -1 with a
 * message in err naming the file. */
int metrics_write_textfile(const char *path, const json_t *stats, char *err, size_t errlen);

#endif
