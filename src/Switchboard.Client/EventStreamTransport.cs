using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Switchboard.Client;

/// <summary>
/// Server-sent events (protocol.md, "Transports"): <c>GET /events</c> carries the server's messages,
/// one per <c>data:</c> event; each batch of commands is one <c>POST /events/{session}</c>. The token
/// goes in the <c>Authorization</c> header of the GET and of every POST (the server requires the
/// same user's token on the POSTs of a stream opened with one).
/// </summary>
/// <remarks>
/// It never resumes with <c>Last-Event-ID</c>: the client has its own backoff and re-joins with
/// <c>since</c>, exactly as after a dropped WebSocket.
/// </remarks>
internal sealed class EventStreamTransport : IClientTransport
{
    /// <summary>Under the server's default <c>Limits:MaxMessageBytes</c>, as the JS client's bodies.</summary>
    private const int MaxBodyBytes = 32 * 1024;

    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly HttpClient _http;
    private readonly Uri _uri;
    private readonly CancellationTokenSource _abort = new();
    private readonly CancellationTokenSource _idle;
    private readonly TimeSpan _grace;
    private TimeSpan _idleLimit;
    private volatile string? _token;
    private HttpResponseMessage? _response;
    private Stream? _stream;
    // Written by the receive loop at the welcome, read by the writer, which writes nothing before it.
    private volatile Uri? _postUri;
    private byte[] _read = new byte[16 * 1024];
    private int _start;
    private int _end;
    private volatile StrongBox<(int, string?)>? _localClose;

    /// <param name="http">Carries the stream and the POSTs; its timeout must be infinite.</param>
    /// <param name="uri">The <c>/events</c> URL, with any <c>?user=</c>.</param>
    /// <param name="token">Sent as <c>Authorization: Bearer</c>, if any.</param>
    /// <param name="keepAliveInterval">How often something arrives at the latest until the welcome's <c>ping</c> says.</param>
    /// <param name="keepAliveTimeout">How much later than that the stream counts as dead.</param>
    public EventStreamTransport(HttpClient http, Uri uri, string? token, TimeSpan keepAliveInterval, TimeSpan keepAliveTimeout)
    {
        _http = http;
        _uri = uri;
        _token = token;
        _grace = keepAliveTimeout;
        _idleLimit = IdleLimit(keepAliveInterval);
        // A stream has no pings of the client's own: the server's heartbeats (every `ping` seconds
        // on an idle stream) are what shows it alive, so a read that waits longer than that plus the
        // timeout ends the connection, as an unanswered WebSocket ping would.
        _idle = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token);
    }

    public ClientTransport Kind => ClientTransport.ServerSentEvents;

    public int MaxBatchBytes => MaxBodyBytes;

    public bool SupportsBinary => false;

    public (int Code, string? Reason)? LocalClose => _localClose?.Value;

    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _abort.Token);
        using var request = new HttpRequestMessage(HttpMethod.Get, _uri);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        request.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
        AddToken(request);
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK || response.Content.Headers.ContentType?.MediaType != "text/event-stream")
        {
            var status = response.StatusCode;
            var type = response.Content.Headers.ContentType?.MediaType;
            response.Dispose();
            throw new HttpRequestException($"GET {_uri.AbsolutePath} answered {(int)status} {type}", null, status);
        }

        _response = response;
        _stream = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
    }

    public async ValueTask<TransportMessage> ReceiveAsync(ArrayBufferWriter<byte> buffer, int maxBytes)
    {
        var hasData = false;
        while (true)
        {
            var line = await ReadLineAsync(maxBytes).ConfigureAwait(false);
            if (line is not { } value)
            {
                // The end of the response without a close message: cut (1006), unless this side ended it.
                return LocalClose is { } local
                    ? TransportMessage.Close(local.Code, local.Reason)
                    : TransportMessage.Close(SwitchboardClient.AbnormalClosure, "the event stream ended without a close message");
            }

            if (value.IsEmpty)
            {
                // A blank line ends an event; a heartbeat (a comment alone) has no data and is skipped.
                if (hasData)
                {
                    return Classify(buffer);
                }

                continue;
            }

            if (value.Span.StartsWith("data:"u8))
            {
                var data = value[5..];
                if (!data.IsEmpty && data.Span[0] == (byte)' ')
                {
                    data = data[1..];
                }

                if (buffer.WrittenCount + data.Length + 1 > maxBytes)
                {
                    return TooBig();
                }

                if (hasData)
                {
                    buffer.Write("\n"u8);
                }

                buffer.Write(data.Span);
                hasData = true;
            }

            // Comments (":" heartbeats) and the id, event and retry fields need nothing: the client
            // recovers with `since` rather than Last-Event-ID.
        }
    }

    /// <summary>Posts one body of newline-separated commands and waits for the 202: POSTs go one at a time, in order.</summary>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> frame, bool binary)
    {
        if (binary || _postUri is null)
        {
            // The writer fails binary publishes itself and writes nothing before the welcome.
            throw new InvalidOperationException(binary ? "binary frames need a WebSocket" : "no session yet");
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, _postUri) { Content = new ReadOnlyMemoryContent(frame) };
        request.Content.Headers.ContentType = Json;
        AddToken(request);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _abort.Token).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Accepted)
        {
            return;
        }

        // A refused POST ends the connection as a WebSocket's failure would: 413 is a frame too
        // big (1009), 403/415 a policy violation (1008), both final; anything else (404: the
        // session is gone, 429, 5xx) is a drop that reconnects (1006).
        var status = (int)response.StatusCode;
        var code = status switch
        {
            413 => 1009,
            403 or 415 => 1008,
            _ => SwitchboardClient.AbnormalClosure,
        };
        _localClose = new StrongBox<(int, string?)>((code, $"POST {_postUri.AbsolutePath} answered {status}"));
        throw new HttpRequestException($"POST {_postUri.AbsolutePath} answered {status}", null, response.StatusCode);
    }

    public ValueTask CloseOutputAsync(bool closeRequested)
    {
        if (closeRequested)
        {
            // A stream has no close frame: the client ends its session by closing the response.
            _localClose ??= new StrongBox<(int, string?)>((1000, "client closed"));
            Abort();
        }

        return ValueTask.CompletedTask;
    }

    public void Abort()
    {
        try
        {
            _abort.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already disposed: nothing is left to tear down.
        }

        _response?.Dispose();
    }

    public void UpdateToken(string token) => _token = token;

    public void Dispose()
    {
        Abort();
        _idle.Dispose();
        _abort.Dispose();
    }

    /// <summary>An interval or timeout turned off (zero or infinite) turns the idle check off.</summary>
    private TimeSpan IdleLimit(TimeSpan interval) =>
        interval > TimeSpan.Zero && _grace > TimeSpan.Zero ? interval + _grace : Timeout.InfiniteTimeSpan;

    private TransportMessage TooBig()
    {
        _localClose ??= new StrongBox<(int, string?)>((1009, "event larger than MaxReceiveBytes"));
        Abort();
        return TransportMessage.Close(1009, "event larger than MaxReceiveBytes");
    }

    private void AddToken(HttpRequestMessage request)
    {
        if (_token is { } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    private TransportMessage Classify(ArrayBufferWriter<byte> buffer)
    {
        try
        {
            return ClassifyJson(buffer);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Not JSON the transport can read: the client's dispatch skips and logs it, unless the
            // stream has not even started with a welcome.
            if (_postUri is null)
            {
                Abort();
                return TransportMessage.Close(SwitchboardClient.AbnormalClosure, "the event stream did not start with a welcome");
            }

            return TransportMessage.Text;
        }
    }

    private TransportMessage ClassifyJson(ArrayBufferWriter<byte> buffer)
    {
        var data = buffer.WrittenSpan;
        // The close message is the stream's close frame; the server writes `op` first in every message.
        if (data.StartsWith("{\"op\":\"close\""u8))
        {
            using var close = JsonDocument.Parse(buffer.WrittenMemory);
            var root = close.RootElement;
            var code = root.TryGetProperty("code", out var c) && c.TryGetInt32(out var value) ? value : SwitchboardClient.AbnormalClosure;
            var reason = root.TryGetProperty("reason", out var r) ? r.GetString() : null;
            return TransportMessage.Close(code, reason);
        }

        if (_postUri is null)
        {
            // The first message names the session, the capability to post commands.
            using var welcome = JsonDocument.Parse(buffer.WrittenMemory);
            if (!welcome.RootElement.TryGetProperty("op", out var op) || !op.ValueEquals("welcome"u8)
                || !welcome.RootElement.TryGetProperty("session", out var session) || session.GetString() is not { } id)
            {
                Abort();
                return TransportMessage.Close(SwitchboardClient.AbnormalClosure, "the event stream did not start with a welcome");
            }

            if (welcome.RootElement.TryGetProperty("ping", out var ping) && ping.TryGetInt32(out var seconds) && seconds > 0)
            {
                _idleLimit = IdleLimit(TimeSpan.FromSeconds(seconds));
            }

            _postUri = new Uri(_uri, "events/" + Uri.EscapeDataString(id));
        }

        return TransportMessage.Text;
    }

    /// <summary>
    /// The next line without its end (LF or CRLF), valid until the next call; null at the end of the
    /// response or when a line would exceed <paramref name="maxBytes"/>.
    /// </summary>
    private async ValueTask<ReadOnlyMemory<byte>?> ReadLineAsync(int maxBytes)
    {
        var stream = _stream!;
        var scanned = _start;
        while (true)
        {
            var newline = _read.AsSpan(scanned, _end - scanned).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var end = scanned + newline;
                var line = _read.AsMemory(_start, end - _start);
                _start = end + 1;
                return line.Span.EndsWith("\r"u8) ? line[..^1] : line;
            }

            scanned = _end;
            if (_end - _start >= maxBytes)
            {
                TooBig();
                return null;
            }

            if (_end == _read.Length)
            {
                // Compact, or grow when one line fills the buffer.
                var length = _end - _start;
                var target = length > _read.Length / 2 ? new byte[Math.Min(_read.Length * 2, maxBytes + 1)] : _read;
                Buffer.BlockCopy(_read, _start, target, 0, length);
                _read = target;
                scanned -= _start;
                _start = 0;
                _end = length;
            }

            _idle.CancelAfter(_idleLimit);
            var read = await stream.ReadAsync(_read.AsMemory(_end), _idle.Token).ConfigureAwait(false);
            if (read == 0)
            {
                return null;
            }

            _end += read;
        }
    }
}
