using System.Collections.Concurrent;
using Switchboard.Brokers;

namespace Switchboard.Transports;

/// <summary>
/// The HTTP streams of this node by session id, so that a POST of commands finds its stream, whether it
/// was made to this node or forwarded by another through the broker's relay. The acceptor that runs a
/// stream adds it and removes it in <c>finally</c>.
/// </summary>
internal sealed class StreamSessions : IRelayedPostTarget
{
    private readonly ConcurrentDictionary<string, StreamSession> _sessions = new(StringComparer.Ordinal);

    public void Add(StreamSession session)
    {
        // 128 random bits: a collision is not a case to handle, but it must never hand one stream another's commands.
        if (!_sessions.TryAdd(session.Id, session))
        {
            throw new InvalidOperationException("duplicate session id");
        }
    }

    public void Remove(StreamSession session) => _sessions.TryRemove(new KeyValuePair<string, StreamSession>(session.Id, session));

    public StreamSession? Find(string id) => _sessions.GetValueOrDefault(id);

    /// <summary>
    /// A POST another node received for a stream of this one. That node checked the origin, the content
    /// type and the size, and validated the credentials; the identity binding is checked here, as for a
    /// local POST, with the users they proved.
    /// </summary>
    public RelayOutcome Accept(RelayedPost post)
    {
        if (Find(post.Session) is not { } stream)
        {
            return RelayOutcome.UnknownSession;
        }

        var proven = stream.Credential switch
        {
            PostCredential.BearerHeader => post.BearerUser == stream.User,
            PostCredential.App => post.AppUser == stream.User,
            _ => true,
        };
        if (!proven)
        {
            return RelayOutcome.Forbidden;
        }

        return stream.Transport.TryPost(post.Body) switch
        {
            PostOutcome.Accepted => RelayOutcome.Accepted,
            PostOutcome.Full => RelayOutcome.Full,
            _ => RelayOutcome.UnknownSession,
        };
    }
}
