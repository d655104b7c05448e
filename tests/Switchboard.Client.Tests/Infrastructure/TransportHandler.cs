using System.Net;

namespace Switchboard.Client.Tests.Infrastructure;

/// <summary>
/// The client's HTTP, seen and bent by a test: it can refuse WebSocket upgrades as a proxy that does
/// not forward them would, counts the attempts, and can cut every open event stream from the client's side.
/// </summary>
public sealed class TransportHandler() : DelegatingHandler(new SocketsHttpHandler())
{
    private readonly List<HttpResponseMessage> _streams = [];
    private int _webSocketAttempts;
    private int _streamsOpened;
    private int _posts;
    private volatile bool _refuseWebSockets;

    /// <summary>Upgrades to <c>/ws</c> are answered 403, as by a proxy that refuses them.</summary>
    public bool RefuseWebSockets
    {
        get => _refuseWebSockets;
        set => _refuseWebSockets = value;
    }

    public int WebSocketAttempts => Volatile.Read(ref _webSocketAttempts);

    public int StreamsOpened => Volatile.Read(ref _streamsOpened);

    public int Posts => Volatile.Read(ref _posts);

    /// <summary>Tears down every event stream opened so far, as a dropped network would.</summary>
    public void CutStreams()
    {
        lock (_streams)
        {
            foreach (var response in _streams)
            {
                response.Dispose();
            }

            _streams.Clear();
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var path = request.RequestUri!.AbsolutePath;
        if (path.EndsWith("/ws", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _webSocketAttempts);
            if (_refuseWebSockets)
            {
                return new HttpResponseMessage(HttpStatusCode.Forbidden) { RequestMessage = request };
            }
        }

        if (request.Method == HttpMethod.Post)
        {
            Interlocked.Increment(ref _posts);
        }

        var response = await base.SendAsync(request, cancellationToken);
        if (request.Method == HttpMethod.Get && path.EndsWith("/events", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _streamsOpened);
            lock (_streams)
            {
                _streams.Add(response);
            }
        }

        return response;
    }
}
