using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CprDesk.Tests.Evidence;

/// <summary>A small HTTP server on 127.0.0.1 serving fixtures (crt.sh JSON, CRLs).</summary>
public sealed class LoopbackHttp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;
    public string BaseUrl { get; }
    public int Requests => Volatile.Read(ref _requests);

    private LoopbackHttp(WebApplication app, string baseUrl) { _app = app; BaseUrl = baseUrl; }

    public static async Task<LoopbackHttp> StartAsync(Func<string, (int Status, string Type, object Body)> answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        LoopbackHttp? self = null;
        app.Run(async ctx =>
        {
            Interlocked.Increment(ref self!._requests);
            var (status, type, body) = answer(ctx.Request.Path + ctx.Request.QueryString);
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = type;
            if (body is byte[] bytes) await ctx.Response.Body.WriteAsync(bytes);
            else await ctx.Response.WriteAsync(body.ToString()!);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new LoopbackHttp(app, address);
        return self;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
