/* csl.h -- comma-separated lists of a configuration value ("a, b,c"), one
 * item at a time: the shape every list setting shares (file names, country
 * codes, sensor names). The caller owns the text; items are pointers into
 * it and lengths, without the blanks around them.
 */
#ifndef LOOPHOLE_CSL_H
#define LOOPHOLE_CSL_H

#include <stddef.h>

/* Whether s holds nothing but blanks: a blank value is an empty list. */
int csl_blank(const char *s);

/* Reads the item *sp points at: *item and *len name it without the blanks
 * around it (len 0: an empty item, as between ",,"), and *sp moves past
 * it and its comma. Returns 1 when a comma followed, that is when another
 * item (maybe empty) comes, else 0. */
int csl_next(const char **sp, const char **item, size_t *len);

#endif
