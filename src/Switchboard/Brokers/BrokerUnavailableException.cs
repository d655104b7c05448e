namespace Switchboard.Brokers;

/// <summary>
/// The broker could not carry out a request (its backing service is unreachable, or timed out).
/// Callers answer their client with an <c>unavailable</c> error or HTTP 503; nothing is dropped silently.
/// </summary>
public sealed class BrokerUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public BrokerUnavailableException()
        : base("The broker is unavailable.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public BrokerUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public BrokerUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
