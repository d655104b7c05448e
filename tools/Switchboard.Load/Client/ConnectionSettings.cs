namespace Switchboard.Load.Client;

/// <summary>How each connection of a run is set up.</summary>
/// <param name="InitialBufferBytes">First receive buffer size; it doubles when a frame does not fit.</param>
/// <param name="RecordLatency">Whether deliveries are parsed for the send timestamp.</param>
/// <param name="SetupTimeout">Bound on waiting for the welcome and the join reply.</param>
internal sealed record ConnectionSettings(int InitialBufferBytes, bool RecordLatency, TimeSpan SetupTimeout);
