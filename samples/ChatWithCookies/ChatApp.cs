using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Switchboard.Options;
using Switchboard.Protocol;

namespace ChatWithCookies;

/// <summary>
/// The app: a page at <c>/</c>, a development-grade sign-in that sets a cookie, and Switchboard
/// under <c>/realtime</c> taking each connection's user from that cookie.
/// </summary>
public static class ChatApp
{
    /// <summary>The prefix Switchboard is mounted under: the page connects to <c>/realtime/ws</c>.</summary>
    public const string RealtimePrefix = "/realtime";

    /// <summary>The claim Switchboard reads the granted rooms from (<c>Switchboard:Auth:App:RoomsClaim</c>).</summary>
    public const string RoomsClaim = "rooms";

    /// <summary>Rooms every signed-in user may join.</summary>
    public static readonly string[] EveryonesRooms = ["lobby", "random"];

    /// <summary>The room only the users listed in <c>Chat:Staff</c> are granted.</summary>
    public const string StaffRoom = "staff";

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            WebRootPath = Path.Combine(AppContext.BaseDirectory, "wwwroot"),
        });

        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(options =>
            {
                options.Cookie.Name = "chat.auth";
                options.LoginPath = "/";
                options.ExpireTimeSpan = TimeSpan.FromHours(8);
                // A WebSocket upgrade or an API call cannot follow a redirect to a login page: it
                // gets 401 (403 when signed in but not allowed); pages still go to the sign-in form.
                options.Events.OnRedirectToLogin = context => StatusOrRedirect(context, StatusCodes.Status401Unauthorized);
                options.Events.OnRedirectToAccessDenied = context => StatusOrRedirect(context, StatusCodes.Status403Forbidden);
            });
        builder.Services.AddAuthorization();
        builder.Services.AddSwitchboard(options =>
        {
            // Only the rooms the sign-in granted (the "rooms" claim); each user's personal room
            // user:{name} stays theirs. The identity comes from the cookie: Auth:App is on by default.
            options.Rooms.Rules.Add(new RoomRule { Pattern = "*", Join = RoomAccess.Granted, Publish = RoomAccess.Members });
        });

        var app = builder.Build();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapGet("/me", (ClaimsPrincipal user) => user.Identity?.IsAuthenticated == true
            ? Results.Ok(new { name = user.Identity.Name, rooms = user.FindAll(RoomsClaim).Select(c => c.Value) })
            : Results.Unauthorized());
        // Development-grade sign-in: whoever types a name is that user, without a password. A real app
        // checks credentials here (or uses ASP.NET Core Identity or an OpenID Connect provider).
        // No antiforgery token: the page is static; the cookie is SameSite=Lax.
        app.MapPost("/login", async (HttpContext context, [Microsoft.AspNetCore.Mvc.FromForm] string? name, IConfiguration configuration) =>
        {
            name = name?.Trim();
            if (string.IsNullOrEmpty(name) || !NameRules.IsValid(name))
            {
                return Results.Redirect("/?error=name");
            }

            var staff = configuration.GetSection("Chat:Staff").Get<string[]>() ?? ["alice"];
            var rooms = staff.Contains(name, StringComparer.Ordinal) ? [.. EveryonesRooms, StaffRoom] : EveryonesRooms;
            var identity = new ClaimsIdentity(
                [new Claim(ClaimTypes.NameIdentifier, name), new Claim(ClaimTypes.Name, name), .. rooms.Select(r => new Claim(RoomsClaim, r))],
                CookieAuthenticationDefaults.AuthenticationScheme);
            await context.SignInAsync(new ClaimsPrincipal(identity));
            return Results.Redirect("/");
        }).DisableAntiforgery();
        app.MapPost("/logout", async (HttpContext context) =>
        {
            await context.SignOutAsync();
            return Results.Redirect("/");
        }).DisableAntiforgery();

        // Switchboard under /realtime: /realtime/ws, /realtime/switchboard.js, ... for signed-in users only.
        app.MapSwitchboard(RealtimePrefix).RequireAuthorization();
        return app;
    }

    private static Task StatusOrRedirect(RedirectContext<CookieAuthenticationOptions> context, int status)
    {
        if (context.Request.Path.StartsWithSegments(RealtimePrefix))
        {
            context.Response.StatusCode = status;
        }
        else
        {
            context.Response.Redirect(context.RedirectUri);
        }

        return Task.CompletedTask;
    }
}
