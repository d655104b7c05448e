using Microsoft.Extensions.DependencyInjection;
using Switchboard.Endpoints;
using Switchboard.Protocol;
using Switchboard.Tests.Security;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Endpoints;

/// <summary>
/// A plain room holds at most <c>Limits:MaxPlainRoomMembers</c>: each frame goes to every member, so
/// an unbounded room would let one client multiply everyone's cost per frame.
/// </summary>
[Trait("Category", "integration")]
public sealed class PlainRoomCapTests
{
    [Fact]
    public async Task OneMemberOverTheCapIsClosedWith4504AndTheRoomKeepsServingItsMembers()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:Limits:MaxPlainRoomMembers"] = "2" });
        await using var alice = await ProtocolClient.ConnectAsync(server.Ws("rooms/chat"));
        await using var bob = await ProtocolClient.ConnectAsync(server.Ws("rooms/chat"));
        await Eventually.TrueAsync(() => Members(server, "chat") == 2, "both have joined");

        await using var carol = await ProtocolClient.ConnectAsync(server.Ws("rooms/chat"));
        var reason = await carol.AssertClosedWithAsync(CloseCodes.TooManyConnections);

        Assert.Contains("full", reason, StringComparison.Ordinal);
        Assert.Equal(2, Members(server, "chat"));
        await alice.SendAsync("still here");
        Assert.Equal("still here", (await bob.NextAsync()).GetString());
        await using var elsewhere = await ProtocolClient.ConnectAsync(server.Ws("rooms/other"));
        await Eventually.TrueAsync(() => Members(server, "other") == 1, "another room is not affected");
    }

    private static int Members(TestServer server, string room) =>
        server.Services.GetRequiredService<PlainRooms>().Rooms().Where(r => r.Room == room).Select(r => r.Connections).SingleOrDefault();
}
