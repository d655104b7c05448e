using System.Buffers;
using Microsoft.AspNetCore.Connections;

namespace KestrelConnPeer;

/// <summary>
/// One upgraded connection: its room, its frame reader's state (<c>Member.Receive.cs</c>) and its
/// bounded send queue (<c>Member.Send.cs</c>). While idle it holds this object, one waiting state
/// machine and no buffer: the wait for the next frame is a plain read of Kestrel's pipe, whose socket
/// transport waits for data before it rents a block.
/// </summary>
public sealed partial class Member
{
    /// <summary>How long a close may take once the connection ends: the close frame's flush and the linger after our own close.</summary>
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    private readonly ConnectionContext _connection;

    private Member(ConnectionContext connection) => _connection = connection;

    /// <summary>Owns the connection's whole life: the upgrade, the join, the read loop, the leave and the close.</summary>
    public static async Task RunAsync(ConnectionContext connection, Rooms rooms)
    {
        var transport = connection.Transport;
        string? room;
        try
        {
            room = await UpgradeRequest.AcceptAsync(transport);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            return;
        }

        if (room is null)
        {
            return;
        }

        var member = new Member(connection);
        rooms.Join(room, member);
        Ending? ending = null;
        try
        {
            while (ending is null)
            {
                var read = await transport.Input.ReadAsync();
                var buffer = read.Buffer;
                ending = member.ReadFrames(ref buffer, room, rooms);
                transport.Input.AdvanceTo(buffer.Start, buffer.End);
                if (ending is null && (read.IsCompleted || read.IsCanceled))
                {
                    ending = Ending.Gone;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The client went away, or was aborted as too slow: only this connection ends.
            ending = Ending.Gone;
        }
        finally
        {
            rooms.Leave(room, member);
        }

        await member.CloseAsync(ending.Value);
    }

    /// <summary>Stops the send loop, then writes the close frame as the last one, then lingers if the close was ours.</summary>
    private async Task CloseAsync(Ending ending)
    {
        if (!await StopSendingAsync() || !ending.SendClose)
        {
            return;
        }

        using var deadline = new CancellationTokenSource(CloseTimeout);
        var transport = _connection.Transport;
        try
        {
            transport.Output.Write(ServerFrames.CloseFrame(ending.Status));
            await transport.Output.FlushAsync(deadline.Token);
            if (!ending.PeerClosedFirst)
            {
                // Our close came first: read and drop the client's last frames until it closes, so
                // that unread input does not make the kernel reset the socket over our close frame.
                while (true)
                {
                    var read = await transport.Input.ReadAsync(deadline.Token);
                    transport.Input.AdvanceTo(read.Buffer.End);
                    if (read.IsCompleted || read.IsCanceled)
                    {
                        break;
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The client is gone already, or took longer than the close timeout: nothing is left to tell it.
        }
    }
}
