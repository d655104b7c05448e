using Switchboard.Client.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Client.Tests.Integration;

[Trait("Category", "integration")]
public sealed class ReconnectTests
{
    [Theory]
    [InlineData(0, new[] { 1, 1, 1 })] // every connection counts as stable: each drop starts again from attempt 1
    [InlineData(3600, new[] { 1, 2, 3 })] // no connection lasts long enough: the attempts keep counting up
    public async Task TheAttemptCountRestartsOnlyAfterAStableConnection(int stableAfterSeconds, int[] expectedAttempts)
    {
        await using var node = await TestNode.StartAsync();
        var attempts = new List<int>();
        await using var client = new SwitchboardClient(node.WsUri, new SwitchboardClientOptions
        {
            User = "alice",
            Backoff = new BackoffOptions { Base = TimeSpan.FromMilliseconds(10), Cap = TimeSpan.FromMilliseconds(50), StableAfter = TimeSpan.FromSeconds(stableAfterSeconds) },
        });
        client.StateChanged += (_, s) => { if (s.State == ConnectionState.Reconnecting) { lock (attempts) { attempts.Add(s.Attempt); } } };
        await client.ConnectAsync().WaitAsync(Wait.Timeout);

        for (var i = 0; i < 3; i++)
        {
            var session = client.SessionId;
            await Wait.UntilAsync(() => node.Cut("alice") == 1, "the server-side connection was cut");
            await Wait.UntilAsync(() => client.State == ConnectionState.Connected && client.SessionId != session, "the client reconnected");
        }

        lock (attempts)
        {
            Assert.Equal(expectedAttempts, attempts);
        }
    }
}
