using CprDesk.Access;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CprDesk.Web.Pages.Staff;

public sealed class LoginModel(Accounts accounts) : PageModel
{
    public string? Error { get; private set; }
    [BindProperty] public string? Username { get; set; }
    [BindProperty] public string? Password { get; set; }

    public void OnGet() { }

    public async Task<IActionResult> OnPostAsync(string? returnUrl)
    {
        if (string.IsNullOrWhiteSpace(Username) || string.IsNullOrEmpty(Password))
        {
            Error = "Enter your username and password.";
            Response.StatusCode = 400;
            return Page();
        }
        var result = await accounts.SignInAsync(Username.Trim(), Password, HttpContext.Connection.RemoteIpAddress?.ToString());
        if (result.User is null)
        {
            Error = result.Error;
            Response.StatusCode = 401;
            return Page();
        }
        await HttpContext.SignInAsync(AccessSetup.CookieScheme, AccessSetup.PrincipalFor(result.User, AccessSetup.CookieScheme));
        if (result.User.MustChangePassword) return LocalRedirect("/staff/password");
        return LocalRedirect(Url.IsLocalUrl(returnUrl) ? returnUrl : "/staff");
    }
}
