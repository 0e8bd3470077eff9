/* main.c -- command line entry point of the loophole sensor.
 *
 * Parses the configuration (core/config.c), builds the sensor
 * (core/sensor.c) and runs it; `loophole alerts ...` is the alerts reader
 * instead (core/alerts_cmd.c). Exit status per interface.md: 0 success,
 * 1 runtime failure, 2 usage or configuration error.
 *
 * The one piece of process-wide state is the sensor pointer the signal
 * handler needs: SIGINT and SIGTERM ask the sensor to finish, which
 * flushes every flow as at the end of a capture, delivers the queued Redis
 * events (or leaves them in the journal) and stops the private
 * redis-server; SIGHUP asks it to reload the geo databases, indicator
 * tables and inventory. The handlers are in place before the sensor is
 * built, so a signal that arrives while the private server starts is not
 * fatal: it is remembered and the run stops at once, through the same
 * clean-up path.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "capture/source.h"
#include "core/alerts_cmd.h"
#include "core/config.h"
#include "core/sensor.h"

static sensor *_Atomic main_sensor;
static volatile sig_atomic_t main_stopping;

static void main_on_signal(int sig)
{
    (void)sig;
    main_stopping = 1;
    sensor_stop(main_sensor);
}

static void main_on_hup(int sig)
{
    (void)sig;
    sensor_request_reload(main_sensor);
}

static void main_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = main_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = main_on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
    char err[1024];
    config cfg;
    int status;

    if (argc > 1 && strcmp(argv[1], "alerts") == 0)
        return alerts_cmd_main(argc - 1, argv + 1);
    config_init(&cfg);
    status = config_parse_args(&cfg, argc, argv, err, sizeof(err));
    if (status == CONFIG_OK && source_check_filter(cfg.filter, err, sizeof(err)) != 0)
        status = CONFIG_ERROR;
    if (status != CONFIG_OK) {
        if (status == CONFIG_ERROR)
            fprintf(stderr, "loophole: %s\n", err);
        config_free(&cfg);
        return status == CONFIG_EXIT ? 0 : 2;
    }
    main_signals();
    main_sensor = sensor_new(&cfg, err, sizeof(err));
    if (main_sensor == NULL) {
        fprintf(stderr, "loophole: %s\n", err);
        config_free(&cfg);
        return 1;
    }
    if (sensor_load_geo(main_sensor, err, sizeof(err)) != 0) {
        fprintf(stderr, "loophole: %s\n", err);
        sensor_free(main_sensor);
        config_free(&cfg);
        return 2;
    }
    if (main_stopping)
        sensor_stop(main_sensor);
    status = sensor_run(main_sensor);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    sensor_free(main_sensor);
    main_sensor = NULL;
    config_free(&cfg);
    return status;
}
