using StackExchange.Redis;
using Switchboard.Brokers;
using Switchboard.Redis;
using Switchboard.Tests.Brokers;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Redis;

/// <summary>
/// The relay between two bare Redis brokers: a post reaches the target of the node it names, and each
/// way it can fail has its own outcome (a node nobody listens for, a node that does not answer, Redis away).
/// </summary>
[Trait("Category", "external")]
public sealed class RedisSessionRelayTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private RedisServer _redis = null!;
    private RedisBroker _holderBroker = null!;
    private RedisBroker _senderBroker = null!;
    private RedisSessionRelay _holder = null!;
    private RedisSessionRelay _sender = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _holderBroker = await RedisNodes.StartBrokerAsync(_redis, new RecordingHandler());
        _senderBroker = await RedisNodes.StartBrokerAsync(_redis, new RecordingHandler());
        _holder = new RedisSessionRelay(_holderBroker);
        _sender = new RedisSessionRelay(_senderBroker);
        await _holder.StartAsync(CancellationToken.None).WaitAsync(Timeout);
        await _sender.StartAsync(CancellationToken.None).WaitAsync(Timeout);
    }

    public async Task DisposeAsync()
    {
        await _senderBroker.DisposeAsync();
        await _holderBroker.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task APostReachesTheTargetOfItsNodeWithItsProvenUsersAndTheTargetsVerdictComesBack()
    {
        var target = new Target(RelayOutcome.Forbidden);
        _holder.Attach(target);
        var post = new RelayedPost(_holder.NodeId + ".s", "{\"op\":\"join\"}\n"u8.ToArray(), "alice", null);

        var outcome = await _sender.ForwardAsync(_holder.NodeId!, post, CancellationToken.None).AsTask().WaitAsync(Timeout);

        Assert.Equal(RelayOutcome.Forbidden, outcome);
        var received = Assert.Single(target.Posts);
        Assert.Equal(post.Session, received.Session);
        Assert.Equal(post.Body, received.Body);
        Assert.Equal("alice", received.BearerUser);
        Assert.Null(received.AppUser);
    }

    [Fact]
    public async Task APostForANodeNobodyListensForIsAnUnknownSessionAtOnce()
    {
        var outcome = await _sender.ForwardAsync("0123456789abcdef", new RelayedPost("0123456789abcdef.s", [], null, null), CancellationToken.None).AsTask().WaitAsync(Timeout);

        Assert.Equal(RelayOutcome.UnknownSession, outcome);
    }

    [Fact]
    public async Task APostForANodeThatListensButNeverAnswersEndsWithoutAnAnswerAfterTheDeadline()
    {
        const string Mute = "fedcba9876543210";
        using var listener = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration);
        await listener.GetSubscriber().SubscribeAsync(RedisChannel.Literal($"sb:{{#nodes}}:posts:{Mute}"), (_, _) => { });

        var outcome = await _sender.ForwardAsync(Mute, new RelayedPost(Mute + ".s", [], null, null), CancellationToken.None).AsTask().WaitAsync(Timeout);

        Assert.Equal(RelayOutcome.NoAnswer, outcome);
    }

    [Fact]
    public async Task APostWhileRedisIsAwayIsUnavailable()
    {
        await _redis.KillAsync();

        var outcome = await _sender.ForwardAsync(_holder.NodeId!, new RelayedPost(_holder.NodeId + ".s", [], null, null), CancellationToken.None).AsTask().WaitAsync(Timeout);

        Assert.Equal(RelayOutcome.Unavailable, outcome);
    }

    private sealed class Target(RelayOutcome verdict) : IRelayedPostTarget
    {
        public System.Collections.Concurrent.ConcurrentQueue<RelayedPost> Posts { get; } = new();

        public RelayOutcome Accept(RelayedPost post)
        {
            Posts.Enqueue(post);
            return verdict;
        }
    }
}
