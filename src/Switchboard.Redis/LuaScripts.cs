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
    // Shared by the scripts that touch a room's stream. The epoch is created when the room has none:
    // first use, keys expired with no member anywhere, or Redis restarted empty. A client holding the
    // old epoch then learns that its position means nothing any more. (A stream lost on its own, say
    // evicted, keeps the epoch: what it held is then reported missing, never invented.)
    private const string Prelude = """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local function ensure_epoch(meta, stream, candidate, size, key_ttl)
          local epoch = redis.call('HGET', meta, 'epoch')
          local top = tonumber(redis.call('HGET', meta, 'top') or '0')
          if not epoch then
            epoch = candidate
            top = 0
            redis.call('DEL', stream)
            redis.call('HSET', meta, 'epoch', epoch, 'top', 0)
            redis.call('PEXPIRE', meta, key_ttl)
          end
          return epoch, top
        end
        """ + "\n" + KeepAlive;

    // A room's meta and stream never expire while some node has members there (no node refreshes
    // them); once none has, they expire after the key TTL, counted from the last member or publication.
    private const string KeepAlive = """
        local function keep_alive(meta, stream, members, key_ttl)
          if redis.call('SCARD', members) > 0 then
            redis.call('PERSIST', meta)
            redis.call('PERSIST', stream)
          else
            redis.call('PEXPIRE', meta, key_ttl)
            redis.call('PEXPIRE', stream, key_ttl)
          end
        end

        """;

    /// <summary>
    /// Takes the room's next offset, appends the publication to the stream (bounded by count, and by
    /// age from its oldest end) and publishes it on the room channel, all at once. It also marks the
    /// room active (for the nodes' loss probes) and keeps its keys without expiry while any node has
    /// members, or expiring after the key TTL otherwise. With a fifth key (a publish's idempotency
    /// key, in the room's hash slot) that already holds a position, it does nothing and returns that
    /// position; otherwise it stores the new one there for the window.
    /// KEYS: meta, stream, members, active[, idempotency]. ARGV: channel, candidate epoch, history size, history TTL ms, key TTL ms,
    /// t|b (tc|bc with a trace context), from, payload, the trace context line (<c>TRACEPARENT[ TRACESTATE]</c>
    /// and a newline; empty without one), the active set's TTL ms, the idempotency window ms.
    /// Returns {offset, epoch, time ms}, or {offset, epoch, time ms, 1} for a repeated idempotency key.
    /// </summary>
    public const string Publish = Prelude + """
        if KEYS[5] then
          local first = redis.call('GET', KEYS[5])
          if first then
            local space = string.find(first, ' ', 1, true)
            return {tonumber(string.sub(first, 1, space - 1)), string.sub(first, space + 1), now, 1}
          end
        end
        local size = tonumber(ARGV[3])
        local epoch = ensure_epoch(KEYS[1], KEYS[2], ARGV[2], size, ARGV[5])
        local top = redis.call('HINCRBY', KEYS[1], 'top', 1)
        local message = string.format('%d %s %d %s %s\n', top, epoch, now, ARGV[6], ARGV[7]) .. ARGV[9] .. ARGV[8]
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
        end
        keep_alive(KEYS[1], KEYS[2], KEYS[3], ARGV[5])
        redis.call('ZADD', KEYS[4], now, ARGV[1])
        redis.call('PEXPIRE', KEYS[4], ARGV[10])
        redis.call('PUBLISH', ARGV[1], message)
        if KEYS[5] then
          redis.call('SET', KEYS[5], string.format('%d %s', top, epoch), 'PX', ARGV[11])
        end
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
    /// whole hash replaced). A node with users there is listed in the room's members and the room in
    /// the node's rooms (so that whoever finds the node dead can clean up after it); the room's keys
    /// then never expire. Nothing here expires with time: an entry is live while its node's liveness
    /// key is. KEYS: members, this node's hash, meta, stream, this node's rooms. ARGV: node id, room,
    /// key TTL ms, full 1|0, N, N pairs user count, users to delete.
    /// </summary>
    public const string PresenceWrite = KeepAlive + """
        if ARGV[4] == '1' then redis.call('DEL', KEYS[2]) end
        local n = tonumber(ARGV[5])
        for i = 0, n - 1 do
          redis.call('HSET', KEYS[2], ARGV[6 + 2 * i], ARGV[7 + 2 * i])
        end
        for i = 6 + 2 * n, #ARGV do
          redis.call('HDEL', KEYS[2], ARGV[i])
        end
        if redis.call('EXISTS', KEYS[2]) == 1 then
          redis.call('SADD', KEYS[1], ARGV[1])
          redis.call('SADD', KEYS[5], ARGV[2])
        else
          redis.call('SREM', KEYS[1], ARGV[1])
          redis.call('SREM', KEYS[5], ARGV[2])
        end
        keep_alive(KEYS[3], KEYS[4], KEYS[1], ARGV[3])
        return 1
        """;

    /// <summary>Removes this node from a room's presence. KEYS as <see cref="PresenceWrite"/>. ARGV: node id, room, key TTL ms.</summary>
    public const string PresenceRemove = KeepAlive + """
        redis.call('DEL', KEYS[2])
        redis.call('SREM', KEYS[1], ARGV[1])
        redis.call('SREM', KEYS[5], ARGV[2])
        keep_alive(KEYS[3], KEYS[4], KEYS[1], ARGV[3])
        return 1
        """;

    /// <summary>
    /// The users of a room on every live node but this one, as a flat list user, count, user, count.
    /// A node is live while its liveness key exists, so a dead node's users are gone from here as soon
    /// as that key expires, before anyone cleans up. KEYS: members. ARGV: this node's id, node hash
    /// prefix, liveness key prefix.
    /// </summary>
    public const string PresenceRead = """
        local out = {}
        for _, node in ipairs(redis.call('SMEMBERS', KEYS[1])) do
          if node ~= ARGV[1] and redis.call('EXISTS', ARGV[3] .. node) == 1 then
            local entries = redis.call('HGETALL', ARGV[2] .. node)
            for i = 1, #entries do out[#out + 1] = entries[i] end
          end
        end
        return out
        """;

    /// <summary>
    /// A node's periodic step, one per node and interval whatever its rooms: renews its liveness key,
    /// reports nodes whose liveness key expired (still in the index: not yet cleaned up), and returns the position
    /// of every room published to within the window, for the loss probe. KEYS: this node's liveness
    /// key, the node index, the active rooms. ARGV: node id, timeout ms, window ms, liveness key prefix,
    /// key prefix. Returns {was alive 1|0, dead count, dead node..., channel, epoch, top, ...}.
    /// </summary>
    public const string Beat = """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local timeout = tonumber(ARGV[2])
        local alive = redis.call('EXISTS', KEYS[1])
        redis.call('SET', KEYS[1], '1', 'PX', timeout)
        redis.call('ZADD', KEYS[2], now + timeout, ARGV[1])
        local result = {alive, 0}
        for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. now, 'LIMIT', 0, 16)) do
          -- The liveness key is the truth: a node whose score lags but whose key lives is left alone.
          if redis.call('EXISTS', ARGV[4] .. node) == 0 then
            result[#result + 1] = node
          end
        end
        result[2] = #result - 2
        local since = now - tonumber(ARGV[3])
        redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. since)
        local channel_prefix = ARGV[5] .. ':room:'
        for _, channel in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], since, '+inf')) do
          local room = string.sub(channel, #channel_prefix + 1)
          local meta = redis.call('HMGET', ARGV[5] .. ':{' .. room .. '}:meta', 'epoch', 'top')
          result[#result + 1] = channel
          result[#result + 1] = meta[1] or ''
          result[#result + 1] = meta[2] or '0'
        end
        return result
        """;

    /// <summary>
    /// Cleans up after a dead node, a batch of its rooms at a time: removes its presence in each,
    /// and reports the users no live node has there any more. Each room is popped by one caller, so
    /// its <c>left</c> events are sent once however many survivors clean up at the same time. KEYS: the
    /// dead node's rooms, the node index. ARGV: dead node id, key prefix, liveness key prefix, key TTL
    /// ms, batch size. Returns {1 when rooms are left, 2 when this call finished the node, 0 when
    /// another did or the node is alive again; then per room: room, users the node had, N, N users gone}.
    /// </summary>
    public const string Reap = KeepAlive + """
        if redis.call('EXISTS', ARGV[3] .. ARGV[1]) == 1 then
          -- It only stalled, and renewed its key since the beat that found it dead: leave it alone.
          return {0}
        end
        local rooms = redis.call('SPOP', KEYS[1], tonumber(ARGV[5]))
        local result = {0}
        for _, room in ipairs(rooms) do
          local base = ARGV[2] .. ':{' .. room .. '}:'
          local hash = base .. 'node:' .. ARGV[1]
          local users = redis.call('HKEYS', hash)
          redis.call('DEL', hash)
          redis.call('SREM', base .. 'members', ARGV[1])
          local live = {}
          for _, node in ipairs(redis.call('SMEMBERS', base .. 'members')) do
            if redis.call('EXISTS', ARGV[3] .. node) == 1 then live[#live + 1] = base .. 'node:' .. node end
          end
          local gone = {}
          for _, user in ipairs(users) do
            local still = false
            for _, other in ipairs(live) do
              if redis.call('HEXISTS', other, user) == 1 then
                still = true
                break
              end
            end
            if not still then gone[#gone + 1] = user end
          end
          keep_alive(base .. 'meta', base .. 'stream', base .. 'members', ARGV[4])
          result[#result + 1] = room
          result[#result + 1] = #users
          result[#result + 1] = #gone
          for _, user in ipairs(gone) do result[#result + 1] = user end
        end
        if redis.call('EXISTS', KEYS[1]) == 1 then
          result[1] = 1
        elseif redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then
          result[1] = 2
        end
        return result
        """;

    /// <summary>A node's goodbye, after it removed its presence: its liveness key, index entry and rooms. KEYS: liveness key, node index, rooms. ARGV: node id.</summary>
    public const string Stop = """
        redis.call('DEL', KEYS[1], KEYS[3])
        redis.call('ZREM', KEYS[2], ARGV[1])
        return 1
        """;
}
