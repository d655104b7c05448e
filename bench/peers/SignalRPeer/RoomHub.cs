using Microsoft.AspNetCore.SignalR;

namespace SignalRPeer;

/// <summary>Rooms are SignalR groups, named by the connection's <c>room</c> query parameter.</summary>
internal sealed class RoomHub : Hub
{
    public override async Task OnConnectedAsync()
    {
        var room = Context.GetHttpContext()?.Request.Query["room"].ToString();
        if (string.IsNullOrEmpty(room))
        {
            Context.Abort();
            return;
        }

        Context.Items["room"] = room;
        await Groups.AddToGroupAsync(Context.ConnectionId, room);
    }

    /// <summary>Sends <paramref name="text"/> to every member of the caller's room, the caller included.</summary>
    public Task Send(string text) =>
        Context.Items["room"] is string room ? Clients.Group(room).SendAsync("m", text) : Task.CompletedTask;
}
