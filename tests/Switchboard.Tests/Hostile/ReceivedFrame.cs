using System.Net.WebSockets;

namespace Switchboard.Tests.Hostile;

/// <summary>One whole message the server sent: a text frame (possibly several newline-separated JSON messages) or a binary frame.</summary>
internal sealed record ReceivedFrame(WebSocketMessageType Type, byte[] Data);
