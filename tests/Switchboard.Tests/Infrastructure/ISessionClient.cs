using System.Text.Json;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// A protocol session as a test sees it, whatever the transport: send commands, await the server's
/// messages in order, learn the close code. One test body then runs over every transport.
/// </summary>
public interface ISessionClient : IAsyncDisposable
{
    /// <summary>Sends raw text as one frame (WebSocket) or one POST body (HTTP streams).</summary>
    Task SendAsync(string json);

    /// <summary>Sends a command object with a fresh numeric id and returns the id.</summary>
    Task<int> SendWithIdAsync(string jsonObject);

    /// <summary>Sends a command with an id and returns its reply or error.</summary>
    Task<JsonElement> RequestAsync(string jsonObject);

    /// <summary>The next message not yet consumed.</summary>
    Task<JsonElement> NextAsync(TimeSpan? timeout = null);

    /// <summary>Skips (and keeps for later) messages until one with <paramref name="op"/> arrives.</summary>
    Task<JsonElement> ExpectAsync(string op, TimeSpan? timeout = null);

    /// <summary>The first unconsumed message that matches; those passed over stay available in order.</summary>
    Task<JsonElement> ExpectAsync(Func<JsonElement, bool> match, TimeSpan? timeout = null);

    /// <summary>The close code the server ended the session with (a close frame, or an HTTP stream's <c>close</c> message); null when it just dropped.</summary>
    Task<int?> WaitForCloseAsync(TimeSpan? timeout = null);

    /// <summary>Ends the session from the client's side, as a well-behaved client does.</summary>
    Task CloseAsync();
}
