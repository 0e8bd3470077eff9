/* detect_corr.c -- rules that need sums, controller networks, time-of-day
 * profiles and leg matching in the library (see detect.h). */
#include "detect_int.h"

void detect_corr_rules(detect *d, event_queue *q, const detect_view *v)
{
    (void)d;
    (void)q;
    (void)v;
}
