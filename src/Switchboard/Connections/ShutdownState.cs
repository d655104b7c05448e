namespace Switchboard.Connections;

/// <summary>Whether the node is draining: new WebSocket upgrades are then refused with 503 and <c>/readyz</c> reports it.</summary>
public sealed class ShutdownState
{
    private volatile bool _draining;

    /// <summary>True once shutdown has begun.</summary>
    public bool IsDraining => _draining;

    internal void BeginDraining() => _draining = true;
}
