using System.Net.WebSockets;
using System.Text.Json;

namespace Switchboard.Tests.Redis;

/// <summary>
/// How the server tells a member that a room's stream was lost (the epoch rotated, or offsets can no
/// longer be filled) and that it must rejoin with <c>since</c>: a per-room <c>removed</c> message with
/// <c>"code":"stream_lost","rejoin":true</c>, the connection staying open; earlier versions closed the
/// connection with 4002 instead. Both are accepted, so "was told" is decided in this one place.
/// </summary>
internal static class StreamLostSignal
{
    /// <summary>docs/protocol.md: "the server lost a room's stream for this connection".</summary>
    public const WebSocketCloseStatus CloseStatus = (WebSocketCloseStatus)4002;

    /// <summary>
    /// Whether <paramref name="message"/> tells the member of <paramref name="room"/> that its stream was
    /// lost; a null message means the connection closed, with <paramref name="close"/>.
    /// </summary>
    public static bool Tells(string room, JsonElement? message, WebSocketCloseStatus? close) =>
        message is { } m
            ? m.TryGetProperty("op", out var op) && op.GetString() == "removed"
              && m.TryGetProperty("room", out var r) && r.GetString() == room
              && m.TryGetProperty("code", out var code) && code.GetString() == "stream_lost"
              && m.TryGetProperty("rejoin", out var rejoin) && rejoin.ValueKind == JsonValueKind.True
            : close == CloseStatus;
}
