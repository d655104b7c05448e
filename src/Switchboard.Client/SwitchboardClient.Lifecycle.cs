using System.Diagnostics;
using System.Net.WebSockets;
using System.Threading.Channels;
using Switchboard.Protocol;

namespace Switchboard.Client;

public sealed partial class SwitchboardClient
{
    /// <summary>The close code of a connection that ended without a close frame.</summary>
    internal const int AbnormalClosure = 1006;

    /// <summary>
    /// Owns the client's whole life: connect, run a session, decide from its close code whether and
    /// when to try again, and fail whatever is left once closed for good.
    /// </summary>
    private async Task RunAsync(CancellationToken stop)
    {
        // Let ConnectAsync return its task before the first attempt runs.
        await Task.Yield();
        var attempt = 0;
        int? closeCode = null;
        string? closeReason = null;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var outcome = await RunSessionAsync(stop).ConfigureAwait(false);
                closeCode = outcome.CloseCode;
                closeReason = outcome.CloseReason;
                if (stop.IsCancellationRequested)
                {
                    break;
                }

                if (outcome.CloseCode is { } code && !CloseCodes.ShouldReconnect(code))
                {
                    Log.ClosedByServer(_logger, code, outcome.CloseReason);
                    break;
                }

                if (outcome.Connected && outcome.Lasted >= _options.Backoff.StableAfter)
                {
                    attempt = 0;
                }

                attempt++;
                // A draining node says so with 1001: its clients should move to another node at once.
                var delay = outcome.CloseCode == CloseCodes.GoingAway ? TimeSpan.Zero : _backoff.Delay(attempt);
                Log.Reconnecting(_logger, outcome.CloseCode, outcome.CloseReason, attempt, delay);
                SetStatus(new ConnectionStatus(ConnectionState.Reconnecting, attempt, delay, outcome.CloseCode, outcome.CloseReason, outcome.Error));
                try
                {
                    await Task.Delay(delay, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        finally
        {
            FinishClosed(closeCode, closeReason);
        }
    }

    private async Task<SessionOutcome> RunSessionAsync(CancellationToken stop)
    {
        string? token;
        try
        {
            token = await GetTokenAsync(stop).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Whatever the application's token source throws, the client retries with backoff.
        catch (Exception e) when (!stop.IsCancellationRequested)
#pragma warning restore CA1031
        {
            Log.ConnectFailed(_logger, e);
            return new SessionOutcome(false, null, null, e, TimeSpan.Zero);
        }
        catch (OperationCanceledException)
        {
            return new SessionOutcome(false, null, null, null, TimeSpan.Zero);
        }

        var (transport, fellBack, error) = await OpenTransportAsync(token, stop).ConfigureAwait(false);
        if (transport is null)
        {
            return new SessionOutcome(false, null, null, error, TimeSpan.Zero);
        }

        using var session = new ClientSession(transport, _options.SendQueue);
        var started = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            _session = session;
        }

        var send = SendLoopAsync(session);
        var receive = ReceiveLoopAsync(session);
        Task start = Task.CompletedTask;
        Task refresh = Task.CompletedTask;
        var connected = false;
        using (var welcomeDeadline = new CancellationTokenSource(_options.ConnectTimeout))
        using (welcomeDeadline.Token.Register(() => { if (!session.Welcome.Task.IsCompleted) { session.Abort(); } }))
        using (stop.Register(() => CloseSession(session)))
        {
            if (await Task.WhenAny(session.Welcome.Task, receive).ConfigureAwait(false) == session.Welcome.Task)
            {
                welcomeDeadline.Dispose();
                var (user, sessionId) = await session.Welcome.Task.ConfigureAwait(false);
                _user = user;
                _sessionId = sessionId;
                if (fellBack)
                {
                    // This attempt's WebSocket failed and the fallback works: stay on it for a while.
                    _fellBackAt = _time.GetTimestamp();
                }

                connected = true;
                start = StartSessionAsync(session, user, sessionId);
                refresh = RefreshLoopAsync(session, token);
            }

            var (closeCode, closeReason) = await receive.ConfigureAwait(false);
            EndSession(session);
            await Task.WhenAll(send, start, refresh).ConfigureAwait(false);
            RequeueAfter(session);
            var lasted = Stopwatch.GetElapsedTime(started);
            return new SessionOutcome(connected, closeCode, closeReason, null, lasted);
        }
    }

    /// <summary>
    /// Opens this attempt's connection: the transports in order, the next one only when the previous
    /// could not be opened at all (a WebSocket whose upgrade a proxy refuses moves to server-sent events
    /// at once, with no backoff). A connection that opens and then drops is the caller's ordinary reconnect.
    /// </summary>
    private async Task<(IClientTransport? Transport, bool FellBack, Exception? Error)> OpenTransportAsync(string? token, CancellationToken stop)
    {
        var order = TransportOrder();
        Exception? error = null;
        for (var i = 0; i < order.Count; i++)
        {
            var transport = CreateTransport(order[i], token);
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
                timeout.CancelAfter(_options.ConnectTimeout);
                await transport.ConnectAsync(timeout.Token).ConfigureAwait(false);
                return (transport, i > 0 && order[0] == ClientTransport.WebSocket, null);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or HttpRequestException or IOException)
            {
                transport.Dispose();
                Log.ConnectFailed(_logger, e);
                error = e;
                if (order[i] == ClientTransport.ServerSentEvents)
                {
                    // The server is down or unreachable, not just the WebSocket: the next attempt tries
                    // the WebSocket first again, so a restart does not leave clients on the fallback.
                    _fellBackAt = null;
                }

                if (stop.IsCancellationRequested)
                {
                    break;
                }

                if (i + 1 < order.Count)
                {
                    Log.TransportFallback(_logger, order[i], e.Message, order[i + 1]);
                }
            }
        }

        return (null, false, error);
    }

    /// <summary>The configured order, or server-sent events alone within <see cref="SwitchboardClientOptions.WebSocketRetry"/> of a fallback.</summary>
    private IReadOnlyList<ClientTransport> TransportOrder()
    {
        if (_fellBackAt is { } since && _time.GetElapsedTime(since) < _options.WebSocketRetry)
        {
            return [ClientTransport.ServerSentEvents];
        }

        return _options.Transports;
    }

    private IClientTransport CreateTransport(ClientTransport kind, string? token) => kind switch
    {
        ClientTransport.ServerSentEvents => new EventStreamTransport(_http.Value, _eventsUri, token, _options.KeepAliveInterval, _options.KeepAliveTimeout),
        _ => new WebSocketTransport(_uri, token, _options, _invoker),
    };

    /// <summary>
    /// After the welcome: re-join every room (with its last position) and write the offline queue, in
    /// that order, before new sends may go straight to the connection. The server handles one
    /// connection's commands in order, so a queued publish never reaches a room before its join.
    /// </summary>
    private async Task StartSessionAsync(ClientSession session, string user, string sessionId)
    {
        try
        {
            while (true)
            {
                ValueTask write;
                lock (_gate)
                {
                    if (_session != session || _closed)
                    {
                        return;
                    }

                    var room = _rooms.Values.FirstOrDefault(r => r.JoinedOn != session);
                    if (room is not null)
                    {
                        write = WriteJoinLocked(room, session);
                    }
                    else if (_offline.First is { } first)
                    {
                        _offline.RemoveFirst();
                        var request = first.Value;
                        request.OfflineNode = null;
                        _pending[request.Id] = request;
                        write = session.Outbound.Writer.WriteAsync(request);
                    }
                    else
                    {
                        session.Ready = true;
                        break;
                    }
                }

                await write.ConfigureAwait(false);
            }
        }
        catch (ChannelClosedException)
        {
            // The connection ended while starting; what was not written is requeued by the owner.
            return;
        }

        Log.Connected(_logger, _uri, user, sessionId, session.Transport.Kind);
        SetStatus(new ConnectionStatus(ConnectionState.Connected, Transport: session.Transport.Kind));
        _firstConnected.TrySetResult();
    }

    /// <summary>The connection is over: no new send may reach it; its writer stops without sending more.</summary>
    private void EndSession(ClientSession session)
    {
        lock (_gate)
        {
            if (_session == session)
            {
                _session = null;
            }

            session.Ready = false;
        }

        session.Stop();
        session.End();
    }

    /// <summary>
    /// What was queued on a dead connection but never written goes back to the front of the offline
    /// queue, in order; what was written and not answered fails with <c>disconnected</c>, since
    /// nobody can tell whether the server carried it out, unless it is a publish with an idempotency
    /// key: the server carries that out once whatever happens, so it goes back to the front too,
    /// ahead of the unwritten ones (it was written before them).
    /// </summary>
    private void RequeueAfter(ClientSession session)
    {
        var unsent = new List<PendingRequest>();
        while (session.Outbound.Reader.TryRead(out var request))
        {
            unsent.Add(request);
        }

        var disconnected = new SwitchboardException(ClientErrorCodes.Disconnected, "the connection dropped before the reply; the command may or may not have been carried out");
        lock (_gate)
        {
            for (var i = unsent.Count - 1; i >= 0; i--)
            {
                var request = unsent[i];
                _pending.TryRemove(request.Id, out _);
                if (request.Completion.Task.IsCompleted || request.Kind == RequestKind.Internal)
                {
                    continue;
                }

                if (request.Kind == RequestKind.Query || _closed)
                {
                    request.Fail(_closed ? ClosedError() : disconnected);
                }
                else
                {
                    EnqueueOfflineLocked(request, atFront: true);
                }
            }
        }

        var repeat = new List<PendingRequest>();
        foreach (var (id, request) in _pending)
        {
            if (request.Written && _pending.TryRemove(id, out _) && request.Kind != RequestKind.Internal)
            {
                if (request.Repeatable && !request.Completion.Task.IsCompleted)
                {
                    repeat.Add(request);
                }
                else
                {
                    request.Fail(disconnected);
                }
            }
        }

        // Ids are taken in call order, which is the order the offline queue and the writer keep.
        repeat.Sort((a, b) => a.Id.CompareTo(b.Id));
        lock (_gate)
        {
            for (var i = repeat.Count - 1; i >= 0; i--)
            {
                if (_closed)
                {
                    repeat[i].Fail(ClosedError());
                }
                else
                {
                    EnqueueOfflineLocked(repeat[i], atFront: true);
                }
            }
        }
    }

    private void CloseSession(ClientSession session)
    {
        session.RequestClose();
        // The close handshake is bounded: a server that never answers is cut off.
        _ = Task.Delay(_options.CloseTimeout, session.Ended).ContinueWith(
            static (t, s) => { if (!t.IsCanceled) { ((ClientSession)s!).Abort(); } },
            session,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private void FinishClosed(int? closeCode, string? closeReason)
    {
        List<PendingRequest> failed;
        lock (_gate)
        {
            _closed = true;
            failed = [.. _offline];
            _offline.Clear();
        }

        failed.AddRange(_pending.Values);
        _pending.Clear();
        foreach (var request in failed)
        {
            request.Fail(ClosedError(closeCode));
        }

        foreach (var room in _rooms.Values)
        {
            room.Complete(null);
        }

        _rooms.Clear();
        SetStatus(new ConnectionStatus(ConnectionState.Closed, _status.Attempt, null, closeCode, closeReason));
        _firstConnected.TrySetException(ClosedError(closeCode));
        // Nobody may be awaiting ConnectAsync; the failure is still available to anyone who does.
        _ = _firstConnected.Task.Exception;
        Log.Closed(_logger);
    }

    private SwitchboardException ClosedError(int? closeCode = null) =>
        new(ClientErrorCodes.Closed, closeCode is { } code ? $"the client is closed (close code {code})" : "the client is closed", closeCode ?? _status.CloseCode);

    private async ValueTask<string?> GetTokenAsync(CancellationToken cancellationToken) =>
        _options.GetToken is { } get ? await get(cancellationToken).ConfigureAwait(false) : _options.Token;

    /// <summary>
    /// Before the token expires, fetches a new one and sends <c>refresh</c> on the live connection. A
    /// refused refresh is retried until the old token runs out; then the server closes with 4003 and
    /// the reconnect fetches a fresh token anyway.
    /// </summary>
    private async Task RefreshLoopAsync(ClientSession session, string? token)
    {
        if (_options.GetToken is null || token is null)
        {
            return;
        }

        var ended = session.Ended;
        try
        {
            while (JwtExpiry.Read(token) is { } expires)
            {
                await Task.Delay(JwtExpiry.RefreshDelay(expires, DateTimeOffset.UtcNow), ended).ConfigureAwait(false);
                try
                {
                    var fresh = await _options.GetToken(ended).ConfigureAwait(false);
                    var id = NextId();
                    var request = new PendingRequest(id, Commands.Refresh(id, fresh), WebSocketMessageType.Text, RequestKind.Internal);
                    lock (_gate)
                    {
                        _pending[id] = request;
                    }

                    await session.Outbound.Writer.WriteAsync(request, ended).ConfigureAwait(false);
                    await request.Completion.Task.WaitAsync(ended).ConfigureAwait(false);
                    token = fresh;
                    session.Transport.UpdateToken(fresh);
                }
                catch (SwitchboardException e)
                {
                    Log.RefreshFailed(_logger, e);
                    // Try again shortly rather than at once: the token source may be briefly unable to answer.
                    await Task.Delay(TimeSpan.FromSeconds(1), ended).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            // The connection ended; the next one starts with a fresh token.
        }
#pragma warning disable CA1031 // The application's token source failed: logged, and the server's 4003 will end this connection.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.RefreshFailed(_logger, e);
        }
    }

    private void SetStatus(ConnectionStatus status)
    {
        _status = status;
        Raise(StateChanged, status);
    }

    private readonly record struct SessionOutcome(bool Connected, int? CloseCode, string? CloseReason, Exception? Error, TimeSpan Lasted);
}
