namespace Switchboard.Connections;

/// <summary>
/// Why and how a session closes. Published whole, with one compare-exchange, so a reader that sees
/// the session closing sees the code, the reason and the flush flag that go with it, never a mix.
/// </summary>
/// <param name="Code">The close code (see <c>CloseCodes</c>).</param>
/// <param name="Reason">The close reason sent to the peer.</param>
/// <param name="Flush">Whether frames already queued are written before the close (graceful drain) or dropped.</param>
public sealed record CloseRequest(int Code, string Reason, bool Flush);
