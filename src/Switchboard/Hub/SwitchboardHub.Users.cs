using System.Collections.Concurrent;
using System.Diagnostics;
using Switchboard.Connections;
using Switchboard.Protocol;
using Switchboard.Telemetry;

namespace Switchboard.Hub;

public sealed partial class SwitchboardHub
{
    private readonly ConcurrentDictionary<string, UserConnections> _users = new(StringComparer.Ordinal);

    /// <summary>The number of distinct users connected to this node.</summary>
    public int UserCount => _users.Count;

    /// <summary>Sends JSON <paramref name="data"/> to every connection of <paramref name="user"/>, from <paramref name="from"/> (null for the HTTP API).</summary>
    public ValueTask SendAsync(string user, string? from, ReadOnlySpan<byte> data, CancellationToken cancellationToken)
    {
        var frame = OutboundFrame.Text(ServerMessages.Direct(from, data));
        return SwitchboardTracing.Source.HasListeners()
            ? TracedSendAsync(user, from, frame, cancellationToken)
            : _broker.SendToUserAsync(user, frame, cancellationToken);
    }

    /// <remarks>The span ends on this node: direct messages carry no trace context to other nodes.</remarks>
    private async ValueTask TracedSendAsync(string user, string? from, OutboundFrame frame, CancellationToken cancellationToken)
    {
        // The destination of a direct message is its user.
        using var activity = Spans.Start(SwitchboardTracing.SendSpan, user, ActivityKind.Producer, "send", "send");
        if (activity is { IsAllDataRequested: true } && from is not null)
        {
            activity.SetTag(TraceTags.User, from);
        }

        try
        {
            await _broker.SendToUserAsync(user, frame, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Spans.Failed(activity, ex);
            throw;
        }
    }

    /// <summary>Records <paramref name="connection"/> as one of its user's devices. Called once by its owner, first.</summary>
    internal async ValueTask AddUserAsync(Connection connection)
    {
        while (true)
        {
            var entry = _users.GetOrAdd(connection.User, static (_, limits) => new UserConnections(limits), _options.Limits);
            if (!entry.TryAdd(connection, out var first))
            {
                continue;
            }

            connection.UserPublishBucket = entry.PublishBucket;

            if (first)
            {
                await _broker.SubscribeUserAsync(connection.User, CancellationToken.None).ConfigureAwait(false);
            }

            return;
        }
    }

    private async ValueTask RemoveUserAsync(Connection connection)
    {
        if (_users.TryGetValue(connection.User, out var entry) && entry.Remove(connection))
        {
            _users.TryRemove(new KeyValuePair<string, UserConnections>(connection.User, entry));
            await _broker.UnsubscribeUserAsync(connection.User, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>A user's connections on this node, copied on change and read without a lock.</summary>
    private sealed class UserConnections(Options.LimitsOptions limits)
    {
        private Connection[] _connections = [];
        private bool _closed;

        /// <summary>
        /// The user's publish rate on this node, shared by its connections. It lives as long as the user
        /// has a connection here: a user who closes them all and reconnects starts with a full bucket,
        /// which costs it the reconnects (limited per address and per node).
        /// </summary>
        public SharedTokenBucket PublishBucket { get; } = new(limits.UserPublishesPerSecond, limits.UserPublishBurst);

        public Connection[] Connections => Volatile.Read(ref _connections);

        public bool TryAdd(Connection connection, out bool first)
        {
            lock (this)
            {
                first = _connections.Length == 0;
                if (_closed)
                {
                    return false;
                }

                Volatile.Write(ref _connections, [.. _connections, connection]);
                return true;
            }
        }

        /// <summary>Removes a connection; true when it was the user's last (the entry is then closed).</summary>
        public bool Remove(Connection connection)
        {
            lock (this)
            {
                Volatile.Write(ref _connections, _connections.Where(c => c != connection).ToArray());
                _closed = _connections.Length == 0;
                return _closed;
            }
        }
    }
}
