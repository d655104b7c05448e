using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;

/// <summary>
/// The cost of permessage-deflate alone, below Kestrel and the hub: server-mode WebSockets over a
/// stream that discards what it is given, as the node's send loop writes them. It reports the CPU per
/// message sent (compressed, and with compression turned off per message as for a message under
/// <c>Compression:MinMessageBytes</c>), the bytes on the wire per message, and the resident memory
/// each socket keeps after it has sent one compressed message (the zlib state, with context takeover).
/// Usage: <c>deflate TAKEOVER(true|false) WINDOW_BITS(9-15) SOCKETS MESSAGE_BYTES</c>.
/// </summary>
internal static class DeflateBench
{
    private const int MeasuredMessages = 50_000;

    // Distinct messages, so that with context takeover no socket sees the same text again within its
    // window (each of the 100 sockets sends 500 of them); repeats would flatter the ratio absurdly.
    private const int DistinctMessages = 4096;

    // A chat vocabulary, so the ratio is that of text and not of one repeated letter.
    private static readonly string[] Words = ("the a to and is it you that in of for on we this be with are have not just can so but do at what was get if will me my all " +
        "about out up one there they think know like now time good yes no ok thanks meeting tomorrow today deploy build broken fixed looks great sure maybe " +
        "later lunch review branch merge ticket customer release server client room message please check again sorry late minutes call link doc draft").Split(' ');

    public static async Task RunAsync(string[] args)
    {
        var takeover = bool.Parse(args[1]);
        var windowBits = int.Parse(args[2], CultureInfo.InvariantCulture);
        var sockets = int.Parse(args[3], CultureInfo.InvariantCulture);
        var messageBytes = int.Parse(args[4], CultureInfo.InvariantCulture);
        var messages = Enumerable.Range(0, DistinctMessages).Select(i => Publication(i, messageBytes)).ToArray();
        Console.WriteLine($"deflate: context takeover {takeover}, window bits {windowBits}, {sockets:N0} sockets, messages of {messages[0].Length:N0} B like {Encoding.UTF8.GetString(messages[0])[..Math.Min(120, messages[0].Length)]}...");

        // Memory first, in a fresh heap: plain sockets, then deflate sockets that each sent one message.
        var plainPerSocket = await BytesPerSocketAsync(sockets, null, messages[0]);
        var deflatePerSocket = await BytesPerSocketAsync(sockets, Options(takeover, windowBits), messages[0]);
        Console.WriteLine($"memory: {plainPerSocket:N0} B per plain socket, {deflatePerSocket:N0} B per deflate socket after one compressed message: {deflatePerSocket - plainPerSocket:N0} B more (RSS after a full GC)");

        // CPU: 100 sockets in turn, as a fan-out writes to many members.
        foreach (var compress in new[] { true, false, true, false })
        {
            var counter = new DiscardStream();
            var group = Enumerable.Range(0, 100).Select(_ => Create(counter, Options(takeover, windowBits))).ToArray();
            var flags = WebSocketMessageFlags.EndOfMessage | (compress ? WebSocketMessageFlags.None : WebSocketMessageFlags.DisableCompression);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            for (var i = 0; i < MeasuredMessages; i++)
            {
                await group[i % group.Length].SendAsync(messages[i % messages.Length], WebSocketMessageType.Text, flags, CancellationToken.None);
            }

            var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
            var payload = messages.Sum(m => (long)m.Length) * MeasuredMessages / messages.Length;
            Console.WriteLine($"{(compress ? "compressed" : "plain     ")}: {used.TotalMilliseconds * 1000 / MeasuredMessages:F2} µs CPU per message, {(double)counter.Written / MeasuredMessages:F0} B on the wire per message ({(double)payload / counter.Written:F2}:1)");
            foreach (var socket in group)
            {
                socket.Dispose();
            }
        }
    }

    private static async Task<long> BytesPerSocketAsync(int count, WebSocketDeflateOptions? deflate, byte[] message)
    {
        var before = Rss();
        var stream = new DiscardStream();
        var sockets = new WebSocket[count];
        for (var i = 0; i < count; i++)
        {
            sockets[i] = Create(stream, deflate);
            await sockets[i].SendAsync(message, WebSocketMessageType.Text, WebSocketMessageFlags.EndOfMessage, CancellationToken.None);
        }

        var after = Rss();
        GC.KeepAlive(sockets);
        foreach (var socket in sockets)
        {
            socket.Dispose();
        }

        Rss();
        return (after - before) / count;
    }

    private static WebSocketDeflateOptions Options(bool takeover, int windowBits) => new()
    {
        ServerContextTakeover = takeover,
        ClientContextTakeover = takeover,
        ServerMaxWindowBits = windowBits,
        ClientMaxWindowBits = windowBits,
    };

    private static WebSocket Create(Stream stream, WebSocketDeflateOptions? deflate) => WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
    {
        IsServer = true,
        KeepAliveInterval = TimeSpan.Zero,
        DangerousDeflateOptions = deflate,
    });

    /// <summary>A delivered chat publication as the node frames it, about <paramref name="bytes"/> long.</summary>
    private static byte[] Publication(int seed, int bytes)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        while (text.Length < Math.Max(1, bytes - 110))
        {
            text.Append(Words[random.Next(Words.Length)]).Append(' ');
        }

        return Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $$$"""{"op":"message","room":"lobby","offset":{{{1000 + seed}}},"from":"alice","data":{"user":"alice","text":"{{{text.ToString(0, Math.Max(1, bytes - 110))}}}"}}"""));
    }

    /// <summary>Resident memory after a full, compacting collection, so that only what is held remains.</summary>
    private static long Rss()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>Takes every write and counts it; never has anything to read.</summary>
    private sealed class DiscardStream : Stream
    {
        public long Written { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Written += buffer.Length;
            return ValueTask.CompletedTask;
        }

        public override void Write(byte[] buffer, int offset, int count) => Written += count;

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
