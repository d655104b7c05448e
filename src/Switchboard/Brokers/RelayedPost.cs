namespace Switchboard.Brokers;

/// <summary>
/// A POST of commands on its way to the node that holds its session. It carries no credential: the
/// node that received the POST checked them, and sends only the users they prove, which the holder
/// compares with the user its stream is bound to (see docs/protocol.md, Several nodes).
/// </summary>
/// <param name="Session">The session id of the commands URL.</param>
/// <param name="Body">The posted body, at most <c>Limits:MaxMessageBytes</c>.</param>
/// <param name="BearerUser">The user of the POST's valid <c>Authorization: Bearer</c> token; null without one.</param>
/// <param name="AppUser">The user the hosting app's sign-in found on the POST; null without one (or with <c>Auth:App</c> off).</param>
public sealed record RelayedPost(string Session, byte[] Body, string? BearerUser, string? AppUser);
