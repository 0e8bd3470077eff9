/* fuzz_config.c -- libFuzzer harness for the configuration parsers.
 *
 * The input is split at the first NUL byte: what comes before is an INI
 * file, read by config_load_file() from a memory file (the parser reads
 * from a path, as it does for -c); what comes after is a command line, one
 * argument per line, given to config_parse_args() after "loophole".
 * Arguments that would make it print (--help, --version, -h) or read a
 * file (-c) are dropped: the first would flood the fuzzer's output, the
 * second would read the fuzzer's own file system.
 *
 * Whatever the input, the parsers must return one of their codes, and an
 * error must come with a message; every config is freed, so
 * LeakSanitizer checks that a half-loaded file leaks nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "app/config.h"

static void fuzz_file(const uint8_t *data, size_t n)
{
    static int fd = -1;
    char path[64], err[1024] = "";
    config c;

    if (fd < 0 && (fd = memfd_create("fuzz_config.ini", 0)) < 0)
        abort();
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, n, 0) != (ssize_t)n)
        abort();
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    config_init(&c);
    int rc = config_load_file(&c, path, err, sizeof(err));
    if ((rc != 0 && rc != -1) || (rc != 0 && err[0] == '\0'))
        abort();
    config_free(&c);
}

static int fuzz_skipped(const char *a)
{
    return strncmp(a, "-c", 2) == 0 || strncmp(a, "-h", 2) == 0 || strncmp(a, "--h", 3) == 0 ||
           strncmp(a, "--v", 3) == 0 || (a[0] == '-' && a[1] != '-' && strpbrk(a, "ch"));
}

static void fuzz_args(const uint8_t *data, size_t n)
{
    char *text = malloc(n + 1), *argv[64], err[1024] = "";
    int argc = 0;
    config c;

    if (text == NULL)
        abort();
    memcpy(text, data, n);
    text[n] = '\0';
    argv[argc++] = "loophole";
    for (char *tok = text, *nl; tok && argc < 63; tok = nl) {
        if ((nl = memchr(tok, '\n', strlen(tok))) != NULL)
            *nl++ = '\0';
        if (!fuzz_skipped(tok))
            argv[argc++] = tok;
    }
    argv[argc] = NULL;
    config_init(&c);
    int rc = config_parse_args(&c, argc, argv, err, sizeof(err));
    if (rc != CONFIG_OK && (rc != CONFIG_ERROR || err[0] == '\0'))
        abort();
    config_free(&c);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t ini = nul ? (size_t)(nul - data) : size;

    if (size > 65536)
        return 0;
    fuzz_file(data, ini);
    if (nul)
        fuzz_args(nul + 1, size - ini - 1);
    return 0;
}
