namespace Switchboard.Connections;

/// <summary>What an endpoint does at the three moments of a connection's life.</summary>
internal interface IConnectionBehavior
{
    /// <summary>Whether queued text frames may be batched with newlines.</summary>
    bool BatchText { get; }

    /// <summary>Whether a connection without a token may be accepted to authenticate with its first message.</summary>
    bool AcceptsDeferredAuth { get; }

    /// <summary>Called once the connection is registered, before any message is read.</summary>
    ValueTask OnOpenAsync(Connection connection);

    /// <summary>Called for every complete message, one at a time.</summary>
    ValueTask OnMessageAsync(Connection connection, ReadOnlyMemory<byte> message, bool isBinary);

    /// <summary>Called once, however the connection ended; must release everything <see cref="OnOpenAsync"/> took.</summary>
    ValueTask OnClosedAsync(Connection connection);
}
