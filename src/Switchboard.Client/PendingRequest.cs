using System.Net.WebSockets;
using System.Text.Json;

namespace Switchboard.Client;

/// <summary>How a command behaves when the connection is not there or drops.</summary>
internal enum RequestKind
{
    /// <summary>A publish or direct send: kept in the offline queue while disconnected; fails with <c>disconnected</c> when dropped after being written.</summary>
    Queueable,

    /// <summary>A query (presence, history, leave): fails at once with <c>disconnected</c> when there is no connection.</summary>
    Query,

    /// <summary>The client's own join or refresh: bound to one connection, forgotten when it drops (the next connection re-joins and re-reads the token).</summary>
    Internal,
}

/// <summary>
/// One outbound frame and, when it carries an id, the wait for its reply. Every frame the client
/// writes is one of these, so the writer loop is the only place that touches the socket.
/// </summary>
internal sealed class PendingRequest(long id, ReadOnlyMemory<byte> frame, WebSocketMessageType type, RequestKind kind)
{
    private int _written;

    /// <summary>The command id; negative for binary publishes, which carry none on the wire.</summary>
    public long Id { get; } = id;

    public ReadOnlyMemory<byte> Frame { get; } = frame;

    public WebSocketMessageType Type { get; } = type;

    public RequestKind Kind { get; } = kind;

    public bool IsBinary => Type == WebSocketMessageType.Binary;

    /// <summary>Completed with a clone of the reply, or failed with the error reply or a client-side failure.</summary>
    public TaskCompletionSource<JsonElement> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Whether the server de-duplicates it (a publish with an idempotency key), so it may be written again on the next connection after its own dropped.</summary>
    public bool Repeatable { get; init; }

    /// <summary>Runs on the receive loop before anything that follows the reply is handled (join recovery needs that order).</summary>
    public Action<JsonElement>? OnReply { get; init; }

    /// <summary>Runs on the receive loop when the server answers with an error.</summary>
    public Action<SwitchboardException>? OnError { get; init; }

    /// <summary>Where this request waits in the offline queue; guarded by the client's gate.</summary>
    public LinkedListNode<PendingRequest>? OfflineNode { get; set; }

    /// <summary>Whether the writer has started to put it on the wire (after which nobody can say whether it arrived).</summary>
    public bool Written => Volatile.Read(ref _written) != 0;

    public void MarkWritten() => Volatile.Write(ref _written, 1);

    public void Reply(JsonElement reply)
    {
        OnReply?.Invoke(reply);
        Completion.TrySetResult(reply.Clone());
    }

    public void Fail(SwitchboardException error)
    {
        OnError?.Invoke(error);
        Completion.TrySetException(error);
    }
}
