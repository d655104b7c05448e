namespace Switchboard.Load.Client;

/// <summary>A connection opened but the welcome or the join did not complete as the protocol says.</summary>
internal sealed class SetupException : Exception
{
    public SetupException(string message)
        : base(message)
    {
    }

    public SetupException()
    {
    }

    public SetupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
