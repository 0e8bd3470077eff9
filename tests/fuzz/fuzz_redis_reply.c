/* fuzz_redis_reply.c -- libFuzzer harness for the checks of FCALL replies.
 *
 * The input is raw RESP bytes, as a hostile Redis would send them: hiredis's
 * reader (the same one the writer uses) turns them into replies, and every
 * complete reply goes through redis_reply_alerts(). Each alert line it
 * accepts must be a JSON object without a raw line break, or the harness
 * aborts.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    redisReader *r = redisReaderCreate();
    void *reply = NULL;
    char err[512];
    long long count;

    if (r == NULL)
        return 0;
    r->maxbuf = 0;
    if (redisReaderFeed(r, (const char *)data, size) == REDIS_OK) {
        for (int i = 0; i < 64 && redisReaderGetReply(r, &reply) == REDIS_OK && reply; i++) {
            redis_reply_alerts(reply, &count, fuzz_on_alert, NULL, err, sizeof(err));
            redis_reply_transient(((redisReply *)reply)->type == REDIS_REPLY_ERROR
                                      ? ((redisReply *)reply)->str
                                      : "");
            freeReplyObject(reply);
            reply = NULL;
        }
    }
    redisReaderFree(r);
    return 0;
}
