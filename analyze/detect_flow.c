/* detect_flow.c -- rules one flow decides, and observations for the
 * library's distinct-count windows (see detect.h). */
#include "detect_int.h"

void detect_flow_rules(detect *d, event_queue *q, const detect_view *v)
{
    (void)d;
    (void)q;
    (void)v;
}
