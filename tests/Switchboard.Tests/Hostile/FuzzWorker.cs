using System.Net.WebSockets;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Hostile;

/// <summary>
/// One fuzzing connection's worth of cases, one at a time. After a case that must leave the
/// connection open, a probe (a presence query with a unique id) must be answered: the server handles
/// a connection's commands in order, so the probe's reply also means the case was fully handled.
/// After a case that must close it, the close code is checked and the next case gets a new connection.
/// </summary>
internal sealed class FuzzWorker(TestServer server, string user, string room, FuzzReport report) : IAsyncDisposable
{
    private static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(5);

    private FuzzConnection? _connection;
    private int _probes;

    public async Task RunAsync(IEnumerable<MalformedFrame> cases)
    {
        foreach (var frame in cases)
        {
            if (report.ShouldStop)
            {
                return;
            }

            await RunCaseAsync(frame);
        }
    }

    public async ValueTask DisposeAsync() => await DropConnectionAsync();

    private async Task RunCaseAsync(MalformedFrame frame)
    {
        var connection = _connection ??= await ConnectAsync(frame);
        try
        {
            await connection.SendAsync(frame);
        }
        catch (Exception ex) when (frame.ExpectedCloseCode is not null && ex is WebSocketException or OperationCanceledException)
        {
            // The server may close before the last fragment of an oversize message is sent.
        }

        if (frame.ExpectedCloseCode is { } expected)
        {
            await ExpectCloseAsync(connection, frame, expected);
        }
        else
        {
            await ExpectStillOpenAsync(connection, frame);
        }
    }

    private async Task ExpectCloseAsync(FuzzConnection connection, MalformedFrame frame, int expected)
    {
        WebSocketCloseStatus? status;
        try
        {
            status = await connection.Closed.WaitAsync(CaseTimeout);
        }
        catch (TimeoutException)
        {
            report.Fail(frame, $"the connection was not closed with {expected} within {CaseTimeout.TotalSeconds} s");
            await DropConnectionAsync();
            return;
        }

        connection.DrainTo(received => report.Observe(frame, received));
        var code = (int?)status ?? 1006;
        // Strict, as InvalidTextTests: the server's lingering close reads the peer's input off before it
        // hangs up, so a close frame is never lost to a reset and 1006 fails like any other wrong code.
        if (code != expected)
        {
            report.Fail(frame, $"the connection was closed with {code} instead of {expected}");
        }

        report.Record(frame, code);
        await DropConnectionAsync();
    }

    private async Task ExpectStillOpenAsync(FuzzConnection connection, MalformedFrame frame)
    {
        var probe = $"probe-{user}-{++_probes}";
        bool answered;
        try
        {
            await connection.SendTextAsync($$"""{"op":"presence","room":"{{room}}","id":"{{probe}}"}""");
            answered = await connection.ReadUntilReplyAsync(probe, received => report.Observe(frame, received), CaseTimeout);
        }
        catch (OperationCanceledException)
        {
            report.Fail(frame, $"the server did not answer the next command within {CaseTimeout.TotalSeconds} s");
            await DropConnectionAsync();
            return;
        }
        catch (WebSocketException)
        {
            answered = false;
        }

        if (answered)
        {
            report.Record(frame, 0);
            return;
        }

        var status = await connection.Closed.WaitAsync(CaseTimeout);
        var code = (int?)status ?? 1006;
        report.Fail(frame, $"the connection was closed with {code} although it should have stayed open");
        report.Record(frame, code);
        await DropConnectionAsync();
    }

    /// <summary>A new connection that has read its welcome and joined the fuzz room.</summary>
    private async Task<FuzzConnection> ConnectAsync(MalformedFrame next)
    {
        var connection = await FuzzConnection.ConnectAsync(server.Ws("ws?user=" + user));
        var setup = $"setup-{user}-{++_probes}";
        await connection.SendTextAsync($$"""{"op":"join","room":"{{room}}","id":"{{setup}}"}""");
        if (!await connection.ReadUntilReplyAsync(setup, received => report.Observe(next, received), CaseTimeout))
        {
            await connection.DisposeAsync();
            throw new InvalidOperationException($"a fresh fuzz connection could not join {room} (seed {report.Seed}, before case {next.Index})");
        }

        return connection;
    }

    private async Task DropConnectionAsync()
    {
        if (_connection is { } connection)
        {
            _connection = null;
            await connection.DisposeAsync();
        }
    }
}
