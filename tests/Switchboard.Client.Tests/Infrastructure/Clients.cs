namespace Switchboard.Client.Tests.Infrastructure;

/// <summary>Client options for tests: quick reconnects so recovery tests finish fast.</summary>
public static class Clients
{
    public static readonly BackoffOptions FastBackoff = new() { Base = TimeSpan.FromMilliseconds(20), Cap = TimeSpan.FromMilliseconds(200) };

    public static SwitchboardClient Create(Uri uri, string user, int offlineQueue = 100, int messageBuffer = 1000) =>
        new(uri, new SwitchboardClientOptions { User = user, Backoff = FastBackoff, OfflineQueue = offlineQueue, MessageBuffer = messageBuffer });

    /// <summary>Creates and connects a client, and joins <paramref name="rooms"/> before returning.</summary>
    public static async Task<SwitchboardClient> ConnectAsync(TestNode node, string user, params string[] rooms)
    {
        var client = Create(node.WsUri, user);
        await client.ConnectAsync().WaitAsync(Wait.Timeout);
        foreach (var room in rooms)
        {
            await client.Join(room).Joined.WaitAsync(Wait.Timeout);
        }

        return client;
    }
}
