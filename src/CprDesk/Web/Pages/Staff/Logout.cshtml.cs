using CprDesk.Access;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CprDesk.Web.Pages.Staff;

public sealed class LogoutModel : PageModel
{
    public IActionResult OnGet() => LocalRedirect("/staff");

    public async Task<IActionResult> OnPostAsync()
    {
        await HttpContext.SignOutAsync(AccessSetup.CookieScheme);
        return LocalRedirect("/staff/login");
    }
}
