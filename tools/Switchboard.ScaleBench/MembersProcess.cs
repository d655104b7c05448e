using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;

namespace Switchboard.ScaleBench;

/// <summary>
/// The child process of <see cref="BigRoomRun"/> and <see cref="ScaleOutRun"/>: holds the members (10,000 sockets would
/// not fit beside the server's own in one process: 20,000 open files at most). Prints <c>ready</c>
/// once every member has joined, counts the publications each receives, answers each <c>count</c>
/// line on its standard input with <c>received N closed M</c>, and exits when that input closes.
/// </summary>
internal static class MembersProcess
{
    /// <summary>
    /// Joins <paramref name="count"/> members; with <paramref name="rooms"/> above 1, member i joins
    /// <paramref name="room"/> followed by i modulo <paramref name="rooms"/>.
    /// </summary>
    public static async Task<int> RunAsync(Uri ws, string room, int count, int rooms, CancellationToken cancellationToken)
    {
        var members = new Member[count];
        using var gate = new SemaphoreSlim(100);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync(cancellationToken);
            try
            {
                // 100 members per user: presence events only for a user's first connection, as in docs/benchmarks.md.
                members[i] = await Member.JoinAsync(ws, "member" + (i % (count / 100 + 1)), rooms > 1 ? room + (i % rooms).ToString(System.Globalization.CultureInfo.InvariantCulture) : room, cancellationToken);
            }
            finally
            {
                gate.Release();
            }
        })).WaitAsync(TimeSpan.FromMinutes(5), cancellationToken);
        Console.WriteLine("ready");
        while (await Console.In.ReadLineAsync(cancellationToken) is not null)
        {
            Console.WriteLine($"received {members.Sum(m => m.Received)} closed {members.Count(m => m.Closed)}");
        }

        foreach (var member in members)
        {
            member.Abort();
            member.Dispose();
        }

        return 0;
    }

    /// <summary>Starts this tool's <c>members</c> command as a child process (see <see cref="RunAsync"/>).</summary>
    public static Process Start(Uri ws, string room, int count, int rooms)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { typeof(MembersProcess).Assembly.Location, "members", "--url", ws.ToString(), "--count", count.ToString(CultureInfo.InvariantCulture), "--room", room, "--rooms", rooms.ToString(CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("could not start the members process");
    }

    /// <summary>Asks a child started by <see cref="Start"/> for its counts: <c>received N closed M</c>.</summary>
    public static async Task<(long Received, int Closed)> CountAsync(Process child, CancellationToken cancellationToken)
    {
        await child.StandardInput.WriteLineAsync("count".AsMemory(), cancellationToken);
        await child.StandardInput.FlushAsync(cancellationToken);
        var line = await child.StandardOutput.ReadLineAsync(cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(10), cancellationToken)
            ?? throw new InvalidOperationException("the members process ended: " + await child.StandardError.ReadToEndAsync(cancellationToken));
        var words = line.Split(' ');
        return (long.Parse(words[1], CultureInfo.InvariantCulture), int.Parse(words[3], CultureInfo.InvariantCulture));
    }

    private sealed class Member : IDisposable
    {
        private readonly ClientWebSocket _socket = new();
        private long _received;

        public long Received => Interlocked.Read(ref _received);

        public bool Closed { get; private set; }

        public static async Task<Member> JoinAsync(Uri ws, string user, string room, CancellationToken cancellationToken)
        {
            var member = new Member();
            await member._socket.ConnectAsync(new Uri(ws + "?user=" + user), cancellationToken);
            await member._socket.SendAsync(Encoding.UTF8.GetBytes($$"""{"op":"join","room":"{{room}}","id":1}"""), WebSocketMessageType.Text, true, cancellationToken);
            var joined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _ = member.ReceiveLoopAsync(joined); // Ends with the socket; its outcome is the counters.
            await joined.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            return member;
        }

        public void Abort() => _socket.Abort();

        public void Dispose() => _socket.Dispose();

        private async Task ReceiveLoopAsync(TaskCompletionSource joined)
        {
            var buffer = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    var result = await _socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        Closed = true;
                        return;
                    }

                    var data = buffer.AsSpan(0, result.Count);
                    if (data.IndexOf("\"op\":\"reply\""u8) >= 0)
                    {
                        joined.TrySetResult();
                    }

                    var found = 0;
                    for (var at = data.IndexOf("\"op\":\"message\""u8); at >= 0; at = data[(at + 1)..].IndexOf("\"op\":\"message\""u8) is var next and >= 0 ? at + 1 + next : -1)
                    {
                        found++;
                    }

                    Interlocked.Add(ref _received, found);
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                Closed |= _socket.State != WebSocketState.Aborted;
            }
        }
    }
}
