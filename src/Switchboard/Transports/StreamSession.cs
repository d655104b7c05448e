namespace Switchboard.Transports;

/// <summary>A live HTTP stream as its commands endpoint finds it: the transport to post to, and who may post.</summary>
/// <param name="Id">The session id (from <c>welcome</c>), the key of the commands URL.</param>
/// <param name="Transport">The stream's transport.</param>
/// <param name="User">The session's user.</param>
/// <param name="Credential">What a POST must show besides the id.</param>
internal sealed record StreamSession(string Id, HttpStreamTransport Transport, string User, PostCredential Credential);
