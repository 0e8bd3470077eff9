/* bench_dpi_init.c -- what one worker's nDPI module costs to build and to
 * tear down.
 *
 *   bench_dpi_init [ROUNDS]
 *
 * Builds the module as a worker does (dpi_new(): every protocol, then
 * nDPI's finalisation) and frees it (dpi_free()), ROUNDS times (default
 * 5), and prints the milliseconds of each step (CLOCK_MONOTONIC). The
 * sensor pays both once per worker: the build on a thread of its own
 * while the main thread starts the rest, the tear-down on the worker's
 * thread after its last flow (docs/performance.md, "Eleventh round"). Run
 * on demand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "analyze/dpi.h"

static double bench_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    char err[256];

    for (int i = 0; i < rounds; i++) {
        double t0 = bench_ms();
        dpi *d = dpi_new(err, sizeof(err));
        double t1 = bench_ms();
        if (d == NULL) {
            fprintf(stderr, "bench_dpi_init: %s\n", err);
            return 1;
        }
        dpi_free(d);
        printf("build %.2f ms  tear down %.2f ms\n", t1 - t0, bench_ms() - t1);
    }
    return 0;
}
