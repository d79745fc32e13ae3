// cprdesk: the Certificate Problem Report desk. One executable: the web host and the command line.
return await CprDesk.Cli.CliApp.RunAsync(args);
