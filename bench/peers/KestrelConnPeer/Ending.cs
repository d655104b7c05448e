namespace KestrelConnPeer;

/// <summary>How a connection's read loop ended, and so what its close owes the client.</summary>
internal readonly record struct Ending(bool SendClose, ushort Status, bool PeerClosedFirst)
{
    /// <summary>The transport ended (the client vanished, or was aborted as too slow): no close frame to send.</summary>
    public static Ending Gone => default;

    /// <summary>The client sent a close: answer it, echoing its status (section 5.5.1).</summary>
    public static Ending ClientClosed(ushort status) => new(true, status, PeerClosedFirst: true);

    /// <summary>The client broke the protocol or a bound: close with this status, then linger.</summary>
    public static Ending Refused(ushort status) => new(true, status, PeerClosedFirst: false);
}
