using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Lifetime;

/// <summary>
/// A close the server starts while the connection is idle (here the first-message deadline of a
/// connection that never authenticates): the close frame goes out, and a peer that never answers it
/// is dropped once <c>Limits:CloseTimeoutSeconds</c> has passed. The idle receive waits without a
/// cancellation token, so it is the close timeout that must end it, not the heartbeat (set far off).
/// </summary>
[Trait("Category", "integration")]
public sealed class CloseTimeoutTests
{
    // Far beyond the close timeout and well within the test's own deadlines: only the close timeout
    // can have ended the connection in time.
    private static readonly TimeSpan RemovalDeadline = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task PeerThatNeverAnswersTheServersCloseIsDroppedAfterTheCloseTimeout()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Switchboard:Auth:AllowAnonymous"] = "false",
            ["Switchboard:Auth:FirstMessageTimeoutSeconds"] = "0.2",
            ["Switchboard:Limits:CloseTimeoutSeconds"] = "0.5",
            ["Switchboard:Heartbeat:IntervalSeconds"] = "60",
            ["Switchboard:Heartbeat:TimeoutSeconds"] = "60",
        });
        using var deaf = await RawWebSocketPeer.ConnectAsync(server.BaseUri, "/ws");

        Assert.Equal(CloseCodes.Unauthorized, await deaf.ReadUntilCloseFrameAsync());

        // The peer reads on but never sends its own close: the server must give up on it.
        Assert.True(await deaf.ReadUntilDisconnectedAsync(RemovalDeadline), "the server dropped the peer that never answered its close");
        await Eventually.TrueAsync(() => server.Registry.Count == 0, "the connection was removed", RemovalDeadline);
    }
}
