using System.Globalization;

namespace Switchboard.Load.Metrics;

/// <summary>
/// Reads another local process's memory from <c>/proc/PID/status</c>. Only resident set sizes are
/// available from outside: a remote process cannot be made to collect its garbage first, so a delta
/// includes whatever garbage its GC has not yet reclaimed.
/// </summary>
internal static class ServerMemory
{
    /// <summary>VmRSS and RssAnon in bytes, or null when the process is gone.</summary>
    public static MemorySample? Read(int pid)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines($"/proc/{pid}/status");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        long? rss = null;
        long? anon = null;
        foreach (var line in lines)
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = ParseKilobytes(line);
            }
            else if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
            {
                anon = ParseKilobytes(line);
            }
        }

        return rss is null ? null : new MemorySample(rss.Value, anon ?? 0);
    }

    private static long ParseKilobytes(string line)
    {
        // "VmRSS:	  123456 kB"
        var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
    }
}

/// <summary>One reading of a process's resident memory, in bytes.</summary>
internal readonly record struct MemorySample(long Rss, long RssAnon);
