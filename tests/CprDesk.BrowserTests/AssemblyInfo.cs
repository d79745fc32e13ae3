// Each test class starts its own app process and Chromium; on a 2-core machine they are kinder run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
