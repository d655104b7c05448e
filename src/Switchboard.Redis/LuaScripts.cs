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
        local function keep_alive(meta, stream, members, key_ttl, announced)
          if redis.call('SCARD', members) > 0 then
            redis.call('PERSIST', meta)
            redis.call('PERSIST', stream)
            if announced then redis.call('PERSIST', announced) end
          else
            redis.call('PEXPIRE', meta, key_ttl)
            redis.call('PEXPIRE', stream, key_ttl)
            if announced then redis.call('PEXPIRE', announced, key_ttl) end
          end
        end

        """;

    /// <summary>
    /// Takes the room's next offset, appends the publication to the stream (bounded by count, and by
    /// age from its oldest end) and publishes it on the room channel, all at once. It keeps the room's
    /// keys without expiry while any node has members, or expiring after the key TTL otherwise. (The
    /// mark for the loss probe is another key, in another slot: <see cref="MarkActive"/>.) With a
    /// fourth key (a publish's idempotency key, in the room's slot) that already holds a position, it
    /// does nothing and returns that position; otherwise it stores the new one there for the window.
    /// KEYS: meta, stream, members[, idempotency]. ARGV: channel, candidate epoch, history size, history TTL ms, key TTL ms,
    /// t|b (tc|bc with a trace context), from, payload, the trace context line (<c>TRACEPARENT[ TRACESTATE]</c>
    /// and a newline; empty without one), <c>s</c> to publish with SPUBLISH (Redis Cluster's sharded
    /// pub/sub, the channel being in the room's slot) or anything else for PUBLISH, the idempotency
    /// window ms. Returns {offset, epoch, time ms}, or {offset, epoch, time ms, 1} for a repeated key.
    /// </summary>
    public const string Publish = Prelude + """
        if KEYS[4] then
          local first = redis.call('GET', KEYS[4])
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
        if ARGV[10] == 's' then
          redis.call('SPUBLISH', ARGV[1], message)
        else
          redis.call('PUBLISH', ARGV[1], message)
        end
        if KEYS[4] then
          redis.call('SET', KEYS[4], string.format('%d %s', top, epoch), 'PX', ARGV[11])
        end
        return {top, epoch, now}
        """;

    /// <summary>
    /// Marks a room as published to, for the nodes' loss probes (see <see cref="Beat"/>). Sent beside
    /// every publication, on the home shard. KEYS: the active rooms. ARGV: room, the set's TTL ms.
    /// </summary>
    public const string MarkActive = """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        redis.call('ZADD', KEYS[1], now, ARGV[1])
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return 1
        """;

    /// <summary>
    /// Starts the room's stream again under a new epoch when it still has the epoch a node saw go
    /// backwards (its offsets handed out twice); another node may have rotated it first, and then
    /// nothing changes. The stream is emptied: what it held is mixed from two histories.
    /// The keys keep their expiry (none while members are there). KEYS: meta, stream. ARGV: the epoch
    /// observed, the candidate epoch. Returns {epoch, top}.
    /// </summary>
    public const string RotateEpoch = """
        local epoch = redis.call('HGET', KEYS[1], 'epoch')
        if epoch == ARGV[1] then
          epoch = ARGV[2]
          redis.call('DEL', KEYS[2])
          redis.call('HSET', KEYS[1], 'epoch', epoch, 'top', 0)
        end
        return {epoch or '', tonumber(redis.call('HGET', KEYS[1], 'top') or '0')}
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
    /// Applies a node's presence in a room and decides, in the same step, which <c>joined</c>/<c>left</c>
    /// events that changes, publishing them on the room channel. A user is in the room while any
    /// member node's hash has it (liveness is another slot's: a dead node's entries count until a
    /// survivor removes them, with this script, which then sends their <c>left</c> events). The
    /// room's <c>announced</c> hash holds the users whose last event was <c>joined</c>: a <c>joined</c>
    /// goes out for a user who is in the room and not announced, a <c>left</c> for one who is in no
    /// hash and announced, so two nodes cannot both announce the same user, and events alternate.
    /// MODE: <c>0</c> applies counts to set and users to delete, <c>1</c> replaces the hash with the
    /// counts, <c>d</c> writes nothing (only decides), <c>r</c> removes the (dead) node's hash and
    /// decides <c>left</c> for each of its users (when they were at most the reap limit; -1: none).
    /// A node with users there is listed in the room's members; the room's keys then never expire.
    /// Other member nodes' hashes are read, so they come in KEYS: when the caller's list misses a
    /// member and there is something to decide, nothing is done and {-1, member...} returned (the
    /// caller retries with the members). The node's list of rooms is another key, written by the caller.
    /// KEYS: members, the node's hash, meta, stream, announced, the other member nodes' hashes.
    /// ARGV: node id, key TTL ms, MODE, N, R, A, heal 1|0 (announce every user of the node's hash not
    /// announced), reap limit, channel, publish mode, the joined message before and after the user,
    /// the left message before and after the user, the other nodes' ids (one per extra key), N pairs
    /// user count, R users to delete, A pairs user 1|0 (joined|left) the node asks to announce.
    /// Returns {1 when the node has users in the room else 0, then user, 1|0 per event published}.
    /// </summary>
    public const string PresenceWrite = KeepAlive + """
        local mode = ARGV[3]
        local n, r, a = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
        local heal = ARGV[7] == '1'
        local reap_limit = tonumber(ARGV[8])
        local others = #KEYS - 5
        local sets = 15 + others
        local removes = sets + 2 * n
        local announces = removes + r
        if a > 0 or heal or (mode == 'r' and reap_limit >= 0) then
          local known = {}
          for i = 15, 14 + others do known[ARGV[i]] = true end
          local members = redis.call('SMEMBERS', KEYS[1])
          for _, node in ipairs(members) do
            if node ~= ARGV[1] and not known[node] then
              local stale = {-1}
              for _, member in ipairs(members) do stale[#stale + 1] = member end
              return stale
            end
          end
        end
        local before = {}
        if mode == 'r' then
          before = redis.call('HKEYS', KEYS[2])
          redis.call('DEL', KEYS[2])
        elseif mode ~= 'd' then
          if mode == '1' then redis.call('DEL', KEYS[2]) end
          for i = 0, n - 1 do
            redis.call('HSET', KEYS[2], ARGV[sets + 2 * i], ARGV[sets + 1 + 2 * i])
          end
          for i = removes, announces - 1 do
            redis.call('HDEL', KEYS[2], ARGV[i])
          end
        end
        local present = redis.call('EXISTS', KEYS[2])
        if mode ~= 'd' then
          if present == 1 then
            redis.call('SADD', KEYS[1], ARGV[1])
          else
            redis.call('SREM', KEYS[1], ARGV[1])
          end
          keep_alive(KEYS[3], KEYS[4], KEYS[1], ARGV[2], KEYS[5])
        end
        local result = {present}
        local function in_room(user)
          for i = 2, #KEYS do
            if i ~= 3 and i ~= 4 and i ~= 5 and redis.call('HEXISTS', KEYS[i], user) == 1 then return true end
          end
          return false
        end
        local function announce(user, joined)
          local here = in_room(user)
          local announced = redis.call('HEXISTS', KEYS[5], user) == 1
          local message
          if joined and here and not announced then
            redis.call('HSET', KEYS[5], user, 1)
            message = ARGV[11] .. user .. ARGV[12]
          elseif not joined and not here and announced then
            redis.call('HDEL', KEYS[5], user)
            message = ARGV[13] .. user .. ARGV[14]
          else
            return
          end
          if ARGV[10] == 's' then
            redis.call('SPUBLISH', ARGV[9], message)
          else
            redis.call('PUBLISH', ARGV[9], message)
          end
          result[#result + 1] = user
          result[#result + 1] = joined and 1 or 0
        end
        for i = 0, a - 1 do
          announce(ARGV[announces + 2 * i], ARGV[announces + 1 + 2 * i] == '1')
        end
        if heal then
          for _, user in ipairs(redis.call('HKEYS', KEYS[2])) do announce(user, true) end
        end
        if mode == 'r' and reap_limit >= 0 and #before <= reap_limit then
          for _, user in ipairs(before) do announce(user, false) end
        end
        return result
        """;

    /// <summary>
    /// Removes a node's presence in a room, announcing nothing: used by a node whose last member left
    /// the room (the hub announces that member's <c>left</c> next, decided by <see cref="PresenceWrite"/>).
    /// KEYS: members, the node's hash, meta, stream, announced. ARGV: node id, key TTL ms.
    /// </summary>
    public const string PresenceRemove = KeepAlive + """
        redis.call('DEL', KEYS[2])
        redis.call('SREM', KEYS[1], ARGV[1])
        keep_alive(KEYS[3], KEYS[4], KEYS[1], ARGV[2], KEYS[5])
        return 1
        """;

    /// <summary>
    /// The nodes among ARGV that are live: whose score in the node index is in the future. KEYS: the
    /// node index. ARGV: node ids. Returns the live ones.
    /// </summary>
    public const string LiveNodes = """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local live = {}
        for i = 1, #ARGV do
          local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
          if score and tonumber(score) >= now then live[#live + 1] = ARGV[i] end
        end
        return live
        """;

    /// <summary>
    /// A node's periodic step, one per node and interval whatever its rooms: renews its liveness (its
    /// score in the node index), reports nodes whose liveness ended (still in the index: not yet
    /// cleaned up), and returns the rooms published to within the window, for the loss probe (the
    /// caller reads the position of those it serves, each in its own slot). KEYS: the node index, the
    /// active rooms. ARGV: node id, timeout ms, window ms. Returns {was live 1|0, dead count, dead node..., room...}.
    /// </summary>
    public const string Beat = """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local timeout = tonumber(ARGV[2])
        local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
        local alive = 0
        if score and tonumber(score) >= now then alive = 1 end
        redis.call('ZADD', KEYS[1], now + timeout, ARGV[1])
        local result = {alive, 0}
        for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, 16)) do
          result[#result + 1] = node
        end
        result[2] = #result - 2
        local since = now - tonumber(ARGV[3])
        redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. since)
        for _, room in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], since, '+inf')) do
          result[#result + 1] = room
        end
        return result
        """;

    /// <summary>
    /// Takes a batch of a dead node's rooms to clean up. Each room is popped by one caller, so its
    /// <c>left</c> events are sent once however many survivors clean up at the same time; the caller
    /// then runs <see cref="PresenceWrite"/> (mode <c>r</c>) in each room. KEYS: the node index, the dead node's rooms.
    /// ARGV: dead node id, batch size. Returns {1 when rooms are left, 2 when this call finished the
    /// node, 0 when another did or the node is live again; then the rooms taken}.
    /// </summary>
    public const string ReapTake = """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
        if not score or tonumber(score) >= now then
          -- Finished by another survivor, or it only stalled and renewed since the beat that found it dead.
          return {0}
        end
        local result = {1}
        for _, room in ipairs(redis.call('SPOP', KEYS[2], tonumber(ARGV[2]))) do result[#result + 1] = room end
        if redis.call('EXISTS', KEYS[2]) == 0 then
          redis.call('ZREM', KEYS[1], ARGV[1])
          result[1] = 2
        end
        return result
        """;

    /// <summary>A node's goodbye, after it removed its presence: its index entry and its rooms. KEYS: node index, rooms. ARGV: node id.</summary>
    public const string Stop = """
        redis.call('DEL', KEYS[2])
        redis.call('ZREM', KEYS[1], ARGV[1])
        return 1
        """;

    /// <summary>
    /// Sends a direct message: counts it in the user's direct counter (KEYS[1], renewed for ARGV[3] ms)
    /// and publishes ARGV[2] on the user's channel ARGV[1], with SPUBLISH when ARGV[4] is <c>s</c>.
    /// The count is what lets a node find out later how many it missed (<see cref="SyncDirects"/>).
    /// </summary>
    public const string SendDirect = """
        local count = redis.call('INCR', KEYS[1])
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        if ARGV[4] == 's' then
          redis.call('SPUBLISH', ARGV[1], ARGV[2])
        else
          redis.call('PUBLISH', ARGV[1], ARGV[2])
        end
        return count
        """;

    /// <summary>
    /// Publishes the user's direct counter (KEYS[1]; 0 when none was sent lately) on the user's channel
    /// ARGV[1] as <c>S COUNT</c>: in line with the direct messages themselves, so every node that hears
    /// it has heard every direct sent before it, or missed it.
    /// </summary>
    public const string SyncDirects = """
        local count = tonumber(redis.call('GET', KEYS[1]) or '0')
        if ARGV[2] == 's' then
          redis.call('SPUBLISH', ARGV[1], 'S ' .. count)
        else
          redis.call('PUBLISH', ARGV[1], 'S ' .. count)
        end
        return count
        """;
}
