using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// A real redis-server on a free 127.0.0.1 port in its own temporary directory, stopped and deleted
/// on dispose. It can be killed (SIGKILL) and started again on the same port; with
/// <c>persistent</c> it keeps an append-only file fsynced on every write, so a restart keeps every
/// acknowledged write, as a production Redis with AOF does.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private const string Executable = "redis-server";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(10);

    private readonly string _directory;
    private readonly bool _persistent;
    private readonly IReadOnlyList<string> _arguments;
    private readonly StringBuilder _output = new();
    private Process? _process;

    private RedisServer(string directory, bool persistent, IReadOnlyList<string> arguments, int port)
    {
        _directory = directory;
        _persistent = persistent;
        _arguments = arguments;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The StackExchange.Redis connection string of this server.</summary>
    public string Configuration => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)},connectTimeout=2000";

    /// <summary>What the server printed, for failure messages.</summary>
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

    /// <summary>Starts a server on a free port and waits until it answers PING; <paramref name="arguments"/> go on its command line (say, cluster mode).</summary>
    public static async Task<RedisServer> StartAsync(bool persistent = false, IReadOnlyList<string>? arguments = null)
    {
        var directory = Directory.CreateTempSubdirectory("switchboard-redis-").FullName;
        Exception? last = null;
        // A port found free can be taken before redis binds it; another one is tried then.
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var server = new RedisServer(directory, persistent, arguments ?? [], FreePorts.Next());
            try
            {
                await server.StartProcessAsync();
                return server;
            }
            catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
            {
                last = ex;
                server.KillProcess();
            }
        }

        Directory.Delete(directory, recursive: true);
        throw new InvalidOperationException("could not start redis-server", last);
    }

    /// <summary>Kills the server at once (SIGKILL), as a crash or an OOM kill does.</summary>
    public async Task KillAsync()
    {
        var process = _process ?? throw new InvalidOperationException("redis-server is not running");
        process.Kill();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        process.Dispose();
        _process = null;
    }

    /// <summary>Starts the server again on the same port and directory.</summary>
    public Task RestartAsync() => _process is null ? StartProcessAsync() : throw new InvalidOperationException("redis-server is running");

    /// <summary>Sends one command and returns its reply's first line (for example <c>+OK</c> or <c>:1</c>).</summary>
    public Task<string> CommandAsync(params string[] args) => CommandAsync(args, wholeBulk: false);

    /// <summary>Sends one command whose reply is a bulk string (such as <c>INFO</c>) and returns all of it.</summary>
    public Task<string> BulkCommandAsync(params string[] args) => CommandAsync(args, wholeBulk: true);

    private async Task<string> CommandAsync(string[] args, bool wholeBulk)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(IPAddress.Loopback, Port, timeout.Token);
        var stream = client.GetStream();
        var request = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
        foreach (var arg in args)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(arg)).Append("\r\n").Append(arg).Append("\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), timeout.Token);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var first = await reader.ReadLineAsync(timeout.Token) ?? string.Empty;
        if (!wholeBulk || !first.StartsWith('$') || first == "$-1")
        {
            return first;
        }

        var length = int.Parse(first.AsSpan(1), CultureInfo.InvariantCulture);
        var body = new char[length];
        var read = 0;
        while (read < length)
        {
            var n = await reader.ReadAsync(body.AsMemory(read), timeout.Token);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        return new string(body, 0, read);
    }

    public async ValueTask DisposeAsync()
    {
        KillProcess();
        if (_process is { } process)
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            process.Dispose();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still being closed by the dying server: the temp directory is left for the OS to clean.
        }
    }

    private async Task StartProcessAsync()
    {
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory,
        };
        foreach (var arg in new[]
        {
            "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", _directory,
            "--save", string.Empty, "--daemonize", "no", "--protected-mode", "no",
            "--appendonly", _persistent ? "yes" : "no", "--appendfsync", "always",
        }.Concat(_arguments))
        {
            info.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("redis-server is not installed: run ./scripts/test.sh, or apt-get install redis-server", ex);
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
                throw new InvalidOperationException("redis-server exited at start-up:\n" + Output);
            }

            try
            {
                // Our process, not another test's redis that took the port first and answers as well.
                var server = await CommandAsync(["INFO", "server"], wholeBulk: true);
                if (server.Contains($"process_id:{process.Id.ToString(CultureInfo.InvariantCulture)}\r\n", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("redis-server did not answer INFO:\n" + Output);
            }

            // Polling interval while redis starts (it is ready in ~20 ms), not a wait for an event.
            await Task.Delay(10);
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
}
