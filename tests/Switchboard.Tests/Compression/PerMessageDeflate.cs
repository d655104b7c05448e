using System.IO.Compression;

namespace Switchboard.Tests.Compression;

/// <summary>
/// A message's payload as permessage-deflate carries it (RFC 7692 section 7.2): raw deflate ended by
/// a sync flush whose last four bytes (<c>00 00 FF FF</c>) are left off, so that tests can build and
/// read compressed frames by hand.
/// </summary>
internal static class PerMessageDeflate
{
    private static readonly byte[] SyncFlushTail = [0x00, 0x00, 0xFF, 0xFF];

    public static byte[] Compress(ReadOnlySpan<byte> message)
    {
        using var output = new MemoryStream();
        var deflate = new DeflateStream(output, CompressionLevel.Optimal, leaveOpen: true);
        deflate.Write(message);
        // Flush is a sync flush; disposing would add a final block the receiver does not expect.
        deflate.Flush();
        var bytes = output.ToArray();
        if (!bytes.AsSpan().EndsWith(SyncFlushTail))
        {
            throw new InvalidOperationException("a sync flush ends with 00 00 FF FF");
        }

        return bytes[..^SyncFlushTail.Length];
    }

    public static byte[] Decompress(byte[] payload)
    {
        using var input = new MemoryStream([.. payload, .. SyncFlushTail]);
        using var inflate = new DeflateStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        inflate.CopyTo(output);
        return output.ToArray();
    }
}
