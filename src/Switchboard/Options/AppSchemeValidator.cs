using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Switchboard.Options;

/// <summary>
/// Checks at start-up that <c>Auth:App:Scheme</c> names a scheme the app registered; otherwise every
/// upgrade would fail later with the framework's exception instead of the node refusing to start.
/// </summary>
internal sealed class AppSchemeValidator(IServiceProvider services) : IValidateOptions<SwitchboardOptions>
{
    public ValidateOptionsResult Validate(string? name, SwitchboardOptions options)
    {
        if (options.Auth.App is not { Enabled: true, Scheme: { } scheme } || string.IsNullOrWhiteSpace(scheme))
        {
            return ValidateOptionsResult.Success;
        }

        // The provider answers from its own dictionary; the task is complete when returned.
        var registered = services.GetService<IAuthenticationSchemeProvider>()?.GetSchemeAsync(scheme).GetAwaiter().GetResult();
        return registered is null
            ? ValidateOptionsResult.Fail($"Switchboard:Auth:App:Scheme names no registered authentication scheme ('{scheme}'): register it with AddAuthentication().Add...(\"{scheme}\")")
            : ValidateOptionsResult.Success;
    }
}
