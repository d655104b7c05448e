using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using Switchboard.Brokers;

namespace Switchboard.Redis;

/// <summary>
/// Forwards POSTs of commands between nodes: every node listens on its own channel on the home shard,
/// <c>PREFIX:{#nodes}:posts:NODE</c>, for requests (a post for one of its streams) and answers (what
/// another node made of a post this one forwarded). A request is answered on the requester's channel
/// with the same correlation id, so the POST gets the holder's status; see docs/scaling.md.
/// </summary>
/// <remarks>
/// Messages are one ASCII header line, a newline, then the body untouched:
/// <list type="bullet">
/// <item>request: <c>Q ID FROM SESSION BEARER_USER APP_USER</c> (a user empty when not proven), body the posted commands;</item>
/// <item>answer: <c>A ID OUTCOME</c>, no body.</item>
/// </list>
/// Requests are handled on the subscription's queue loop, in the order they arrived; handling one
/// only looks the session up and writes to its bounded inbox, and the answer is sent without waiting.
/// </remarks>
public sealed class RedisSessionRelay : ISessionCommandRelay
{
    private const byte RequestKind = (byte)'Q';
    private const byte AnswerKind = (byte)'A';

    private readonly RedisBroker _broker;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<RelayOutcome>> _pending = new();
    private IRelayedPostTarget? _target;
    private ChannelMessageQueue? _queue;
    private long _lastId;

    /// <summary>Creates the relay of <paramref name="broker"/>'s node; <see cref="StartAsync"/> starts listening.</summary>
    public RedisSessionRelay(RedisBroker broker, ILogger<RedisSessionRelay>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(broker);
        _broker = broker;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <inheritdoc/>
    public string? NodeId => _broker.NodeId;

    /// <inheritdoc/>
    public void Attach(IRelayedPostTarget target) => _target = target;

    /// <summary>
    /// Subscribes to this node's channel, once the broker is connected, and waits (at most the operation
    /// deadline) until the subscription took effect, so that posts for the node's first streams reach it.
    /// While Redis is away the subscription is made by StackExchange.Redis once it is back.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var home = _broker.Home;
        var subscriber = home.Redis.GetSubscriber();
        var channel = home.Channel(_broker.Keys.PostsChannelName(_broker.NodeId));
        // Fire-and-forget returns the registered queue at once, whether or not Redis is reachable now.
        _queue = await subscriber.SubscribeAsync(channel, CommandFlags.FireAndForget).ConfigureAwait(false);
        _queue.OnMessage(message => OnMessage((byte[]?)message.Message ?? []));
        var deadline = DateTime.UtcNow + _broker.OperationTimeout;
        var pause = TimeSpan.FromMilliseconds(1);
        while (subscriber.SubscribedEndpoint(channel) is null && DateTime.UtcNow < deadline)
        {
            // Polling interval, doubled up to 50 ms: StackExchange.Redis offers no event for a subscription taking effect.
            await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
            pause = TimeSpan.FromMilliseconds(Math.Min(50, pause.TotalMilliseconds * 2));
        }

        if (home.Redis.IsConnected)
        {
            // Redis answers one connection's commands in order: after this PING the SUBSCRIBE took effect.
            await _broker.BestEffortAsync(subscriber.PingAsync(), "subscribing to this node's posts").ConfigureAwait(false);
        }
    }

    /// <summary>Stops listening; posts forwarded to this node from now on find no node (404).</summary>
    public async Task StopAsync()
    {
        if (_queue is { } queue)
        {
            await _broker.BestEffortAsync(queue.UnsubscribeAsync(), "unsubscribing from this node's posts").ConfigureAwait(false);
        }

        foreach (var pending in _pending.Values)
        {
            pending.TrySetResult(RelayOutcome.NoAnswer);
        }
    }

    /// <inheritdoc/>
    public async ValueTask<RelayOutcome> ForwardAsync(string node, RelayedPost post, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(post);
        var id = Interlocked.Increment(ref _lastId);
        var answer = new TaskCompletionSource<RelayOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        try
        {
            long listeners;
            try
            {
                listeners = await _broker.PublishRawAsync(_broker.Home, _broker.Keys.PostsChannelName(node), Request(id, post), cancellationToken).ConfigureAwait(false);
            }
            catch (BrokerUnavailableException ex)
            {
                Log.RelayFailed(_logger, node, ex.Message);
                return RelayOutcome.Unavailable;
            }

            if (listeners == 0)
            {
                // Nobody listens on the node's channel: the node stopped or died, and its streams with it.
                return RelayOutcome.UnknownSession;
            }

            try
            {
                return await answer.Task.WaitAsync(_broker.OperationTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Log.RelayNoAnswer(_logger, node);
                return RelayOutcome.NoAnswer;
            }
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    private byte[] Request(long id, RelayedPost post)
    {
        var header = string.Create(CultureInfo.InvariantCulture, $"Q {id} {_broker.NodeId} {post.Session} {post.BearerUser} {post.AppUser}\n");
        var message = new byte[Encoding.ASCII.GetByteCount(header) + post.Body.Length];
        var written = Encoding.ASCII.GetBytes(header, message);
        post.Body.CopyTo(message.AsSpan(written));
        return message;
    }

    private void OnMessage(byte[] message)
    {
        var newline = Array.IndexOf(message, (byte)'\n');
        var header = newline < 0 ? [] : Encoding.ASCII.GetString(message, 0, newline).Split(' ');
        if (message.Length > 0 && message[0] == AnswerKind && header.Length == 3
            && long.TryParse(header[1], NumberStyles.None, CultureInfo.InvariantCulture, out var answered)
            && Enum.TryParse<RelayOutcome>(header[2], out var outcome))
        {
            if (_pending.TryGetValue(answered, out var pending))
            {
                pending.TrySetResult(outcome);
            }

            return;
        }

        if (message.Length > 0 && message[0] == RequestKind && header.Length == 6 && header[2].Length > 0)
        {
            var post = new RelayedPost(header[3], message.AsSpan(newline + 1).ToArray(), NullIfEmpty(header[4]), NullIfEmpty(header[5]));
            var result = _target?.Accept(post) ?? RelayOutcome.UnknownSession;
            Answer(header[2], header[1], result);
            return;
        }

        Log.Malformed(_logger, _broker.Keys.PostsChannelName(_broker.NodeId));
    }

    private void Answer(string node, string id, RelayOutcome outcome)
    {
        var home = _broker.Home;
        try
        {
            // Not awaited, so the next request is not held up by this one's round trip. A lost answer
            // is the requester's timeout: it answers 504, and the commands' replies are in the stream.
            _ = home.Redis.GetSubscriber().PublishAsync(home.Channel(_broker.Keys.PostsChannelName(node)), Encoding.ASCII.GetBytes($"A {id} {outcome}\n"), CommandFlags.FireAndForget);
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
        {
            Log.RelayFailed(_logger, node, ex.Message);
        }
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
