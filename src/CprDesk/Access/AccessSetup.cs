// Who may do what: cookie sign-in for the dashboard, bearer tokens for the API, three roles.
using System.Security.Claims;
using System.Text.Encodings.Web;
using CprDesk.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;

namespace CprDesk.Access;

public static class Policies
{
    public const string Read = "read";   // admin, staff, auditor
    public const string Act = "act";     // admin, staff
    public const string Admin = "admin";
    public const string Mailgate = "mailgate"; // inbound mail only
}

public static class AccessSetup
{
    public const string TokenScheme = "Token";
    public const string CookieScheme = CookieAuthenticationDefaults.AuthenticationScheme;

    public static IServiceCollection AddAccess(this IServiceCollection services, bool secureCookies)
    {
        services.AddSingleton<Accounts>();
        services.AddAuthentication(o =>
            {
                o.DefaultScheme = "smart";
                o.DefaultChallengeScheme = "smart";
            })
            .AddPolicyScheme("smart", "cookie or token", o => o.ForwardDefaultSelector = ctx =>
                ctx.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || ctx.Request.Path.StartsWithSegments("/api")
                    ? TokenScheme : CookieScheme)
            .AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(TokenScheme, null)
            .AddCookie(CookieScheme, o =>
            {
                o.LoginPath = "/staff/login";
                o.LogoutPath = "/staff/logout";
                o.AccessDeniedPath = "/staff/denied";
                o.Cookie.Name = "cprdesk.auth";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.Cookie.SecurePolicy = secureCookies ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
                o.SlidingExpiration = true;
                o.Events.OnValidatePrincipal = async ctx =>
                {
                    // A disabled account loses its sessions at once.
                    var id = ctx.Principal?.FindFirstValue(ClaimTypes.NameIdentifier);
                    var accounts = ctx.HttpContext.RequestServices.GetRequiredService<Accounts>();
                    if (id is null || !long.TryParse(id, out var userId) || await accounts.FindActiveAsync(userId) is null)
                    {
                        ctx.RejectPrincipal();
                        await ctx.HttpContext.SignOutAsync(CookieScheme);
                    }
                };
            });
        services.AddAuthorizationBuilder()
            .AddPolicy(Policies.Read, p => p.RequireRole(nameof(StaffRole.Admin), nameof(StaffRole.Staff), nameof(StaffRole.Auditor)))
            .AddPolicy(Policies.Act, p => p.RequireRole(nameof(StaffRole.Admin), nameof(StaffRole.Staff)))
            .AddPolicy(Policies.Admin, p => p.RequireRole(nameof(StaffRole.Admin)))
            .AddPolicy(Policies.Mailgate, p => p.RequireRole(MailgateRole));
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "cprdesk.csrf";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = secureCookies ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
        });
        return services;
    }

    public static ClaimsPrincipal PrincipalFor(StaffUser user, string scheme)
    {
        var identity = new ClaimsIdentity(
        [
            new Claim(ClaimTypes.NameIdentifier, user.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new Claim(ClaimTypes.Name, user.Username),
            new Claim(ClaimTypes.Role, user.Role.ToString()),
            new Claim("must_change_password", user.MustChangePassword ? "1" : "0"),
        ], scheme);
        return new ClaimsPrincipal(identity);
    }

    public const string MailgateRole = "Mailgate";

    public static ClaimsPrincipal MailgatePrincipal(string tokenName, string scheme) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, $"mailgate:{tokenName}"), new Claim(ClaimTypes.Role, MailgateRole)], scheme));

    /// <summary>The audit actor for whoever is signed in.</summary>
    public static string Actor(this ClaimsPrincipal user) => $"user:{user.Identity?.Name ?? "unknown"}";
}

public sealed class TokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, Accounts accounts)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return AuthenticateResult.NoResult();
        var token = header["Bearer ".Length..].Trim();
        if (token.Length == 0 || token.Length > 200) return AuthenticateResult.Fail("malformed token");
        var principal = await accounts.AuthenticateTokenAsync(token, Scheme.Name);
        if (principal is null) return AuthenticateResult.Fail("unknown or revoked token");
        return AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = 401;
        Response.Headers.WWWAuthenticate = "Bearer";
        await Response.WriteAsJsonAsync(new { type = "about:blank", title = "Unauthorized", status = 401, detail = "A staff API token is required (Authorization: Bearer …)." },
            (System.Text.Json.JsonSerializerOptions?)null, "application/problem+json");
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = 403;
        await Response.WriteAsJsonAsync(new { type = "about:blank", title = "Forbidden", status = 403, detail = "Your role may not do this (auditors are read-only)." },
            (System.Text.Json.JsonSerializerOptions?)null, "application/problem+json");
    }
}
