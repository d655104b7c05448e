namespace Switchboard.Redis;

/// <summary>
/// Maps a room or a user to one of the configured shards, the same way on every node and in every
/// process: FNV-1a (64 bits) of the name's UTF-8 bytes, then jump consistent hash (Lamping and Veach),
/// as centrifuge's Redis broker does with its shards. Growing the list from N to N+1 shards moves
/// only about 1/(N+1) of the names, but every moved room starts over on its new shard (new epoch,
/// empty history), and nodes with different lists disagree: change the list with a full restart.
/// </summary>
internal static class ShardRing
{
    private const ulong FnvOffset = 14695981039346656037;
    private const ulong FnvPrime = 1099511628211;

    /// <summary>The shard of <paramref name="name"/> among <paramref name="shards"/> (at least one).</summary>
    public static int IndexOf(string name, int shards)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        if (shards == 1)
        {
            return 0;
        }

        return Jump(Fnv1a(name), shards);
    }

    private static ulong Fnv1a(string name)
    {
        var hash = FnvOffset;
        Span<byte> buffer = stackalloc byte[4];
        foreach (var rune in name.EnumerateRunes())
        {
            var length = rune.EncodeToUtf8(buffer);
            for (var i = 0; i < length; i++)
            {
                hash ^= buffer[i];
                hash *= FnvPrime;
            }
        }

        return hash;
    }

    // Jump consistent hash: "A Fast, Minimal Memory, Consistent Hash Algorithm", Lamping and Veach, 2014.
    private static int Jump(ulong key, int buckets)
    {
        long b = -1, j = 0;
        while (j < buckets)
        {
            b = j;
            key = unchecked((key * 2862933555777941757UL) + 1);
            j = (long)((b + 1) * ((double)(1L << 31) / ((key >> 33) + 1)));
        }

        return (int)b;
    }
}
