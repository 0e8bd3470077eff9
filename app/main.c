/* main.c -- command line entry point of the loophole sensor.
 *
 * Parses the configuration (app/config.c), builds the sensor
 * (app/sensor.c) and runs it; `loophole alerts ...` is the alerts reader
 * instead (app/alerts_cmd.c). Exit status per interface.md: 0 success,
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
 *
 * Privileges (app/privs.h): the sensor is built as started -- capture,
 * outputs, journal, private server -- and the geo files are loaded; then,
 * before any thread starts, the process switches to the unprivileged user
 * with no capabilities. The Redis password is wiped from argv and from the
 * environment block once parsed, so /proc/PID/cmdline and environ never
 * show it; the config and the Redis URL keep their own copies.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture/source.h"
#include "app/alerts_cmd.h"
#include "app/config.h"
#include "app/privs.h"
#include "app/sensor.h"
#include "redis/url.h"

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

/* Overwrites the password of every Redis URL among the arguments
 * ("scheme://user:PASSWORD@host", whatever flag spelling carried it) in
 * place, so the process list shows "scheme://user:*****@host". */
static void main_scrub_argv(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        char *p = strstr(argv[i], "://");
        if (p == NULL)
            continue;
        p += 3;
        char *at = p + strcspn(p, "/@");
        if (*at != '@')
            continue;
        char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon)
            memset(colon + 1, '*', (size_t)(at - colon - 1));
    }
}

/* The same for the password in the environment: the sensor has parsed it;
 * the bytes the kernel shows in /proc/PID/environ are these. */
static void main_scrub_env(void)
{
    char *v = getenv(RURL_PASSWORD_ENV);

    if (v)
        memset(v, '*', strlen(v));
}

static int main_fail(sensor *s, config *cfg, int status, const char *err)
{
    fprintf(stderr, "loophole: %s\n", err);
    main_sensor = NULL; /* before the free: the handler must not see it */
    sensor_free(s);
    config_free(cfg);
    return status;
}

int main(int argc, char **argv)
{
    char err[1024];
    privs_target run_as;
    config cfg;
    int status;

    if (argc > 1 && strcmp(argv[1], "alerts") == 0)
        return alerts_cmd_main(argc - 1, argv + 1);
    /* Nothing the sensor creates (outputs, journal, the private server's
     * directory) is writable by others, or readable by them. */
    umask(027);
    config_init(&cfg);
    status = config_parse_args(&cfg, argc, argv, err, sizeof(err));
    main_scrub_argv(argc, argv);
    if (status == CONFIG_OK && source_check_filter(cfg.capture.filter, err, sizeof(err)) != 0)
        status = CONFIG_ERROR;
    if (status == CONFIG_OK && privs_resolve(cfg.user, &run_as, err, sizeof(err)) != 0)
        status = CONFIG_ERROR;
    if (status != CONFIG_OK) {
        if (status == CONFIG_ERROR)
            fprintf(stderr, "loophole: %s\n", err);
        config_free(&cfg);
        return status == CONFIG_EXIT ? 0 : 2;
    }
    main_signals();
    main_sensor = sensor_new(&cfg, &run_as, err, sizeof(err));
    main_scrub_env();
    if (main_sensor == NULL)
        return main_fail(NULL, &cfg, 1, err);
    if (sensor_load_geo(main_sensor, err, sizeof(err)) != 0)
        return main_fail(main_sensor, &cfg, 2, err);
    if (sensor_join_setup(main_sensor, err, sizeof(err)) != 0)
        return main_fail(main_sensor, &cfg, 1, err);
    /* A live capture that may have to reopen its interface keeps
     * CAP_NET_RAW and nothing else. */
    if (privs_drop(&run_as, cfg.capture.interface && cfg.capture.wait_interface, err,
                   sizeof(err)) != 0)
        return main_fail(main_sensor, &cfg, 1, err);
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
