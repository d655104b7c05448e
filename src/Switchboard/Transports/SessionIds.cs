using System.Buffers;
using System.Security.Cryptography;

namespace Switchboard.Transports;

/// <summary>
/// Session ids: 128 random bits in hex, the capability to post an HTTP stream's commands (see
/// docs/protocol.md, Transports). On a broker that spans nodes the id starts with its node's id and a
/// dot, <c>NODE.RANDOM</c>, so that any node can forward a POST to the stream's node without a lookup.
/// </summary>
internal static class SessionIds
{
    // 128 bits: the id is all a POST needs to act as the session's user, so it must not be guessable.
    private const int RandomBytes = 16;

    // The Redis broker's node ids: 8 random bytes in lowercase hex.
    private const int NodeIdLength = 16;

    private static readonly SearchValues<char> LowerHex = SearchValues.Create("0123456789abcdef");

    /// <summary>A new session id, on node <paramref name="node"/> when there is one.</summary>
    public static string Create(string? node)
    {
        var random = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(RandomBytes));
        return node is null ? random : node + "." + random;
    }

    /// <summary>
    /// The node that <paramref name="session"/> names; false for an id of another shape. Only the shape
    /// is checked, so a made-up node id never turns into an arbitrary broker channel name.
    /// </summary>
    public static bool TryGetNode(string session, out string node)
    {
        node = string.Empty;
        if (session.Length != NodeIdLength + 1 + (2 * RandomBytes) || session[NodeIdLength] != '.'
            || !IsLowerHex(session.AsSpan(0, NodeIdLength)) || !IsLowerHex(session.AsSpan(NodeIdLength + 1)))
        {
            return false;
        }

        node = session[..NodeIdLength];
        return true;
    }

    private static bool IsLowerHex(ReadOnlySpan<char> text) => !text.ContainsAnyExcept(LowerHex);
}
