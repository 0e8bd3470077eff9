/* csv.c -- the line and field reader of geo/'s text tables (see csv.h).
 *
 * One pass per line: find the line's end, then walk it once copying field
 * bytes into the scratch buffer, handling quotes and the comment mark.
 * Nothing is allocated per line.
 */
#include "csv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void csv_init(csv_reader *r, const char *buf, size_t len)
{
    r->p = buf;
    r->end = buf + len;
    r->line = 0;
}

static int csv_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Removes trailing blanks of the field that starts at `start` and ends
 * before `*w`, unless they were quoted (keep marks the quoted end). */
static void csv_trim(char *start, char **w, char *keep)
{
    while (*w > start && *w > keep && csv_blank((*w)[-1]))
        (*w)--;
}

/* Splits one line [s, e) into fields; see csv_next. */
static int csv_split(const char *s, const char *e, char *scratch, char **fields, int max,
                     const char **why)
{
    char *w = scratch, *start = scratch, *keep = scratch;
    int n = 0, quoted = 0, any = 0;

    while (s < e && csv_blank(*s))
        s++;
    for (; s < e; s++) {
        char c = *s;
        if (c == '\0') {
            *why = "NUL byte in line";
            return -1;
        }
        if (quoted) {
            if (c == '"' && s + 1 < e && s[1] == '"')
                *w++ = *s++;
            else if (c == '"')
                quoted = 0, keep = w;
            else
                *w++ = c;
            continue;
        }
        if (c == '#')
            break;
        if (c == '"' && w == start) {
            quoted = 1, any = 1;
        } else if (c == ',') {
            csv_trim(start, &w, keep);
            *w++ = '\0';
            if (n < max)
                fields[n] = start;
            n++;
            start = keep = w;
            while (s + 1 < e && csv_blank(s[1]))
                s++;
            any = 1;
        } else {
            *w++ = c;
            any = 1;
        }
    }
    if (quoted) {
        *why = "unclosed quote";
        return -1;
    }
    if (!any && w == start)
        return 0; /* blank or comment-only line */
    csv_trim(start, &w, keep);
    *w = '\0';
    if (n < max)
        fields[n] = start;
    return n + 1;
}

int csv_next(csv_reader *r, char *scratch, char **fields, int max, const char **why)
{
    while (r->p < r->end) {
        const char *s = r->p;
        const char *e = memchr(s, '\n', (size_t)(r->end - s));
        if (e == NULL)
            e = r->end;
        r->p = e < r->end ? e + 1 : e;
        r->line++;
        if (e - s > CSV_MAX_LINE) {
            *why = "line longer than 4096 bytes";
            return -1;
        }
        int n = csv_split(s, e, scratch, fields, max, why);
        if (n != 0)
            return n;
    }
    return 0;
}

char *csv_slurp(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;

    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        snprintf(err, errlen, "%s: not a regular file", path);
        fclose(f);
        return NULL;
    }
    if (size > 256L * 1024 * 1024) {
        snprintf(err, errlen, "%s: larger than 256 MiB", path);
        fclose(f);
        return NULL;
    }
    buf = malloc((size_t)size + 1);
    if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        snprintf(err, errlen, "%s: %s", path, buf ? "read error" : "out of memory");
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[size] = '\0';
    *len = (size_t)size;
    return buf;
}
