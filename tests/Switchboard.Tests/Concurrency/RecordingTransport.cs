using System.Text;
using System.Threading.Channels;
using Switchboard.Connections;

using Xunit;

namespace Switchboard.Tests.Concurrency;

/// <summary>
/// A transport in memory: records every message the session writes (split into protocol lines) and
/// the close, and feeds the session whatever the test writes as inbound messages.
/// </summary>
public sealed class RecordingTransport : ITransport
{
    private readonly Channel<string> _sent = Channel.CreateUnbounded<string>();
    private readonly Channel<(byte[] Data, bool IsBinary)> _inbound = Channel.CreateUnbounded<(byte[], bool)>();
    private readonly TaskCompletionSource<(int Code, string Reason)> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Thrown from <see cref="CloseAsync"/> when set: a transport failing in a way nobody planned for.</summary>
    public Exception? FailClose { get; set; }

    public Task<(int Code, string Reason)> Closed => _closed.Task;

    /// <summary>The next protocol line the session sent, within five seconds.</summary>
    public async Task<string> NextAsync() => await _sent.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));

    /// <summary>Every line sent so far that was not read with <see cref="NextAsync"/>.</summary>
    public List<string> Drain()
    {
        var lines = new List<string>();
        while (_sent.Reader.TryRead(out var line))
        {
            lines.Add(line);
        }

        return lines;
    }

    /// <summary>Sends the session one text message, as the peer would.</summary>
    public void Receive(string text) => _inbound.Writer.TryWrite((Encoding.UTF8.GetBytes(text), false));

    /// <summary>The peer closes.</summary>
    public void PeerClose() => _inbound.Writer.TryComplete();

    public ValueTask SendAsync(ReadOnlyMemory<byte> data, bool isBinary, CancellationToken cancellationToken)
    {
        foreach (var line in Encoding.UTF8.GetString(data.Span).Split('\n'))
        {
            _sent.Writer.TryWrite(line);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask CloseAsync(int code, string reason, CancellationToken cancellationToken)
    {
        _closed.TrySetResult((code, reason));
        if (FailClose is { } failure)
        {
            throw failure;
        }

        _inbound.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }

    public async Task<ReceiveEnd> ReceiveAsync(Connection session, MessageHandler handler)
    {
        await foreach (var (data, isBinary) in _inbound.Reader.ReadAllAsync(session.Aborted))
        {
            await handler(session, data, isBinary);
        }

        return session.IsClosing ? ReceiveEnd.ServerClosed : ReceiveEnd.PeerClosed;
    }

    public void Abort() => _inbound.Writer.TryComplete();

    public void Dispose()
    {
    }
}
