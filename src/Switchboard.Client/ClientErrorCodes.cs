namespace Switchboard.Client;

/// <summary>
/// Codes of <see cref="SwitchboardException"/> raised by the client itself. Codes from the server are
/// those of <see cref="Switchboard.Protocol.ErrorCodes"/>.
/// </summary>
public static class ClientErrorCodes
{
    /// <summary>
    /// The connection dropped after the command was written and before its reply arrived. The client
    /// cannot know whether the server carried it out: a publish may have landed (look for its message
    /// after recovery) or not.
    /// </summary>
    public const string Disconnected = "disconnected";

    /// <summary>The offline queue was full and this, its oldest entry, made way for a newer one. It was never sent.</summary>
    public const string OfflineQueueFull = "offline_queue_full";

    /// <summary>The client was disposed, or closed by the server with a code that forbids reconnecting.</summary>
    public const string Closed = "closed";

    /// <summary>A binary publish on a connection that uses server-sent events, which carry text only. It was never sent.</summary>
    public const string BinaryUnsupported = "binary_unsupported";
}
