using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Net.WebSockets;
using Switchboard.Load.Cli;

namespace Switchboard.Load.Client;

/// <summary>
/// Opens <see cref="ClientWebSocket"/>s through one shared <see cref="SocketsHttpHandler"/> whose
/// connect callback pins every socket to the checked loopback target and, when asked, binds a
/// loopback source address round-robin (more than ~28,000 connections to one server port need more
/// than one source address). Every socket's stream counts the bytes it receives (<see cref="Received"/>),
/// and with <c>--deflate</c> every handshake offers permessage-deflate as a browser does.
/// </summary>
internal sealed class WebSocketConnector : IDisposable
{
    // Linux IP_BIND_ADDRESS_NO_PORT: bind the source address now but pick the port at connect time,
    // so ports are shared between destinations instead of exhausted at bind.
    private const int IpProtocolLevel = 0;
    private const int IpBindAddressNoPort = 24;

    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(15);

    private readonly IPAddress _target;
    private readonly IReadOnlyList<IPAddress> _sources;
    private readonly HttpMessageInvoker _invoker;
    private readonly bool _deflate;
    private int _nextSource = -1;

    public WebSocketConnector(IPAddress target, IReadOnlyList<IPAddress> sources, bool deflate = false)
    {
        _target = target;
        _sources = sources;
        _deflate = deflate;
        _invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            ConnectCallback = ConnectSocketAsync,
            ConnectTimeout = ConnectTimeout,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
        });
    }

    /// <summary>Bytes the server sent to this process's connections, as they came off the sockets.</summary>
    public WireTally Received { get; } = new();

    /// <summary>Completes the WebSocket handshake; the caller owns the returned socket.</summary>
    public async Task<ClientWebSocket> ConnectAsync(Uri uri, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        try
        {
            // The server pings; a client ping per connection would only add noise to the measurement.
            socket.Options.KeepAliveInterval = TimeSpan.Zero;
            if (_deflate)
            {
                // What a browser offers: "permessage-deflate; client_max_window_bits". The server's
                // answer decides context takeover and windows.
                socket.Options.DangerousDeflateOptions = new WebSocketDeflateOptions();
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ConnectTimeout);
            await socket.ConnectAsync(uri, _invoker, timeout.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose() => _invoker.Dispose();

    private async ValueTask<Stream> ConnectSocketAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        if (!LoopbackGuard.IsLoopback(_target))
        {
            throw new InvalidOperationException("refusing a non-loopback target");
        }

        var socket = new Socket(_target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (_sources.Count > 0)
            {
                var source = _sources[(int)((uint)Interlocked.Increment(ref _nextSource) % (uint)_sources.Count)];
                if (OperatingSystem.IsLinux())
                {
                    socket.SetRawSocketOption(IpProtocolLevel, IpBindAddressNoPort, BitConverter.GetBytes(1));
                }

                socket.Bind(new IPEndPoint(source, 0));
            }

            await socket.ConnectAsync(new IPEndPoint(_target, context.DnsEndPoint.Port), cancellationToken);
            return new CountingStream(new NetworkStream(socket, ownsSocket: true), Received);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
