using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Switchboard.ScaleBench;

/// <summary>
/// The shipped host (Switchboard.Server.dll) as its own process on 127.0.0.1 on a port the OS picks,
/// on Redis, with the bench's limits (as <see cref="BenchNode"/>): a node of a scale-out run, so
/// each node's CPU can be read on its own.
/// </summary>
internal sealed partial class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private NodeProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    /// <summary>http://127.0.0.1:PORT/</summary>
    public Uri BaseUri { get; private set; } = null!;

    public static async Task<NodeProcess> StartAsync(string serverDll, string redis, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(serverDll)!,
        };
        foreach (var arg in new[] { serverDll, "--urls", "http://127.0.0.1:0" })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        info.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        info.Environment["Switchboard__Broker"] = "redis";
        info.Environment["Switchboard__Redis__Configuration"] = redis;
        foreach (var (key, value) in BenchNode.Settings)
        {
            info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var node = new NodeProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start " + serverDll));
        node._process.OutputDataReceived += (_, e) => node.OnLine(e.Data);
        node._process.ErrorDataReceived += (_, e) => node.OnLine(e.Data);
        node._process.BeginOutputReadLine();
        node._process.BeginErrorReadLine();
        node.BaseUri = await node._listening.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        return node;
    }

    public double CpuSeconds() => ProcessCpu.Seconds(Pid);

    private void OnLine(string? line)
    {
        if (line is not null && ListeningLine().Match(line) is { Success: true } match)
        {
            _listening.TrySetResult(new Uri(match.Groups[1].Value.TrimEnd('/') + "/"));
        }
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningLine();

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
    }

    /// <summary>The server binary beside this repository's build, or the one given.</summary>
    public static string FindServer(string? given)
    {
        if (given is not null)
        {
            return Path.GetFullPath(given);
        }

        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "src", "Switchboard.Server", "bin", "Release", "net10.0", "Switchboard.Server.dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("Switchboard.Server.dll not found: dotnet build src/Switchboard.Server -c Release, or pass --server");
    }

    /// <summary>The repository's deploy/nginx/switchboard.conf, found from this binary upwards.</summary>
    public static string FindNginxSite()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "deploy", "nginx", "switchboard.conf");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("deploy/nginx/switchboard.conf not found above " + AppContext.BaseDirectory);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"node {Pid} at {BaseUri}");
}
