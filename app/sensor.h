/* sensor.h -- one running sensor: capture thread, workers, outputs.
 *
 * The sensor turns a validated configuration into running parts, in the
 * order that matters: outputs first (so a bad path fails before any packet
 * is read), then the workers with their nDPI contexts, then the capture
 * (which opens a live interface, the last step that may need privileges).
 * sensor_run() drives the capture to its end, reports counters every
 * `stats_secs`, waits for the workers to write every flow, and closes the
 * outputs. Everything it created is freed by sensor_free().
 */
#ifndef LOOPHOLE_SENSOR_H
#define LOOPHOLE_SENSOR_H

#include <stddef.h>

#include "config.h"
#include "privs.h"
#include "rules/detect.h"

typedef struct sensor sensor;

/* Returns NULL with a message in err when a part cannot be set up (an
 * output path, the interface, memory). The config must outlive the sensor.
 * run_as is who the process will be once main calls privs_drop() (after
 * sensor_load_geo): the private redis-server is started as that user, in a
 * directory it owns, and the journal is given to it. */
sensor *sensor_new(const config *cfg, const privs_target *run_as, char *err, size_t errlen);

/* Runs to the end of the input (or sensor_stop()). Errors are printed to
 * standard error as they happen, each naming its file or interface.
 * Returns the exit status: 0, or 1 after any runtime failure. */
int sensor_run(sensor *s);

/* Asks a running sensor to finish: flows are flushed and written as at the
 * end of a capture. Async-signal-safe. */
void sensor_stop(sensor *s);

/* Loads the geo databases (the --geo files, else the default database),
 * the indicator tables and the inventory, and hands them to the workers.
 * Call after sensor_new() and before sensor_run(). Returns 0, or -1 with
 * the file (and line) at fault in err: a configuration error (exit 2).
 * Without any --geo file and without a default database the sensor runs
 * with geo fields null, after one warning on standard error. */
int sensor_load_geo(sensor *s, char *err, size_t errlen);

/* Waits for what sensor_new() left running on a thread of its own (the
 * workers' nDPI modules, built while the main thread sets up the rest and
 * loads the geo data) and hands it to the workers. main calls it before
 * privs_drop(), since a thread's capabilities are its own, and before
 * sensor_run(). Returns -1 with a message in err when nDPI could not be
 * initialised. */
int sensor_join_setup(sensor *s, char *err, size_t errlen);

/* Asks for the geo files to be read again (SIGHUP). Async-signal-safe:
 * it only sets a flag; the sensor's control loop reloads, and on failure
 * keeps the tables it has and prints the error naming file and line. */
void sensor_request_reload(sensor *s);

void sensor_free(sensor *s);

/* The rules' part of a configuration; its country lists point into c,
 * which must outlive it. */
void sensor_detect_config(const config *c, detect_config *out);

#endif
