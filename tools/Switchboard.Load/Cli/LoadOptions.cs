using System.Net;

namespace Switchboard.Load.Cli;

/// <summary>Everything one run needs, resolved from the command line and validated.</summary>
internal sealed record LoadOptions
{
    public required Uri Url { get; init; }

    /// <summary>The loopback address <see cref="Url"/>'s host resolved to; every connection goes there.</summary>
    public required IPAddress Target { get; init; }

    public required LoadMode Mode { get; init; }

    /// <summary>Subscribing (or, in connect and idle modes, plain) connections over all processes.</summary>
    public required int Clients { get; init; }

    /// <summary>Publishing connections; they are room members too. Fan-out and latency modes only.</summary>
    public required int Publishers { get; init; }

    /// <summary>Publications per second over all publishers; 0 means closed loop (<see cref="Window"/>).</summary>
    public required double Rate { get; init; }

    public required TimeSpan Duration { get; init; }

    public required TimeSpan Warmup { get; init; }

    /// <summary>Approximate size of each publication's <c>data</c> JSON value.</summary>
    public required int PayloadBytes { get; init; }

    public required string Room { get; init; }

    /// <summary>Idle mode: connections are spread round-robin over this many rooms.</summary>
    public required int Rooms { get; init; }

    public required int? ServerPid { get; init; }

    /// <summary>Connection attempts in flight at once, per process.</summary>
    public required int ConnectConcurrency { get; init; }

    /// <summary>Closed-loop fan-out: most publications not yet delivered to every member.</summary>
    public required int Window { get; init; }

    /// <summary>How long members may take to receive the last publication after publishing stops.</summary>
    public required TimeSpan DrainTimeout { get; init; }

    public required int Processes { get; init; }

    /// <summary>0 for the coordinating process; 1..Processes-1 for the copies it launched.</summary>
    public required int WorkerIndex { get; init; }

    public required IReadOnlyList<IPAddress> SourceAddresses { get; init; }

    public required bool Json { get; init; }

    /// <summary>
    /// Connect and idle modes: connections opened and closed before measuring, so the server's JIT,
    /// pools and caches are warm and neither the rate nor the memory baseline counts one-time costs.
    /// </summary>
    public int WarmupConnections { get; init; }

    /// <summary>
    /// Distinct user ids the connections are spread over, round-robin; 0 gives every connection its
    /// own. The server sends <c>joined</c>/<c>left</c> to every member only for a user's first and
    /// last connection in a room, so fewer users means fewer presence events while a big room fills.
    /// </summary>
    public int Users { get; init; }

    /// <summary>Whether every connection offers permessage-deflate, as browsers do (the server decides).</summary>
    public bool Deflate { get; init; }

    /// <summary>Fan-out and latency: publications carry chat-like text (words, a user) instead of one repeated letter.</summary>
    public bool ChatPayload { get; init; }

    /// <summary>
    /// Idle mode: after every connection joined, one publication of about this many bytes goes to each
    /// room, so every connection has compressed (and with context takeover, kept its compressor) once.
    /// </summary>
    public int PrimeBytes { get; init; }

    public double? MinThroughput { get; init; }

    public double? MaxP99Milliseconds { get; init; }

    public double? MinConnectRate { get; init; }

    public double? MaxBytesPerConnection { get; init; }

    public bool IsWorker => WorkerIndex > 0;

    /// <summary>The run-wide index of this process's first client connection.</summary>
    public int FirstClientIndex => WorkerIndex * (Clients / Processes) + Math.Min(WorkerIndex, Clients % Processes);

    /// <summary>This process's share of <see cref="Clients"/>.</summary>
    public int LocalClients => Clients / Processes + (WorkerIndex < Clients % Processes ? 1 : 0);

    /// <summary>
    /// A bound on the whole run so it always stops by itself: connecting, warm-up, measuring,
    /// draining and closing, with generous room for a slow machine.
    /// </summary>
    public TimeSpan Deadline => Warmup + Duration + DrainTimeout + TimeSpan.FromMinutes(5);
}
