using System.Text.Json;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Redis;

/// <summary>Helpers to collect a room's messages from a protocol client.</summary>
public static class RoomMessages
{
    /// <summary>Takes the next <paramref name="count"/> messages of <paramref name="room"/>, in arrival order.</summary>
    public static async Task<List<JsonElement>> TakeAsync(this ProtocolClient client, string room, int count, TimeSpan? timeout = null)
    {
        var messages = new List<JsonElement>(count);
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (messages.Count < count)
        {
            var left = deadline - DateTime.UtcNow;
            messages.Add(await client.ExpectAsync(m => m.GetProperty("op").GetString() == "message" && m.GetProperty("room").GetString() == room, left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1)));
        }

        return messages;
    }

    public static ulong Offset(this JsonElement message) => message.GetProperty("offset").GetUInt64();
}
