namespace Switchboard.Redis;

/// <summary>
/// The Lua scripts that make each broker step one atomic Redis operation. Times come from Redis
/// (<c>TIME</c>), never from a node's clock, so nodes with skewed clocks agree on ages and expiries.
/// StackExchange.Redis loads each script once per connection and runs it with <c>EVALSHA</c>.
/// </summary>
/// <remarks>
/// The wire format of a publication, in the stream (field <c>p</c>) and on the room channel alike, is
/// one ASCII header line <c>OFFSET EPOCH TIME_MS t|b FROM</c> (FROM empty for the HTTP API), a
/// newline, then the payload bytes untouched; a traced publication has <c>tc|bc</c> and one more line,
/// its trace context, before the payload. See <see cref="ChannelMessages"/>.
/// </remarks>
internal static class LuaScripts
{
    // Shared by the scripts that touch a room's stream. The epoch is created when the room has none,
    // and replaced when the stream is gone although offsets were taken (expired, evicted or flushed):
    // a client holding the old epoch then learns that its position means nothing any more.
    private const string Prelude = """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local function ensure_epoch(meta, stream, candidate, size, key_ttl)
          local epoch = redis.call('HGET', meta, 'epoch')
          local top = tonumber(redis.call('HGET', meta, 'top') or '0')
          if not epoch or (size > 0 and top > 0 and redis.call('EXISTS', stream) == 0) then
            epoch = candidate
            top = 0
            redis.call('DEL', stream)
            redis.call('HSET', meta, 'epoch', epoch, 'top', 0)
            redis.call('PEXPIRE', meta, key_ttl)
          end
          return epoch, top
        end

        """;

    /// <summary>
    /// Takes the room's next offset, appends the publication to the stream (bounded by count, and by
    /// age from its oldest end) and publishes it on the room channel, all at once.
    /// KEYS: meta, stream. ARGV: channel, candidate epoch, history size, history TTL ms, key TTL ms,
    /// t|b (tc|bc with a trace context), from, payload, and only with a trace context its line
    /// (<c>TRACEPARENT[ TRACESTATE]</c> and a newline). Returns {offset, epoch, time ms}.
    /// </summary>
    public const string Publish = Prelude + """
        local size = tonumber(ARGV[3])
        local epoch = ensure_epoch(KEYS[1], KEYS[2], ARGV[2], size, ARGV[5])
        local top = redis.call('HINCRBY', KEYS[1], 'top', 1)
        local message = string.format('%d %s %d %s %s\n', top, epoch, now, ARGV[6], ARGV[7]) .. (ARGV[9] or '') .. ARGV[8]
        if size > 0 then
          redis.call('XADD', KEYS[2], 'MAXLEN', size, string.format('%d-0', top), 't', now, 'p', message)
          -- Age trimming from the oldest end; usually one XRANGE of one entry. Readers also skip
          -- expired entries, so a partial trim here is never visible.
          local cutoff = now - tonumber(ARGV[4])
          local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
          if #oldest > 0 and tonumber(oldest[1][2][2]) < cutoff then
            local batch = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 64)
            local keep = nil
            for i = 1, #batch do
              if tonumber(batch[i][2][2]) >= cutoff then
                keep = batch[i][1]
                break
              end
            end
            if keep == nil then
              keep = string.format('%d-0', tonumber(string.match(batch[#batch][1], '^(%d+)')) + 1)
            end
            redis.call('XTRIM', KEYS[2], 'MINID', keep)
          end
          redis.call('PEXPIRE', KEYS[2], ARGV[5])
        end
        redis.call('PEXPIRE', KEYS[1], ARGV[5])
        redis.call('PUBLISH', ARGV[1], message)
        return {top, epoch, now}
        """;

    /// <summary>
    /// Reads the room's position and retained publications. Mode <c>top</c>: none; <c>latest</c>:
    /// the last COUNT; <c>after</c>: up to COUNT after OFFSET; <c>since</c>: as <c>after</c> when
    /// EPOCH is the room's and OFFSET is not beyond its top, else as <c>latest</c>.
    /// KEYS: meta, stream. ARGV: candidate epoch, history size, history TTL ms, key TTL ms, mode,
    /// count, offset, epoch. Returns {epoch, top, mode used, publication...} (latest: newest first).
    /// </summary>
    public const string Read = Prelude + """
        local size = tonumber(ARGV[2])
        local epoch, top = ensure_epoch(KEYS[1], KEYS[2], ARGV[1], size, ARGV[4])
        local mode = ARGV[5]
        local count = tonumber(ARGV[6])
        local from = tonumber(ARGV[7])
        if mode == 'since' then
          if ARGV[8] == epoch and from <= top then mode = 'after' else mode = 'latest' end
        end
        local result = {epoch, top, mode}
        if count > 0 and size > 0 and (mode == 'after' or mode == 'latest') then
          local entries
          if mode == 'after' then
            entries = redis.call('XRANGE', KEYS[2], string.format('%d-0', from + 1), '+', 'COUNT', count)
          else
            entries = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', count)
          end
          local cutoff = now - tonumber(ARGV[3])
          for i = 1, #entries do
            if tonumber(entries[i][2][2]) >= cutoff then
              result[#result + 1] = entries[i][2][4]
            end
          end
        end
        return result
        """;

    /// <summary>
    /// Applies this node's presence in a room: user counts to set, users to delete (or, with FULL, the
    /// whole hash replaced), then renews the node's entry. KEYS: nodes, this node's hash. ARGV: node
    /// id, timeout ms, full 1|0, N, N pairs user count, users to delete.
    /// </summary>
    public const string PresenceWrite = """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local timeout = tonumber(ARGV[2])
        if ARGV[3] == '1' then redis.call('DEL', KEYS[2]) end
        local n = tonumber(ARGV[4])
        for i = 0, n - 1 do
          redis.call('HSET', KEYS[2], ARGV[5 + 2 * i], ARGV[6 + 2 * i])
        end
        for i = 5 + 2 * n, #ARGV do
          redis.call('HDEL', KEYS[2], ARGV[i])
        end
        if redis.call('EXISTS', KEYS[2]) == 1 then
          -- The hash outlives the node's score so that whoever reaps the node can still read its users.
          redis.call('PEXPIRE', KEYS[2], 2 * timeout)
          redis.call('ZADD', KEYS[1], now + timeout, ARGV[1])
          if redis.call('PTTL', KEYS[1]) < 2 * timeout then redis.call('PEXPIRE', KEYS[1], 2 * timeout) end
        else
          redis.call('ZREM', KEYS[1], ARGV[1])
        end
        return 1
        """;

    /// <summary>Removes this node from a room's presence. KEYS: nodes, this node's hash. ARGV: node id.</summary>
    public const string PresenceRemove = """
        redis.call('DEL', KEYS[2])
        redis.call('ZREM', KEYS[1], ARGV[1])
        return 1
        """;

    /// <summary>
    /// The users of a room on every live node but this one, as a flat list user, count, user, count.
    /// KEYS: nodes. ARGV: this node's id, node hash prefix.
    /// </summary>
    public const string PresenceRead = """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local out = {}
        for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')) do
          if node ~= ARGV[1] then
            local entries = redis.call('HGETALL', ARGV[2] .. node)
            for i = 1, #entries do out[#out + 1] = entries[i] end
          end
        end
        return out
        """;

    /// <summary>
    /// A node's periodic step for one room it serves: renews its presence entry (reporting whether it
    /// was still there), keeps the room's stream alive while it has members, reaps nodes whose entries
    /// expired (a node that died without a word) and returns the room's position for the lost-message
    /// check. KEYS: nodes, this node's hash, meta, stream. ARGV: node id, timeout ms, key TTL ms, node
    /// hash prefix. Returns {present 1|0, epoch or '', top, nodes reaped, users gone with them...}.
    /// </summary>
    public const string Heartbeat = """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local timeout = tonumber(ARGV[2])
        local present = redis.call('EXISTS', KEYS[2])
        if present == 1 then
          redis.call('PEXPIRE', KEYS[2], 2 * timeout)
          redis.call('ZADD', KEYS[1], now + timeout, ARGV[1])
          if redis.call('PTTL', KEYS[1]) < 2 * timeout then redis.call('PEXPIRE', KEYS[1], 2 * timeout) end
        end
        redis.call('PEXPIRE', KEYS[3], ARGV[3])
        redis.call('PEXPIRE', KEYS[4], ARGV[3])
        -- Only the caller whose script removes a dead node reports its users: every left event is sent once.
        local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, 16)
        local result = {present, redis.call('HGET', KEYS[3], 'epoch') or '', redis.call('HGET', KEYS[3], 'top') or '0', #dead}
        if #dead > 0 then
          local users = {}
          for _, node in ipairs(dead) do
            for _, user in ipairs(redis.call('HKEYS', ARGV[4] .. node)) do users[user] = true end
            redis.call('DEL', ARGV[4] .. node)
            redis.call('ZREM', KEYS[1], node)
          end
          local live = redis.call('ZRANGE', KEYS[1], 0, -1)
          for user in pairs(users) do
            local still = false
            for _, node in ipairs(live) do
              if redis.call('HEXISTS', ARGV[4] .. node, user) == 1 then
                still = true
                break
              end
            end
            if not still then result[#result + 1] = user end
          end
        end
        return result
        """;
}
