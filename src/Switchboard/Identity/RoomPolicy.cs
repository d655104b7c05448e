using Microsoft.Extensions.Options;
using Switchboard.Options;

namespace Switchboard.Identity;

/// <summary>
/// Who may join, publish to, and look into which room: the configured rules by room-name pattern
/// (first match wins), each user's personal room, and the rooms a token grants. A room no rule
/// matches is closed, except to grants, and shows no presence or history, unless
/// <c>Rooms:AllowAll</c> opens it. Decisions are pure functions of the identity and the room name.
/// </summary>
public sealed class RoomPolicy(IOptions<SwitchboardOptions> options)
{
    // Rooms:AllowAll: as if a final rule "*" with every default were configured.
    private static readonly RoomRule OpenRoom = new();

    // Deny by default: nobody joins but the grantees (checked before any rule), who may publish but
    // neither see who else is there nor read what was said before they came.
    private static readonly RoomRule ClosedRoom = new() { Join = RoomAccess.Nobody, Publish = RoomAccess.Members, Presence = false, History = false };

    private RoomsOptions Rooms => options.Value.Rooms;

    /// <summary>Whether <paramref name="identity"/> may join <paramref name="room"/>.</summary>
    public bool CanJoin(ConnectionIdentity identity, string room)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (IsPersonal(room, out var owner))
        {
            return (!identity.IsAnonymous && owner == identity.User) || IsGranted(identity, room);
        }

        if (IsGranted(identity, room))
        {
            return true;
        }

        return RuleFor(room).Join switch
        {
            RoomAccess.Anyone => true,
            RoomAccess.Authenticated => !identity.IsAnonymous,
            _ => false,
        };
    }

    /// <summary>Whether <paramref name="identity"/>, a member, may publish to <paramref name="room"/>.</summary>
    public bool CanPublish(ConnectionIdentity identity, string room)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (IsPersonal(room, out _))
        {
            return false;
        }

        return RuleFor(room).Publish switch
        {
            RoomAccess.Members => CanJoin(identity, room),
            RoomAccess.Granted => IsGranted(identity, room),
            _ => false,
        };
    }

    /// <summary>Whether <paramref name="identity"/> may see <paramref name="room"/>'s presence.</summary>
    public bool CanSeePresence(ConnectionIdentity identity, string room) =>
        CanJoin(identity, room) && (IsPersonal(room, out _) || RuleFor(room).Presence);

    /// <summary>Whether <paramref name="identity"/> may read <paramref name="room"/>'s history.</summary>
    public bool CanReadHistory(ConnectionIdentity identity, string room) =>
        CanJoin(identity, room) && (IsPersonal(room, out _) || RuleFor(room).History);

    /// <summary>Whether <c>joined</c>/<c>left</c> events are sent in <paramref name="room"/> (not where presence is hidden).</summary>
    public bool AnnouncesPresence(string room) => IsPersonal(room, out _) || RuleFor(room).Presence;

    private bool IsPersonal(string room, out string owner)
    {
        var prefix = Rooms.PersonalPrefix;
        var personal = prefix.Length > 0 && room.Length > prefix.Length && room.StartsWith(prefix, StringComparison.Ordinal);
        owner = personal ? room[prefix.Length..] : string.Empty;
        return personal;
    }

    private RoomRule RuleFor(string room) => Rooms.Rules.Find(rule => Matches(rule.Pattern, room)) ?? (Rooms.AllowAll ? OpenRoom : ClosedRoom);

    private static bool IsGranted(ConnectionIdentity identity, string room)
    {
        foreach (var pattern in identity.GrantedRooms)
        {
            if (Matches(pattern, room))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Matches(string pattern, string room) =>
        pattern.EndsWith('*') ? room.StartsWith(pattern.AsSpan(0, pattern.Length - 1), StringComparison.Ordinal) : pattern == room;
}
