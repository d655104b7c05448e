namespace Switchboard.Client;

/// <summary>Options of a JSON publish.</summary>
public sealed record PublishOptions
{
    /// <summary>
    /// 1-128 characters of <c>A-Z a-z 0-9 _ - : . @ / = +</c>, unique to the logical publication (a
    /// GUID, an order id). The server appends a publish with a key it saw in the room within its window
    /// (<c>History:IdempotencyWindowSeconds</c>) once and answers the repeat with the first offset, so
    /// the client writes the publish again after a reconnect when its connection dropped before the reply.
    /// </summary>
    public string? IdempotencyKey { get; init; }
}
