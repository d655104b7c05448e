namespace Switchboard.Load.Client;

/// <summary>Bytes received off the wire by every connection of this process (handshakes included).</summary>
internal sealed class WireTally
{
    private long _bytes;

    public long Bytes => Volatile.Read(ref _bytes);

    public void Add(int bytes)
    {
        if (bytes > 0)
        {
            Interlocked.Add(ref _bytes, bytes);
        }
    }
}
