using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// A TCP proxy on 127.0.0.1 in front of a server, for fault injection: it can stop forwarding what
/// the server sends on one connection (or on all of them) and start again, so that the client sees a
/// silent, half-open connection while its socket stays open and its writes still go through. Bytes the
/// server sent meanwhile are held, not dropped, and forwarded on resume.
/// </summary>
/// <remarks>
/// A connection is named by the port of the proxy's own socket to the server: the address the server
/// sees for the client (<c>addr=</c> in Redis's <c>CLIENT LIST</c>).
/// </remarks>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<int, Pair> _pairs = new();
    private readonly Task _accepting;
    private volatile bool _pauseNew;

    private TcpProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The port clients connect to.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The server-side ports of the connections proxied so far (see the remarks).</summary>
    public IReadOnlyCollection<int> UpstreamPorts => [.. _pairs.Keys];

    /// <summary>Starts a proxy to the server on 127.0.0.1:<paramref name="targetPort"/>.</summary>
    public static TcpProxy Start(int targetPort) => new(targetPort);

    /// <summary>Stops forwarding what the server sends on the connection whose server-side address has <paramref name="upstreamPort"/>.</summary>
    public void PauseFromServer(int upstreamPort)
    {
        if (!_pairs.TryGetValue(upstreamPort, out var pair))
        {
            throw new InvalidOperationException($"no proxied connection uses port {upstreamPort}");
        }

        pair.Pause();
    }

    /// <summary>Stops forwarding what the server sends, on every connection now and every one opened from now on.</summary>
    public void PauseAllFromServer()
    {
        _pauseNew = true;
        foreach (var pair in _pairs.Values)
        {
            pair.Pause();
        }
    }

    /// <summary>Stops forwarding what the server sends on every connection opened from now on (a reconnect then hangs at its handshake).</summary>
    public void PauseNewFromServer() => _pauseNew = true;

    /// <summary>Forwards again on every connection, starting with what the server sent meanwhile.</summary>
    public void ResumeAll()
    {
        _pauseNew = false;
        foreach (var pair in _pairs.Values)
        {
            pair.Resume();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        foreach (var pair in _pairs.Values)
        {
            pair.Close();
        }

        await _accepting.WaitAsync(TimeSpan.FromSeconds(10));
        await Task.WhenAll(_pairs.Values.Select(p => p.Pumps)).WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                var server = new TcpClient();
                try
                {
                    await server.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
                }
                catch (SocketException)
                {
                    // The server is down: the client sees its connection refused as a closed socket.
                    client.Dispose();
                    server.Dispose();
                    continue;
                }

                var pair = new Pair(client, server);
                if (_pauseNew)
                {
                    pair.Pause();
                }

                _pairs[((IPEndPoint)server.Client.LocalEndPoint!).Port] = pair;
                pair.Start(_stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopped.
        }
    }

    /// <summary>One proxied connection: a pump each way; the server-to-client one waits at a gate while paused.</summary>
    private sealed class Pair(TcpClient client, TcpClient server)
    {
        private readonly Lock _lock = new();
        private TaskCompletionSource? _paused;

        public Task Pumps { get; private set; } = Task.CompletedTask;

        public void Start(CancellationToken stop) =>
            Pumps = Task.WhenAll(PumpAsync(client.GetStream(), server.GetStream(), gated: false, stop), PumpAsync(server.GetStream(), client.GetStream(), gated: true, stop));

        public void Pause()
        {
            lock (_lock)
            {
                _paused ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        public void Resume()
        {
            TaskCompletionSource? paused;
            lock (_lock)
            {
                paused = _paused;
                _paused = null;
            }

            paused?.TrySetResult();
        }

        public void Close()
        {
            Resume();
            client.Dispose();
            server.Dispose();
        }

        private Task Gate()
        {
            lock (_lock)
            {
                return _paused?.Task ?? Task.CompletedTask;
            }
        }

        private async Task PumpAsync(NetworkStream from, NetworkStream to, bool gated, CancellationToken stop)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                while (true)
                {
                    var read = await from.ReadAsync(buffer, stop);
                    if (gated)
                    {
                        // Checked after the read, so nothing read once paused (not even the server's
                        // close) gets through before the resume.
                        await Gate().WaitAsync(stop);
                    }

                    if (read == 0)
                    {
                        break;
                    }

                    await to.WriteAsync(buffer.AsMemory(0, read), stop);
                }
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
            {
                // One side closed or the proxy stops: the pair ends.
            }

            // Either side ending ends both, as a real path would.
            client.Dispose();
            server.Dispose();
        }
    }
}
