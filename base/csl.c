/* csl.c -- comma-separated lists (see csl.h). */
#include "csl.h"

#include <ctype.h>
#include <string.h>

int csl_blank(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return *s == '\0';
}

int csl_next(const char **sp, const char **item, size_t *len)
{
    const char *p = *sp, *end = p + strcspn(p, ",");
    int more = *end == ',';

    *sp = more ? end + 1 : end;
    while (p < end && isspace((unsigned char)*p))
        p++;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    *item = p;
    *len = (size_t)(end - p);
    return more;
}
