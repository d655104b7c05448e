namespace Switchboard.Client;

/// <summary>
/// A command failed: an error reply from the server (<see cref="Code"/> is one of
/// <see cref="Switchboard.Protocol.ErrorCodes"/>) or a client-side failure (<see cref="ClientErrorCodes"/>).
/// </summary>
public sealed class SwitchboardException : Exception
{
    /// <summary>Creates an exception with an error code.</summary>
    public SwitchboardException(string code, string message, int? closeCode = null)
        : base(message)
    {
        Code = code;
        CloseCode = closeCode;
    }

    /// <summary>Creates an exception without a specific code.</summary>
    public SwitchboardException()
        : this("internal", "Switchboard command failed")
    {
    }

    /// <summary>Creates an exception without a specific code.</summary>
    public SwitchboardException(string message)
        : this("internal", message)
    {
    }

    /// <summary>Creates an exception without a specific code.</summary>
    public SwitchboardException(string message, Exception innerException)
        : base(message, innerException)
    {
        Code = "internal";
    }

    /// <summary>The error code clients branch on.</summary>
    public string Code { get; }

    /// <summary>With <see cref="ClientErrorCodes.Closed"/>: the close code that ended the client, if any.</summary>
    public int? CloseCode { get; }
}
