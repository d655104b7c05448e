using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Switchboard.ScaleBench;

/// <summary>
/// nginx in front of the run's nodes, running the shipped deploy/nginx/switchboard.conf with only its
/// listen port and upstream servers replaced (as the end-to-end load-balancer test does), one worker
/// process, on a free loopback port.
/// </summary>
internal sealed partial class NginxFront : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private NginxFront(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Ws = new Uri($"ws://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/ws");
    }

    /// <summary>ws://127.0.0.1:PORT/ws through nginx.</summary>
    public Uri Ws { get; }

    public int Pid => _process.Id;

    public static async Task<NginxFront> StartAsync(IEnumerable<Uri> nodes, CancellationToken cancellationToken)
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var directory = Directory.CreateTempSubdirectory("switchboard-bench-nginx-").FullName;
        var site = await File.ReadAllTextAsync(NodeProcess.FindNginxSite(), cancellationToken);
        site = ListenLine().Replace(site, $"listen 127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)};", 1);
        site = ServerLines().Replace(site, string.Empty);
        site = site.Replace("    keepalive 32;", string.Concat(nodes.Select(n => $"    server {n.Authority};\n")) + "    keepalive 32;", StringComparison.Ordinal);
        site = site.Replace("access_log /var/log/nginx/switchboard.access.log switchboard_no_query;", "access_log off;", StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(directory, "switchboard.conf"), site, cancellationToken);
        var temp = new[] { "client_body", "proxy", "fastcgi", "uwsgi", "scgi" };
        await File.WriteAllTextAsync(Path.Combine(directory, "nginx.conf"), $$"""
            {{(Environment.UserName == "root" ? "user root;" : string.Empty)}}
            worker_processes 1;
            worker_rlimit_nofile 20000;
            pid {{directory}}/nginx.pid;
            error_log stderr error;
            events { worker_connections 9000; }
            http {
            {{string.Concat(temp.Select(t => $"    {t}_temp_path {directory}/{t};\n"))}}
                include {{directory}}/switchboard.conf;
            }
            """, cancellationToken);
        var info = new ProcessStartInfo("/usr/sbin/nginx") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var arg in new[] { "-p", directory, "-c", Path.Combine(directory, "nginx.conf"), "-e", "stderr", "-g", "daemon off;" })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start nginx (apt-get install nginx-light)");
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine("nginx: " + e.Data);
            }
        };
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                return new NginxFront(process, directory, port);
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                // Polling interval while nginx starts.
                await Task.Delay(10, cancellationToken);
            }
        }
    }

    public double CpuSeconds() => ProcessCpu.TreeSeconds(Pid);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [GeneratedRegex(@"listen\s+\d+;")]
    private static partial Regex ListenLine();

    [GeneratedRegex(@"    server 127\.0\.0\.1:\d+[^\n]*\n")]
    private static partial Regex ServerLines();
}
