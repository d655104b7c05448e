using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// A real nginx in front of Switchboard nodes, on a free 127.0.0.1 port, running the shipped example
/// configuration (deploy/nginx/switchboard.conf) with only its listen port and upstream servers
/// replaced. Stopped, with its temporary directory, on dispose.
/// </summary>
public sealed partial class NginxServer : IAsyncDisposable
{
    private const string Executable = "/usr/sbin/nginx";
    private readonly Process _process;
    private readonly string _directory;
    private readonly StringBuilder _output = new();

    private readonly string _token;

    private NginxServer(Process process, string directory, int port, string token)
    {
        _process = process;
        _token = token;
        _directory = directory;
        BaseUri = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        Http = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(10) };
    }

    public Uri BaseUri { get; }

    /// <summary>A client for the HTTP API through the load balancer.</summary>
    public HttpClient Http { get; }

    /// <summary>The access log the shipped file writes (moved into this instance's directory).</summary>
    public string AccessLogPath => Path.Combine(_directory, "access.log");

    /// <summary>What nginx printed (its error log goes to stderr), for failure messages.</summary>
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

    /// <summary>The WebSocket URI of <paramref name="path"/> through the load balancer.</summary>
    public Uri Ws(string path) => new(new Uri("ws://" + BaseUri.Authority + "/"), path);

    /// <summary>Starts nginx balancing over <paramref name="nodes"/> (their base URIs) and waits until it accepts connections.</summary>
    public static async Task<NginxServer> StartAsync(IEnumerable<Uri> nodes)
    {
        var upstream = nodes.ToArray();
        // A port found free can be taken before nginx binds it; another one is tried then.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(upstream, FreePorts.Next());
            }
            catch (PortTakenException) when (attempt < 5)
            {
            }
        }
    }

    private static async Task<NginxServer> StartOnceAsync(Uri[] nodes, int port)
    {
        var directory = Directory.CreateTempSubdirectory("switchboard-nginx-").FullName;
        var site = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "deploy", "nginx", "switchboard.conf"));
        // The probe answers this instance's token: readiness must not be confirmed by whatever else took the port.
        var token = Guid.NewGuid().ToString("N");
        site = ListenLine().Replace(site, $"listen 127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)};\n    location = /.probe {{ return 200 \"{token}\"; }}", 1);
        var servers = string.Concat(nodes.Select(n => $"    server {n.Authority} max_fails=1 fail_timeout=5s;\n"));
        site = ServerLines().Replace(site, string.Empty);
        site = site.Replace("    keepalive 32;", servers + "    keepalive 32;", StringComparison.Ordinal);
        site = site.Replace("/var/log/nginx/switchboard.access.log", Path.Combine(directory, "access.log"), StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(directory, "switchboard.conf"), site);
        var temp = new[] { "client_body", "proxy", "fastcgi", "uwsgi", "scgi" };
        File.WriteAllText(Path.Combine(directory, "nginx.conf"), $$"""
            {{(Environment.UserName == "root" ? "user root;" : string.Empty)}}
            worker_processes 1;
            pid {{directory}}/nginx.pid;
            error_log stderr warn;
            events { worker_connections 4096; }
            http {
                access_log off;
            {{string.Concat(temp.Select(t => $"    {t}_temp_path {directory}/{t};\n"))}}
                include {{directory}}/switchboard.conf;
            }
            """);

        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-p", directory, "-c", Path.Combine(directory, "nginx.conf"), "-e", "stderr", "-g", "daemon off;" })
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
            throw new InvalidOperationException("nginx is not installed: run ./scripts/test.sh, or apt-get install nginx-light", ex);
        }

        var server = new NginxServer(process, directory, port, token);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await server.WaitUntilListeningAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!_process.HasExited)
        {
            // SIGKILL of the master leaves its worker orphaned; the whole tree goes.
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS to clean.
        }
    }

    private async Task WaitUntilListeningAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            if (Output.Contains("Address already in use", StringComparison.Ordinal))
            {
                throw new PortTakenException();
            }

            if (_process.HasExited)
            {
                throw new InvalidOperationException("nginx exited at start-up:\n" + Output);
            }

            try
            {
                using var probe = await Http.GetAsync(".probe");
                if (await probe.Content.ReadAsStringAsync() == _token)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("nginx did not answer its probe:\n" + Output);
            }

            // Polling interval while nginx starts, not a wait for an event.
            await Task.Delay(10);
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

    [GeneratedRegex(@"listen\s+\d+;")]
    private static partial Regex ListenLine();

    [GeneratedRegex(@"^\s*server\s+127\.0\.0\.1:\d+[^;]*;\s*\n", RegexOptions.Multiline)]
    private static partial Regex ServerLines();

    private sealed class PortTakenException : Exception
    {
    }
}
