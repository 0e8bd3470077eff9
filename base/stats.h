/* stats.h -- counters shared between the thread that bumps them and the
 * thread that reports them.
 *
 * Every counter has exactly one writer thread. The writer adds with a
 * relaxed load and store (a plain add, no locked instruction on the packet
 * path); readers take relaxed loads and may see a value a moment old, never
 * a torn one.
 */
#ifndef LOOPHOLE_STATS_H
#define LOOPHOLE_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#define STAT_ADD(field, n)                                                                         \
    atomic_store_explicit(&(field), atomic_load_explicit(&(field), memory_order_relaxed) + (n),    \
                          memory_order_relaxed)
#define STAT_SET(field, v) atomic_store_explicit(&(field), (v), memory_order_relaxed)
#define STAT_GET(field)    atomic_load_explicit(&(field), memory_order_relaxed)

#endif
