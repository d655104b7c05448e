using Switchboard.Connections;
using Switchboard.Identity;

namespace Switchboard.Transports;

/// <summary>
/// What a client that passed the <see cref="AdmissionGate"/> holds: its session id, who it is (or why
/// it is refused), and the counts taken for its address, which <see cref="Dispose"/> gives back.
/// </summary>
internal sealed class AdmissionTicket(Admission admission, string address, bool anonymousCounted, string session, IdentityResult identity) : IDisposable
{
    private int _released;

    /// <summary>The session id announced in <c>welcome</c>: 128 random bits, since an HTTP stream's session id is the capability to post its commands.</summary>
    public string Session { get; } = session;

    /// <summary>The identity, a refusal (close code and reason), or deferred (WebSocket only).</summary>
    public IdentityResult Identity { get; } = identity;

    /// <summary>Releases the per-address and anonymous counts; safe to call twice.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        admission.ReleaseIp(address);
        if (anonymousCounted)
        {
            admission.ReleaseAnonymous(address);
        }
    }
}
