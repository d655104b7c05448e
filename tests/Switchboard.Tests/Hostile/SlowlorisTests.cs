using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Hostile;

/// <summary>
/// Peers that hold a TCP connection open without ever completing the upgrade request are cut off
/// once <c>Limits:HandshakeTimeoutSeconds</c> passes, while everyone else connects as usual.
/// </summary>
[Trait("Category", "integration")]
public sealed class SlowlorisTests
{
    private const int Attackers = 20;

    // Far slower than any real client; at this pace the request below would take over 30 s.
    private static readonly TimeSpan ByteInterval = TimeSpan.FromMilliseconds(200);

    // The 1 s handshake timeout, plus up to one Kestrel heartbeat (1 s) before it is noticed, plus slack
    // for a loaded machine. Without the timeout the connection would be held for minutes.
    private static readonly TimeSpan CutOffDeadline = TimeSpan.FromSeconds(5);

    private static Dictionary<string, string?> Settings => new() { ["Switchboard:Limits:HandshakeTimeoutSeconds"] = "1" };

    [Fact]
    public async Task UpgradeRequestsSentOneByteAtATimeAreCutOffWhileOthersConnectAndWork()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await TestServer.StartAsync(Settings, logs);
        var request = Encoding.ASCII.GetBytes(
            "GET /ws?user=loris HTTP/1.1\r\n" +
            $"Host: {server.BaseUri.Authority}\r\n" +
            "Upgrade: websocket\r\n" +
            "Connection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
            "Sec-WebSocket-Version: 13\r\n\r\n");
        var attackers = await ConnectTcpAsync(server, Attackers);
        try
        {
            var sent = new int[Attackers];
            using var stop = new CancellationTokenSource();
            var started = Stopwatch.StartNew();
            var dribbling = DribbleAsync(attackers, request, sent, stop.Token);
            var cutOffs = attackers.Select(a => WaitUntilServerClosesAsync(a, CutOffDeadline)).ToArray();

            // While the attack is under way, a normal client connects, joins and publishes.
            await using (var client = await server.ConnectAsync("normal"))
            {
                await client.RequestAsync("""{"op":"join","room":"meanwhile"}""");
                var reply = await client.RequestAsync("""{"op":"publish","room":"meanwhile","data":"unbothered"}""");
                Assert.Equal("reply", reply.GetProperty("op").GetString());
                Assert.Equal("unbothered", (await client.ExpectAsync("message")).GetProperty("data").GetString());
            }

            var responses = await Task.WhenAll(cutOffs);
            var elapsed = started.Elapsed;
            await stop.CancelAsync();
            await dribbling.WaitAsync(TimeSpan.FromSeconds(10));

            Assert.True(elapsed < CutOffDeadline, $"the slow upgrades were held for {elapsed.TotalSeconds:F1} s");
            Assert.All(sent, count => Assert.True(count < request.Length, $"an attacker got to send its whole request ({count} bytes)"));
            // Kestrel may answer 408 before it closes; it must never have gone ahead with an upgrade.
            Assert.All(responses, response => Assert.True(response.Length == 0 || response.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), "unexpected response: " + response));
        }
        finally
        {
            foreach (var attacker in attackers)
            {
                attacker.Dispose();
            }
        }

        await server.AssertNothingRemainsAsync();
        logs.AssertNoErrors();
    }

    [Fact]
    public async Task TcpConnectionThatNeverSendsAByteIsCutOffWithinTheHandshakeTimeout()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await TestServer.StartAsync(Settings, logs);
        var idle = await ConnectTcpAsync(server, Attackers);
        try
        {
            var started = Stopwatch.StartNew();
            var cutOffs = idle.Select(a => WaitUntilServerClosesAsync(a, CutOffDeadline)).ToArray();

            await using (var client = await server.ConnectAsync("normal"))
            {
                var reply = await client.RequestAsync("""{"op":"join","room":"meanwhile"}""");
                Assert.Equal("reply", reply.GetProperty("op").GetString());
            }

            var responses = await Task.WhenAll(cutOffs);
            Assert.True(started.Elapsed < CutOffDeadline, $"the idle connections were held for {started.Elapsed.TotalSeconds:F1} s");
            Assert.All(responses, response => Assert.True(response.Length == 0 || response.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), "unexpected response: " + response));
        }
        finally
        {
            foreach (var socket in idle)
            {
                socket.Dispose();
            }
        }

        logs.AssertNoErrors();
    }

    private static async Task<Socket[]> ConnectTcpAsync(TestServer server, int count)
    {
        var sockets = new List<Socket>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                sockets.Add(socket);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await socket.ConnectAsync(server.BaseUri.Host, server.BaseUri.Port, timeout.Token);
            }

            return [.. sockets];
        }
        catch
        {
            sockets.ForEach(s => s.Dispose());
            throw;
        }
    }

    /// <summary>
    /// On every tick of a timer, sends each attacker the next byte of <paramref name="request"/>,
    /// until cancelled; an attacker the server has cut off is left alone.
    /// </summary>
    private static async Task DribbleAsync(Socket[] attackers, byte[] request, int[] sent, CancellationToken cancellationToken)
    {
        var open = attackers.Select(_ => true).ToArray();
        using var timer = new PeriodicTimer(ByteInterval);
        try
        {
            do
            {
                for (var i = 0; i < attackers.Length; i++)
                {
                    if (!open[i] || sent[i] >= request.Length)
                    {
                        continue;
                    }

                    try
                    {
                        await attackers[i].SendAsync(request.AsMemory(sent[i], 1), SocketFlags.None, cancellationToken);
                        sent[i]++;
                    }
                    catch (SocketException)
                    {
                        open[i] = false;
                    }
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException)
        {
            // The test has seen every attacker cut off.
        }
    }

    /// <summary>Reads until the server ends the connection (a read of 0 bytes, or a reset) and returns what it sent; fails at the deadline.</summary>
    private static async Task<string> WaitUntilServerClosesAsync(Socket socket, TimeSpan deadline)
    {
        using var timeout = new CancellationTokenSource(deadline);
        var received = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var count = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (count == 0)
                {
                    return received.ToString();
                }

                received.Append(Encoding.ASCII.GetString(buffer, 0, count));
            }
        }
        catch (SocketException)
        {
            return received.ToString();
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the server still held the connection open after {deadline.TotalSeconds} s");
        }
    }
}
