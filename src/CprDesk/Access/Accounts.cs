// Local staff accounts and API tokens: creation, sign-in with lockout, password changes, token issue and
// revocation. Passwords use ASP.NET Core Identity's PBKDF2 hasher; tokens are random and stored as SHA-256.
using System.Security.Cryptography;
using CprDesk.Reports;
using CprDesk.Storage;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Access;

public sealed record SignInResult(StaffUser? User, string? Error);

public sealed record IssuedToken(long Id, string Token, string Prefix);

public sealed class Accounts(Database database, TimeProvider time)
{
    public const int MaxFailedSignIns = 5;
    public static readonly TimeSpan LockoutDuration = TimeSpan.FromMinutes(15);
    public const int MinPasswordLength = 12;
    private static readonly PasswordHasher<StaffUser> Hasher = new();

    public static string NewPassword()
    {
        const string alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        return string.Create(20, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++) span[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
        });
    }

    public static bool TryParseRole(string? s, out StaffRole role) =>
        Enum.TryParse(s, ignoreCase: true, out role) && Enum.IsDefined(role);

    public Task<bool> AnyUsersAsync() => CountAsync();

    private async Task<bool> CountAsync()
    {
        await using var db = database.Open();
        return await db.Users.AnyAsync();
    }

    /// <summary>Creates an account with a one-time password (returned once, must be changed at first sign-in).</summary>
    public Task<(StaffUser User, string Password)> CreateAsync(string actor, string username, StaffRole role, string? email, string? displayName,
        string? webhookUrl = null) =>
        database.WriteAsync(time, async s =>
        {
            username = username.Trim();
            if (!System.Text.RegularExpressions.Regex.IsMatch(username, "^[A-Za-z0-9._-]{1,64}$"))
                throw DeskException.Invalid("username", "Usernames are 1-64 letters, digits, '.', '_' or '-'.");
            if (await s.Db.Users.AnyAsync(u => u.Username == username))
                throw DeskException.Conflict($"A user named '{username}' already exists.");
            if (email is not null) email = ReportDesk.RequireEmail("email", email);
            if (webhookUrl is not null && !Notifications.WebhookTransport.IsValidUrl(webhookUrl))
                throw DeskException.Invalid("webhook", "The webhook must be an http(s) URL.");
            var password = NewPassword();
            var user = new StaffUser
            {
                Username = username, Role = role, Email = email, DisplayName = displayName, CreatedAt = s.Now, WebhookUrl = webhookUrl,
                MustChangePassword = true,
            };
            user.PasswordHash = Hasher.HashPassword(user, password);
            s.Db.Users.Add(user);
            await s.Db.SaveChangesAsync();
            OnCall.ContactStore.AddInitial(s, user); // the email and webhook given become the first contact methods
            await s.AuditAsync(actor, "user.created", null, new { username, role = role.ToString(), email, webhook = webhookUrl is not null });
            return (user, password);
        });

    public async Task<IReadOnlyList<StaffUser>> ListAsync()
    {
        await using var db = database.Open();
        return await db.Users.AsNoTracking().OrderBy(u => u.Username).ToListAsync();
    }

    public Task DisableAsync(string actor, string username) => database.WriteAsync(time, async s =>
    {
        var user = await FindAsync(s.Db, username);
        if (user.Disabled) return false;
        user.Disabled = true;
        var tokens = await s.Db.ApiTokens.Where(t => t.UserId == user.Id && t.RevokedAt == null).ToListAsync();
        foreach (var t in tokens) t.RevokedAt = s.Now;
        await s.AuditAsync(actor, "user.disabled", null, new { username, tokensRevoked = tokens.Count });
        return true;
    });

    public Task<string> ResetPasswordAsync(string actor, string username) => database.WriteAsync(time, async s =>
    {
        var user = await FindAsync(s.Db, username);
        var password = NewPassword();
        user.PasswordHash = Hasher.HashPassword(user, password);
        user.MustChangePassword = true;
        user.FailedSignIns = 0;
        user.LockedUntil = null;
        await s.AuditAsync(actor, "user.password-reset", null, new { username });
        return password;
    });

    public Task ChangePasswordAsync(long userId, string current, string next) => database.WriteAsync(time, async s =>
    {
        var user = await s.Db.Users.FirstAsync(u => u.Id == userId);
        if (Hasher.VerifyHashedPassword(user, user.PasswordHash, current) == PasswordVerificationResult.Failed)
            throw DeskException.Invalid("currentPassword", "The current password is wrong.");
        if (next.Length < MinPasswordLength)
            throw DeskException.Invalid("newPassword", $"The new password must have at least {MinPasswordLength} characters.");
        if (next == current) throw DeskException.Invalid("newPassword", "The new password must differ from the current one.");
        user.PasswordHash = Hasher.HashPassword(user, next);
        user.MustChangePassword = false;
        await s.AuditAsync($"user:{user.Username}", "user.password-changed", null, new { username = user.Username });
        return true;
    });

    /// <summary>Checks a password, counting failures and locking the account after too many.</summary>
    public Task<SignInResult> SignInAsync(string username, string password, string? peer) => database.WriteAsync(time, async s =>
    {
        const string generic = "Wrong username or password.";
        var user = await s.Db.Users.FirstOrDefaultAsync(u => u.Username == username);
        if (user is null)
        {
            await s.AuditAsync("anonymous", "auth.sign-in-failed", null, new { username, peer, why = "unknown user" });
            return new SignInResult(null, generic);
        }
        if (user.Disabled)
        {
            await s.AuditAsync("anonymous", "auth.sign-in-failed", null, new { username, peer, why = "disabled" });
            return new SignInResult(null, generic);
        }
        if (user.LockedUntil is { } until && until > s.Now)
        {
            await s.AuditAsync("anonymous", "auth.sign-in-failed", null, new { username, peer, why = "locked" });
            return new SignInResult(null, $"This account is locked after repeated failures; try again after {until:yyyy-MM-dd HH:mm} UTC or ask an admin.");
        }
        var verdict = Hasher.VerifyHashedPassword(user, user.PasswordHash, password);
        if (verdict == PasswordVerificationResult.Failed)
        {
            user.FailedSignIns++;
            var locked = user.FailedSignIns >= MaxFailedSignIns;
            if (locked)
            {
                user.LockedUntil = s.Now + LockoutDuration;
                user.FailedSignIns = 0;
            }
            await s.AuditAsync("anonymous", locked ? "auth.locked-out" : "auth.sign-in-failed", null, new { username, peer, why = "wrong password" });
            return new SignInResult(null, generic);
        }
        if (verdict == PasswordVerificationResult.SuccessRehashNeeded) user.PasswordHash = Hasher.HashPassword(user, password);
        user.FailedSignIns = 0;
        user.LockedUntil = null;
        await s.AuditAsync($"user:{user.Username}", "auth.signed-in", null, new { username, peer });
        return new SignInResult(user, null);
    });

    public Task<IssuedToken> CreateTokenAsync(string actor, string username, string? name) => database.WriteAsync(time, async s =>
    {
        var user = await FindAsync(s.Db, username);
        if (user.Disabled) throw DeskException.Conflict($"The account '{username}' is disabled.");
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var token = "cprd_" + secret;
        var prefix = token[..13];
        var row = new ApiToken { UserId = user.Id, Name = string.IsNullOrWhiteSpace(name) ? "api" : name.Trim(), Prefix = prefix, TokenHash = HashToken(token), CreatedAt = s.Now };
        s.Db.ApiTokens.Add(row);
        await s.Db.SaveChangesAsync();
        await s.AuditAsync(actor, "token.created", null, new { username, tokenId = row.Id, prefix, name = row.Name });
        return new IssuedToken(row.Id, token, prefix);
    });

    public Task RevokeTokenAsync(string actor, string idOrPrefix) => database.WriteAsync(time, async s =>
    {
        var row = long.TryParse(idOrPrefix, out var id)
            ? await s.Db.ApiTokens.FirstOrDefaultAsync(t => t.Id == id)
            : await s.Db.ApiTokens.FirstOrDefaultAsync(t => t.Prefix == idOrPrefix);
        if (row is null) throw DeskException.NotFound($"No token '{idOrPrefix}'.");
        if (row.RevokedAt is not null) return false;
        row.RevokedAt = s.Now;
        await s.AuditAsync(actor, "token.revoked", null, new { tokenId = row.Id, row.Prefix });
        return true;
    });

    /// <summary>A token for `cprdesk mailgate`: it may only submit inbound mail, and belongs to no person.</summary>
    public Task<IssuedToken> CreateMailgateTokenAsync(string actor, string? name) => database.WriteAsync(time, async s =>
    {
        var token = "cprm_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var prefix = token[..13];
        var row = new ApiToken { Scope = ApiToken.MailgateScope, Name = string.IsNullOrWhiteSpace(name) ? "mailgate" : name.Trim(), Prefix = prefix, TokenHash = HashToken(token), CreatedAt = s.Now };
        s.Db.ApiTokens.Add(row);
        await s.Db.SaveChangesAsync();
        await s.AuditAsync(actor, "token.created", null, new { scope = row.Scope, tokenId = row.Id, prefix, name = row.Name });
        return new IssuedToken(row.Id, token, prefix);
    });

    /// <summary>The principal a bearer token stands for, or null when it is unknown, revoked or its user disabled.</summary>
    public async Task<System.Security.Claims.ClaimsPrincipal?> AuthenticateTokenAsync(string token, string scheme)
    {
        var hash = HashToken(token);
        await using var db = database.Open();
        var row = await db.ApiTokens.AsNoTracking().Include(t => t.User).FirstOrDefaultAsync(t => t.TokenHash == hash && t.RevokedAt == null);
        if (row is null) return null;
        if (row.Scope == ApiToken.MailgateScope) return AccessSetup.MailgatePrincipal(row.Name, scheme);
        return row.User is { Disabled: false } user ? AccessSetup.PrincipalFor(user, scheme) : null;
    }

    public async Task<StaffUser?> FindActiveAsync(long id)
    {
        await using var db = database.Open();
        return await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == id && !u.Disabled);
    }

    private static async Task<StaffUser> FindAsync(CprDeskDb db, string username) =>
        await db.Users.FirstOrDefaultAsync(u => u.Username == username) ?? throw DeskException.NotFound($"No user '{username}'.");

    public static string HashToken(string token) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token)));
}
