using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Switchboard.Load.Metrics;

namespace Switchboard.Load.Compare;

/// <summary>
/// One fresh server process of a target, pinned to its core with <c>taskset</c> when asked, on
/// 127.0.0.1 and a free port. Its CPU time and resident memory are read from <c>/proc/PID</c>.
/// </summary>
internal sealed class PeerServer : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(15);
    private const int KeptOutputLines = 20;

    private readonly Process _process;
    private readonly Queue<string> _output = new();

    private PeerServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public int Pid => _process.Id;

    /// <summary>Starts <paramref name="target"/> and returns once it accepts TCP connections.</summary>
    public static async Task<PeerServer> StartAsync(PeerTarget target, string repoRoot, int? core, CancellationToken cancellationToken)
    {
        var port = FreePort();
        var info = target.StartInfo(repoRoot, port);
        if (core is { } pinned)
        {
            // taskset execs the server, so the process id stays the server's own.
            info.ArgumentList.Insert(0, info.FileName);
            info.ArgumentList.Insert(0, pinned.ToString(System.Globalization.CultureInfo.InvariantCulture));
            info.ArgumentList.Insert(0, "-c");
            info.FileName = "taskset";
        }

        info.UseShellExecute = false;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.WorkingDirectory = repoRoot;
        var process = Process.Start(info) ?? throw new InvalidOperationException($"{target.Name}: could not start {info.FileName}");
        var server = new PeerServer(process, port);
        process.OutputDataReceived += (_, e) => server.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => server.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await server.WaitUntilAcceptingAsync(target.Name, cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>The server's user + system CPU time so far, from <c>/proc/PID/stat</c>.</summary>
    public TimeSpan CpuTime()
    {
        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    /// <summary>The server's resident set size in bytes (VmRSS), or 0 when it is gone.</summary>
    public long Rss() => ServerMemory.Read(Pid)?.Rss ?? 0;

    /// <summary>The last lines the server printed, for an error message.</summary>
    public string RecentOutput()
    {
        lock (_output)
        {
            return string.Join(Environment.NewLine, _output);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        using var timeout = new CancellationTokenSource(StopTimeout);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"warning: server process {Pid} did not exit within {StopTimeout.TotalSeconds:N0} s of being killed");
        }

        _process.Dispose();
    }

    private static int FreePort()
    {
        // The port is free when this returns; a race with another process taking it shows up as a
        // server that fails to start, which the run reports.
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Enqueue(line);
            if (_output.Count > KeptOutputLines)
            {
                _output.Dequeue();
            }
        }
    }

    private async Task WaitUntilAcceptingAsync(string name, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{name} exited with {_process.ExitCode} before accepting: {RecentOutput()}");
            }

            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await probe.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Port), timeout.Token);
                return;
            }
            catch (SocketException)
            {
                // Not listening yet: poll again shortly (a condition, bounded by StartTimeout).
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw NotAccepting(name);
            }

            try
            {
                await Task.Delay(50, timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw NotAccepting(name);
            }
        }
    }

    private InvalidOperationException NotAccepting(string name) =>
        new($"{name} did not accept connections within {StartTimeout.TotalSeconds:N0} s: {RecentOutput()}");
}
