using System.Globalization;

namespace Switchboard.ScaleBench;

/// <summary>
/// CPU time a process has used, from <c>/proc/PID/stat</c> (user + system, in the kernel's clock
/// ticks of 10 ms): what each node, nginx and Redis spent on a run, read before and after it.
/// </summary>
internal static class ProcessCpu
{
    private const double SecondsPerTick = 0.01;

    /// <summary>A process and its children (nginx's master and worker).</summary>
    public static double TreeSeconds(int pid) => Seconds(pid) + Children(pid).Sum(TreeSeconds);

    public static double Seconds(int pid)
    {
        var path = $"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat";
        if (!File.Exists(path))
        {
            return 0;
        }

        // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
        var stat = File.ReadAllText(path);
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * SecondsPerTick;
    }

    private static int[] Children(int pid)
    {
        var tasks = $"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/task";
        if (!Directory.Exists(tasks))
        {
            return [];
        }

        return Directory.EnumerateDirectories(tasks)
            .Select(task => Path.Combine(task, "children"))
            .Where(File.Exists)
            .SelectMany(file => File.ReadAllText(file).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(child => int.Parse(child, CultureInfo.InvariantCulture))
            .ToArray();
    }
}
