using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// A real <c>redis-sentinel</c> (Debian's package) on a free 127.0.0.1 port, monitoring one master
/// as <see cref="ServiceName"/>. Its configuration file lives in its own temporary directory, since
/// Sentinel rewrites that file as it learns the replicas, the other Sentinels and every failover.
/// Stopped and deleted on dispose.
/// </summary>
public sealed class RedisSentinel : IAsyncDisposable
{
    /// <summary>The service every test Sentinel monitors.</summary>
    public const string ServiceName = "mymaster";

    private const string Executable = "redis-sentinel";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(5);

    private readonly string _directory;
    private readonly StringBuilder _output = new();
    private Process? _process;

    private RedisSentinel(string directory, int port)
    {
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    /// <summary>What the Sentinel printed (its failover events among them), for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Starts a Sentinel monitoring the master on <paramref name="masterPort"/> with a quorum of two,
    /// and waits until it answers with that master's address. The master counts as down after
    /// <paramref name="downAfterMilliseconds"/> without an answer (Redis's default is 30 s; tests want a second).
    /// </summary>
    public static async Task<RedisSentinel> StartAsync(int masterPort, int downAfterMilliseconds = 1000, int failoverTimeoutMilliseconds = 5000)
    {
        var directory = Directory.CreateTempSubdirectory("switchboard-sentinel-").FullName;
        Exception? last = null;
        // A port found free can be taken before the Sentinel binds it; another one is tried then.
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var sentinel = new RedisSentinel(directory, FreePorts.Next());
            try
            {
                await sentinel.StartProcessAsync(masterPort, downAfterMilliseconds, failoverTimeoutMilliseconds);
                return sentinel;
            }
            catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
            {
                last = ex;
                sentinel.KillProcess();
                await sentinel.WaitForExitAsync();
            }
        }

        Directory.Delete(directory, recursive: true);
        throw new InvalidOperationException("could not start redis-sentinel", last);
    }

    /// <summary>The port of the master this Sentinel currently names for the service, or null when it names none.</summary>
    public async Task<int?> MasterPortAsync()
    {
        var reply = await CommandAsync("SENTINEL", "get-master-addr-by-name", ServiceName);
        return reply is [_, var port] ? int.Parse(port, CultureInfo.InvariantCulture) : null;
    }

    /// <summary>Sends one command and returns its reply as lines: a status or a number as one, an array as its bulk strings.</summary>
    public Task<IReadOnlyList<string>> CommandAsync(params string[] args) => Resp.CommandAsync(Port, args, CommandTimeout);

    public async ValueTask DisposeAsync()
    {
        KillProcess();
        await WaitForExitAsync();
        _process?.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still being rewritten by the dying Sentinel: the temp directory is left for the OS to clean.
        }
    }

    private async Task StartProcessAsync(int masterPort, int downAfterMilliseconds, int failoverTimeoutMilliseconds)
    {
        var port = Port.ToString(CultureInfo.InvariantCulture);
        var file = Path.Combine(_directory, $"sentinel-{port}.conf");
        await File.WriteAllTextAsync(file, $"""
            port {port}
            bind 127.0.0.1
            daemonize no
            dir {_directory}
            sentinel resolve-hostnames no
            sentinel monitor {ServiceName} 127.0.0.1 {masterPort.ToString(CultureInfo.InvariantCulture)} 2
            sentinel down-after-milliseconds {ServiceName} {downAfterMilliseconds.ToString(CultureInfo.InvariantCulture)}
            sentinel failover-timeout {ServiceName} {failoverTimeoutMilliseconds.ToString(CultureInfo.InvariantCulture)}
            sentinel parallel-syncs {ServiceName} 1

            """);
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory,
        };
        info.ArgumentList.Add(file);
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("redis-sentinel is not installed: run ./scripts/test.sh, or apt-get install redis-sentinel", ex);
        }

        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        var deadline = DateTime.UtcNow + ReadyTimeout;
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException("redis-sentinel exited at start-up:\n" + Output);
            }

            try
            {
                // Our process (not another test's server that took the port first), monitoring our master.
                var server = await CommandAsync("INFO", "server");
                if (server is [var text] && text.Contains($"process_id:{process.Id.ToString(CultureInfo.InvariantCulture)}\r\n", StringComparison.Ordinal)
                    && await MasterPortAsync() == masterPort)
                {
                    await SpeedUpTimersAsync();
                    return;
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("redis-sentinel did not answer:\n" + Output);
            }

            // Polling interval while the Sentinel starts, not a wait for an event.
            await Task.Delay(10);
        }
    }

    /// <summary>
    /// Sentinel's own timers, shortened (<c>SENTINEL DEBUG</c>, Redis 7) the way down-after-milliseconds
    /// is. With the defaults a restarted old master waits for an <c>INFO</c> (every 10 s) and for 8 s
    /// (four hello periods) of reporting master before Sentinel demotes it: 8-18 s, and past a 30 s
    /// deadline on a loaded machine. The tilt period matters there too: a Sentinel whose timer was held
    /// up 2 s (a full test run on 2 cores) enters tilt mode and acts on nothing for 30 s by default.
    /// </summary>
    private async Task SpeedUpTimersAsync()
    {
        var reply = await CommandAsync("SENTINEL", "DEBUG", "info-period", "1000", "publish-period", "500", "tilt-period", "3000");
        if (reply is not ["+OK"])
        {
            throw new InvalidOperationException("redis-sentinel refused SENTINEL DEBUG: " + string.Join(" ", reply));
        }
    }

    private void KillProcess()
    {
        try
        {
            if (_process is { HasExited: false } process)
            {
                process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }
    }

    private async Task WaitForExitAsync()
    {
        if (_process is { } process)
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    /// <summary>Just enough RESP for the Sentinel's replies: statuses, errors, numbers, bulk strings and flat arrays of them.</summary>
    private static class Resp
    {
        public static async Task<IReadOnlyList<string>> CommandAsync(int port, string[] args, TimeSpan timeout)
        {
            using var client = new TcpClient();
            using var deadline = new CancellationTokenSource(timeout);
            await client.ConnectAsync(IPAddress.Loopback, port, deadline.Token);
            var stream = client.GetStream();
            var request = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
            foreach (var arg in args)
            {
                request.Append('$').Append(Encoding.UTF8.GetByteCount(arg)).Append("\r\n").Append(arg).Append("\r\n");
            }

            await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), deadline.Token);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var first = await ReadLineAsync(reader, deadline.Token);
            if (first.StartsWith('*'))
            {
                var count = int.Parse(first.AsSpan(1), CultureInfo.InvariantCulture);
                var items = new List<string>(Math.Max(count, 0));
                for (var i = 0; i < count; i++)
                {
                    items.Add(await ReadValueAsync(reader, await ReadLineAsync(reader, deadline.Token), deadline.Token) ?? string.Empty);
                }

                return items;
            }

            return await ReadValueAsync(reader, first, deadline.Token) is { } value ? [value] : [];
        }

        private static async Task<string?> ReadValueAsync(StreamReader reader, string line, CancellationToken cancellationToken)
        {
            if (line.StartsWith('-'))
            {
                throw new InvalidOperationException("redis-sentinel answered " + line);
            }

            if (!line.StartsWith('$'))
            {
                return line;
            }

            var length = int.Parse(line.AsSpan(1), CultureInfo.InvariantCulture);
            if (length < 0)
            {
                return null;
            }

            var body = new char[length + 2];
            var read = 0;
            while (read < body.Length)
            {
                var n = await reader.ReadAsync(body.AsMemory(read), cancellationToken);
                if (n == 0)
                {
                    throw new IOException("redis-sentinel closed the connection mid-reply");
                }

                read += n;
            }

            return new string(body, 0, length);
        }

        private static async Task<string> ReadLineAsync(StreamReader reader, CancellationToken cancellationToken) =>
            await reader.ReadLineAsync(cancellationToken) ?? throw new IOException("redis-sentinel closed the connection");
    }
}
