using CprDesk.Access;
using CprDesk.Reports;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using System.Security.Claims;

namespace CprDesk.Web.Pages.Staff;

public sealed class PasswordModel(Accounts accounts) : PageModel
{
    public string? Error { get; private set; }
    public bool MustChange => User.HasClaim("must_change_password", "1");

    public void OnGet() { }

    public async Task<IActionResult> OnPostAsync(string currentPassword, string newPassword, string confirmPassword)
    {
        if (newPassword != confirmPassword)
        {
            Error = "The two new passwords differ.";
            return Page();
        }
        var id = long.Parse(User.FindFirstValue(ClaimTypes.NameIdentifier)!, System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            await accounts.ChangePasswordAsync(id, currentPassword ?? "", newPassword ?? "");
        }
        catch (DeskException ex)
        {
            Error = ex.Message;
            return Page();
        }
        var user = (await accounts.FindActiveAsync(id))!;
        await HttpContext.SignInAsync(AccessSetup.CookieScheme, AccessSetup.PrincipalFor(user, AccessSetup.CookieScheme));
        return LocalRedirect("/staff");
    }
}
