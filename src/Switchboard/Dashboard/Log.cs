using Microsoft.Extensions.Logging;

namespace Switchboard.Dashboard;

internal static partial class Log
{
    [LoggerMessage(6001, LogLevel.Debug, "Dashboard could not read the stream top of room {Room}")]
    public static partial void RoomTopUnavailable(ILogger logger, string room, Exception exception);

    [LoggerMessage(6002, LogLevel.Debug, "Dashboard could not exchange node reports")]
    public static partial void NodesUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(6003, LogLevel.Error, "Dashboard sampling failed; it goes on at the next second")]
    public static partial void SampleFailed(ILogger logger, Exception exception);
}
