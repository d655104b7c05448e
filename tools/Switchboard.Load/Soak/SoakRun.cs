using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;

namespace Switchboard.Load.Soak;

/// <summary>
/// The soak: members in rooms reading everything, a backend publishing through the HTTP API, a share
/// of members reconnecting (and recovering) every minute, and a share of hostile clients, for a set
/// time; the server sampled throughout; then everyone leaves and the server must be back where it was.
/// </summary>
internal sealed class SoakRun(SoakSettings settings)
{
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(60);

    private readonly SoakTally _tally = new();
    private readonly List<ServerSample> _samples = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _published;
    private long _publishFailures;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _publishFailureReasons = new(StringComparer.Ordinal);

    public async Task<SoakReport> RunAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = settings.HttpBase, Timeout = TimeSpan.FromSeconds(10) };
        if (settings.ApiKey is { } key)
        {
            http.DefaultRequestHeaders.Add("X-Api-Key", key);
        }

        var baseline = await ServerSample.TakeAsync(settings.ServerPid, http, 0, cancellationToken);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"soak: baseline {baseline.Connections} connection(s), {baseline.Sockets} socket(s), {baseline.OpenFiles} open files, RSS {baseline.RssBytes / 1048576:F1} MiB; opening {settings.Clients:N0} members in {settings.Rooms:N0} rooms"));
        var members = Enumerable.Range(0, settings.Clients)
            .Select(i => new SoakMember(UserUrl("soak-" + i.ToString(CultureInfo.InvariantCulture)), Room(i), _tally))
            .ToList();
        await OpenAllAsync(members, cancellationToken);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"soak: {members.Count(m => m.IsOpen):N0} members open after {_clock.Elapsed.TotalSeconds:F0} s; running for {settings.Duration.TotalSeconds:F0} s"));

        using var running = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        running.CancelAfter(settings.Duration);
        var activities = new[]
        {
            PublishAsync(http, running.Token),
            ChurnAsync(members, running.Token),
            HostilesAsync(running.Token),
            SampleAsync(http, running.Token),
        };
        await Task.WhenAll(activities);

        Console.WriteLine("soak: closing every member");
        foreach (var chunk in members.Chunk(settings.ConnectConcurrency))
        {
            await Task.WhenAll(chunk.Select(m => m.CloseAsync()));
        }

        var final = await SettleAsync(http, baseline, cancellationToken);
        return new SoakReport
        {
            Baseline = baseline,
            Final = final,
            Samples = _samples,
            Delivered = _tally.Delivered,
            Duplicates = _tally.Duplicates,
            Gaps = _tally.Gaps,
            Reconnects = _tally.Reconnects,
            RecoveredMessages = _tally.RecoveredMessages,
            Unrecoverable = _tally.Unrecoverable,
            UnexpectedCloses = _tally.UnexpectedCloses,
            UnexpectedCloseReasons = _tally.CloseReasons,
            Unreadable = _tally.Unreadable,
            FirstUnreadable = _tally.FirstUnreadable,
            HostileStarted = _tally.HostileStarted,
            HostileClosed = _tally.HostileClosed,
            Published = Interlocked.Read(ref _published),
            PublishFailures = Interlocked.Read(ref _publishFailures),
            PublishFailureReasons = new SortedDictionary<string, long>(_publishFailureReasons, StringComparer.Ordinal),
        };
    }

    private Uri UserUrl(string user) => Modes.RunContext.WithUser(settings.Url, user);

    private string Room(int index) => "soak-" + (index % settings.Rooms).ToString(CultureInfo.InvariantCulture);

    private async Task OpenAllAsync(List<SoakMember> members, CancellationToken cancellationToken)
    {
        using var gate = new SemaphoreSlim(settings.ConnectConcurrency);
        await Task.WhenAll(members.Select(async member =>
        {
            await gate.WaitAsync(cancellationToken);
            try
            {
                await member.ConnectAsync(cancellationToken);
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    /// <summary>Publishes at the configured rate to rooms in turn, through the HTTP API as a backend would.</summary>
    private async Task PublishAsync(HttpClient http, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        using var inFlight = new SemaphoreSlim(32);
        var owed = 0.0;
        var next = 0L;
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                owed += settings.PublishRate / 50;
                for (; owed >= 1; owed--)
                {
                    if (!inFlight.Wait(0, CancellationToken.None))
                    {
                        break;
                    }

                    var n = next++;
                    _ = PublishOneAsync(http, Room((int)(n % settings.Rooms)), n).ContinueWith(_ => inFlight.Release(), TaskScheduler.Default);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The soak is over.
        }
    }

    private async Task PublishOneAsync(HttpClient http, string room, long n)
    {
        try
        {
            using var response = await http.PostAsJsonAsync("api/publish", new { room, data = new { n } });
            if (response.IsSuccessStatusCode)
            {
                Interlocked.Increment(ref _published);
            }
            else
            {
                PublishFailed(((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            PublishFailed(ex is TaskCanceledException ? "timeout" : "connection: " + ex.Message);
        }
    }

    private void PublishFailed(string reason)
    {
        Interlocked.Increment(ref _publishFailures);
        _publishFailureReasons.AddOrUpdate(reason, 1, static (_, count) => count + 1);
    }

    /// <summary>Every second, a 60th of the minute's share of members drops (half abruptly) and comes back with <c>since</c>.</summary>
    private async Task ChurnAsync(List<SoakMember> members, CancellationToken stop)
    {
        var random = new Random(42);
        var owed = 0.0;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                owed += members.Count * settings.ChurnPercentPerMinute / 100 / 60;
                var batch = new List<Task>();
                for (; owed >= 1; owed--)
                {
                    var member = members[random.Next(members.Count)];
                    batch.Add(Reconnect(member, abrupt: random.Next(2) == 0, stop));
                }

                // Members the server closed come back as a client library would, a bounded number a second.
                foreach (var closed in members.Where(m => !m.IsOpen).Take(settings.ConnectConcurrency))
                {
                    batch.Add(Reconnect(closed, abrupt: false, stop));
                }

                await Task.WhenAll(batch);
            }
        }
        catch (OperationCanceledException)
        {
            // The soak is over.
        }

        // A member the server closed (or a reconnect cut short) comes back before the final count.
        foreach (var member in members.Where(m => !m.IsOpen))
        {
            await Reconnect(member, abrupt: false, CancellationToken.None);
        }
    }

    private static async Task Reconnect(SoakMember member, bool abrupt, CancellationToken cancellationToken)
    {
        try
        {
            await member.ReconnectAsync(abrupt, cancellationToken);
        }
        catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or OperationCanceledException or HttpRequestException)
        {
            // Counted as not open; retried at the end.
        }
    }

    /// <summary>Keeps the hostile share busy: each hostile client lives a bounded time and is replaced.</summary>
    private async Task HostilesAsync(CancellationToken stop)
    {
        var count = (int)Math.Round(settings.Clients * settings.HostilePercent / 100);
        if (count == 0)
        {
            return;
        }

        var kinds = Enum.GetValues<Hostility>();
        await Task.WhenAll(Enumerable.Range(0, count).Select(async slot =>
        {
            for (var round = 0; !stop.IsCancellationRequested; round++)
            {
                var kind = kinds[(slot + round) % kinds.Length];
                var url = UserUrl(string.Create(CultureInfo.InvariantCulture, $"hostile-{slot}"));
                await HostileClient.RunAsync(url, Room(0), kind, _tally, stop);
            }
        }));
    }

    private async Task SampleAsync(HttpClient http, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(settings.SampleInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var sample = await ServerSample.TakeAsync(settings.ServerPid, http, _clock.Elapsed.TotalSeconds, stop);
                _samples.Add(sample);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {sample.Seconds,6:F0} s  RSS {sample.RssBytes / 1048576,7:F1} MiB  heap {sample.HeapBytes / 1048576,7:F1} MiB  fds {sample.OpenFiles,6}  sockets {sample.Sockets,6}  threads {sample.Threads,4}  connections {sample.Connections,6}  rooms {sample.Rooms,6}  queued {sample.QueueBytes / 1024,8:F1} KiB  delivered {_tally.Delivered,12:N0}  server-closed {_tally.UnexpectedCloses:N0}  unreadable {_tally.Unreadable:N0}"));
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The soak is over.
        }
    }

    /// <summary>Samples until the server's counts are back at the baseline, or the settle time is up.</summary>
    private async Task<ServerSample> SettleAsync(HttpClient http, ServerSample baseline, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var sample = await ServerSample.TakeAsync(settings.ServerPid, http, _clock.Elapsed.TotalSeconds, cancellationToken);
            var settled = sample.Connections == baseline.Connections && sample.Rooms == baseline.Rooms && sample.Users == baseline.Users
                && sample.Sockets <= baseline.Sockets + SoakReport.SocketSlack;
            if (settled || deadline.Elapsed > SettleTimeout)
            {
                return sample;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }
    }
}
