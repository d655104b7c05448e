using System.Collections.Concurrent;

namespace Switchboard.Transports;

/// <summary>
/// The HTTP streams of this node by session id, so that a POST of commands finds its stream. The
/// acceptor that runs a stream adds it and removes it in <c>finally</c>.
/// </summary>
internal sealed class StreamSessions
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
}
