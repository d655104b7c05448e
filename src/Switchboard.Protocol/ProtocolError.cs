namespace Switchboard.Protocol;

/// <summary>An error to answer a command with: a stable <see cref="Code"/> from <see cref="ErrorCodes"/> and a human message.</summary>
public readonly record struct ProtocolError(string Code, string Message);
