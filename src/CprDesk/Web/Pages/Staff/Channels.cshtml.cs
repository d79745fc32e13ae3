using CprDesk.Access;
using CprDesk.Channels;
using CprDesk.Reports;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CprDesk.Web.Pages.Staff;

/// <summary>The published channels: registry (admins edit), last canary, drift findings, alias rosters.</summary>
public sealed class ChannelsModel(ChannelViews views, ChannelRegistry registry, AliasRoster roster, ILogger<ChannelsModel> log) : PageModel
{
    public IReadOnlyList<ChannelView> Channels { get; private set; } = [];
    public IReadOnlyList<AliasCheck> Aliases { get; private set; } = [];
    public string? Error { get; private set; }
    public string? ErrorField { get; private set; }
    public string? Done { get; private set; }
    public bool IsAdmin => User.IsInRole(nameof(Storage.StaffRole.Admin));

    [BindProperty] public string? Address { get; set; }
    [BindProperty] public string? Kind { get; set; }
    [BindProperty] public string? Owner { get; set; }
    [BindProperty] public string? Purpose { get; set; }
    [BindProperty] public List<string> PublishedIn { get; set; } = [];
    [BindProperty] public string? Route { get; set; }
    [BindProperty] public int? MaxSilenceHours { get; set; }
    [BindProperty] public string? AliasMembers { get; set; }

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostAddAsync()
    {
        if (!IsAdmin) return Forbid();
        try
        {
            var row = await registry.AddAsync(User.Actor(), new ChannelInput(Address, string.IsNullOrWhiteSpace(Kind) ? null : Kind, Owner, Purpose, PublishedIn,
                string.IsNullOrWhiteSpace(Route) ? null : Route, MaxSilenceHours, null, string.IsNullOrWhiteSpace(AliasMembers) ? null : [AliasMembers]));
            Done = $"Added {row.Address}.";
            ModelState.Clear();
            Address = Owner = Purpose = AliasMembers = null;
        }
        catch (DeskException ex)
        {
            log.LogWarning("Refused a channel from the staff page: {Field}: {Reason}", ex.Field, ex.Message);
            (Error, ErrorField) = (ex.Message, ex.Field);
            Response.StatusCode = ex.Kind == DeskErrorKind.Conflict ? 409 : 400;
        }
        await LoadAsync();
        return Page();
    }

    public async Task<IActionResult> OnPostRemoveAsync(long id)
    {
        if (!IsAdmin) return Forbid();
        try
        {
            await registry.RemoveAsync(User.Actor(), id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Done = "Removed.";
        }
        catch (DeskException ex)
        {
            Error = ex.Message;
            Response.StatusCode = 404;
        }
        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync()
    {
        Channels = await views.ListAsync();
        Aliases = await roster.CheckAsync();
    }
}
