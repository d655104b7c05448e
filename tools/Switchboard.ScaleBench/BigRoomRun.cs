using System.Diagnostics;
using System.Globalization;

namespace Switchboard.ScaleBench;

/// <summary>
/// A small room's latency while a big room is busy on the same node. Node A holds the big room's
/// members (in a child process) and the small room's member; node B holds both publishers, so every
/// delivery reaches node A through Redis pub/sub, the path where a big room's fan-out can hold up the
/// others. Both publishers run open loop at fixed rates; only the small room is timed.
/// </summary>
internal static class BigRoomRun
{
    public const string BigRoom = "big";

    public static async Task<IReadOnlyList<string>> RunAsync(string redis, int members, int bigRate, int smallRate, TimeSpan warmup, TimeSpan measure, CancellationToken cancellationToken)
    {
        await using var a = await BenchNode.StartAsync(redis);
        await using var b = await BenchNode.StartAsync(redis);
        using var child = MembersProcess.Start(a.Ws, BigRoom, members, rooms: 1);
        var ready = await child.StandardOutput.ReadLineAsync(cancellationToken).AsTask().WaitAsync(TimeSpan.FromMinutes(3), cancellationToken);
        if (ready != "ready")
        {
            throw new InvalidOperationException("the members process failed: " + ready + await child.StandardError.ReadToEndAsync(cancellationToken));
        }

        await using var bigPublisher = await BenchClient.ConnectAsync(b.Ws, "big-publisher", cancellationToken);
        // A publisher must be a member; its own copies of the big room's messages are not counted.
        await bigPublisher.RequestAsync($$"""{"op":"join","room":"{{BigRoom}}","id":2}""", 2, cancellationToken);
        await using var smallPublisher = await BenchClient.ConnectAsync(b.Ws, "small-publisher", cancellationToken);
        await using var smallMember = await BenchClient.ConnectAsync(a.Ws, "small-member", cancellationToken);

        var start = Stopwatch.GetTimestamp();
        var total = Stopwatch.Frequency * (warmup + measure).TotalSeconds;
        var (bigSent, smallSent, smallMeasured) = (0L, 0L, 0);
        var measuring = false;
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(1));
        while (Stopwatch.GetTimestamp() - start < total)
        {
            var now = Stopwatch.GetTimestamp();
            var elapsed = (now - start) / (double)Stopwatch.Frequency;
            if (!measuring && elapsed >= warmup.TotalSeconds)
            {
                measuring = true;
                smallMember.MeasureFrom(now);
            }

            for (; bigSent < (long)(elapsed * bigRate); bigSent++)
            {
                await bigPublisher.SendAsync($$$"""{"op":"publish","room":"{{{BigRoom}}}","data":{"t":0,"n":{{{bigSent}}}}}""", cancellationToken);
            }

            for (; smallSent < (long)(elapsed * smallRate); smallSent++)
            {
                smallMeasured += measuring ? 1 : 0;
                await smallPublisher.SendAsync($$$"""{"op":"publish","room":"{{{BenchClient.Room}}}","data":{"t":{{{Stopwatch.GetTimestamp()}}}}}""", cancellationToken);
            }

            await tick.WaitForNextTickAsync(cancellationToken);
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (smallMember.Received < smallSent && DateTime.UtcNow < deadline)
        {
            // Polling interval while the last small-room deliveries drain.
            await Task.Delay(10, cancellationToken);
        }

        // Then until the big room's last fan-out has reached every member still connected: the count
        // stops changing (members closed as slow consumers never get the rest).
        string summary = "no summary", previous = string.Empty;
        var drain = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < drain)
        {
            await child.StandardInput.WriteLineAsync("count".AsMemory(), cancellationToken);
            await child.StandardInput.FlushAsync(cancellationToken);
            summary = await child.StandardOutput.ReadLineAsync(cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(10), cancellationToken) ?? "no summary";
            if (summary == $"received {bigSent * members} closed 0" || summary == previous)
            {
                break;
            }

            previous = summary;
            // Polling interval of the drain.
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }

        child.StandardInput.Close();
        await child.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        var seconds = (warmup + measure).TotalSeconds;
        return
        [
            string.Create(CultureInfo.InvariantCulture, $"big room: {members} members on node A, {bigSent} publications from node B in {seconds:F0} s ({bigSent / seconds:F0}/s offered); members process: {summary} (expected {bigSent * members} at most)"),
            LatencyRun.Row($"big room {bigRate}/s", $"small room {smallRate}/s", smallMember.Latencies(), smallMember.Received, (int)smallSent),
        ];
    }
}
