namespace Switchboard.Load.Cli;

/// <summary>What one run of the tool measures.</summary>
internal enum LoadMode
{
    /// <summary>Deliveries per second from one room to all its members, with loss and order checks.</summary>
    Fanout,

    /// <summary>Publish-to-delivery latency percentiles at a fixed publication rate.</summary>
    Latency,

    /// <summary>WebSocket connections (handshake and welcome) opened per second.</summary>
    Connect,

    /// <summary>Server resident memory per idle connection that has joined a room.</summary>
    Idle,
}
