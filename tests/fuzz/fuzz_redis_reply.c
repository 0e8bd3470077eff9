/* fuzz_redis_reply.c -- libFuzzer harness for the checks of FCALL replies.
 *
 * The input is raw RESP bytes, as a hostile Redis would send them: hiredis's
 * reader (the same one the writer uses) turns them into replies, and every
 * complete reply goes through rreply_alerts(). Each alert line it
 * accepts must be a JSON object without a raw line break, or the harness
 * aborts.
 *
 * hiredis 0.14's reader allocates an aggregate's element array from the
 * count in its header, with no cap (hiredis 1.0 added maxelements), so a
 * header such as "*999999999" exhausts memory inside hiredis before any of
 * loophole's code runs. That is a known limit of the library (docs/redis.md,
 * "A hostile Redis"), not of the checks fuzzed here, so such inputs are
 * skipped.
 */
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redis/reply.h"

static void fuzz_on_alert(void *ctx, const char *line, size_t len)
{
    (void)ctx;
    if (len < 2 || line[0] != '{' || memchr(line, '\n', len) || memchr(line, '\r', len))
        abort();
}

/* Whether an aggregate header announces more than 4096 elements. */
static int fuzz_huge_aggregate(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        if (data[i] != '*' && data[i] != '%' && data[i] != '~')
            continue;
        long long n = 0;
        size_t j = i + 1;
        while (j < size && data[j] >= '0' && data[j] <= '9' && n < 1000000)
            n = n * 10 + (data[j++] - '0');
        if (n > 4096)
            return 1;
    }
    return 0;
}

/* A next step must be FCALL lh_risk|lh_emit|lh_host 1 ... (reply.h). */
static void fuzz_on_call(void *ctx, int argc, const char *const *argv, const size_t *lens)
{
    (void)ctx;
    if (argc < 4 || argc > RREPLY_MAX_ARGS || lens[0] != 5 || memcmp(argv[0], "FCALL", 5) != 0 ||
        lens[2] != 1 || argv[2][0] != '1')
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    redisReader *r = redisReaderCreate();
    void *reply = NULL;
    char err[512];
    long long count;

    if (fuzz_huge_aggregate(data, size)) {
        redisReaderFree(r);
        return 0;
    }
    if (r == NULL)
        return 0;
    r->maxbuf = 0;
    if (redisReaderFeed(r, (const char *)data, size) == REDIS_OK) {
        for (int i = 0; i < 64 && redisReaderGetReply(r, &reply) == REDIS_OK && reply; i++) {
            if (rreply_alerts(reply, &count, fuzz_on_alert, NULL, err, sizeof(err)) >= 0)
                rreply_calls(reply, fuzz_on_call, NULL);
            rreply_transient(
                ((redisReply *)reply)->type == REDIS_REPLY_ERROR ? ((redisReply *)reply)->str : "");
            freeReplyObject(reply);
            reply = NULL;
        }
    }
    redisReaderFree(r);
    return 0;
}
