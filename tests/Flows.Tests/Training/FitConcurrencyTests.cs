using System.Security.Cryptography;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Persistence;
using Flows.Tests.Testing;
using Flows.Training;

namespace Flows.Tests.Training;

/// <summary>
/// The threading contract between <c>Fit</c> and the array-level calls (README, "Reliability"): a fit holds the flow
/// for its whole run, so readers on other threads wait and see the flow as it was before the fit or as the fit left it,
/// and the fit gives the same bits as when run alone.
/// </summary>
public sealed class FitConcurrencyTests
{
    // One flow per stateful layer: InvertibleResidual refreshes its spectral-norm vectors lazily on evaluation, ActNorm
    // initializes from the first data it sees, BatchNorm updates running statistics in training steps.
    public static TheoryData<string> StatefulFlows => ["InvertibleResidual", "ActNorm", "BatchNorm"];

    private static TransformedDistribution<double> Create(string kind) => new(new StandardNormal<double>(2), kind switch
    {
        "InvertibleResidual" => new Chain<double>(
            new InvertibleResidual<double>(2, 16, seed: 1), Permutation<double>.Reverse(2), new InvertibleResidual<double>(2, 16, seed: 2)),
        "ActNorm" => new Chain<double>(new MaskedAutoregressive<double>(2, [16, 16], seed: 1), new ActNorm<double>(2)),
        _ => new Chain<double>(new MaskedAutoregressive<double>(2, [16, 16], seed: 1), new BatchNorm<double>(2)),
    });

    private static readonly FitOptions Options = new() { Epochs = 4, BatchSize = 64, Seed = 3, Optimizer = new AdamOptions { LearningRate = 0.01 } };

    private static double[,] Data => TestData.Rows(TestData.LoadCsv("moons2d_train.csv"), 0, 400);

    // Rows the readers score, away from the training rows.
    private static double[,] Probe => TestData.StandardNormal(32, 2, seed: 11);

    private static string Saved(TransformedDistribution<double> flow)
    {
        using var stream = new MemoryStream();
        flow.Save(stream);
        return Convert.ToHexString(SHA256.HashData(stream.ToArray()));
    }

    private static string Hash(double[] values) => Convert.ToHexString(SHA256.HashData(values.SelectMany(BitConverter.GetBytes).ToArray()));

    private static string Hash(double[,] values) => Hash(TestData.Flatten(values));

    // What a reader can see of a flow in a given state: its densities at the probe rows, a seeded sample, its saved file.
    private static (string Density, string Sample, string Saved) Look(TransformedDistribution<double> flow)
        => (Hash(flow.DensityLn(Probe)), Hash(flow.Sample(16, new Random(5))), Saved(flow));

    [Theory]
    [MemberData(nameof(StatefulFlows))]
    public void Fit_WithConcurrentReaders_IsBitIdenticalToTheFitAlone_AndReadersSeeOnlyTheStatesBeforeAndAfter(string kind)
    {
        // The fit alone, and the states a reader may see: the new flow (before and after a first evaluation, which
        // initializes an ActNorm from the reader's rows) and the fitted flow.
        TransformedDistribution<double> alone = Create(kind);
        string newFile = Saved(alone);
        TransformedDistribution<double> probed = Create(kind);
        (string Density, string Sample, string Saved) before = Look(probed);
        FitReport aloneReport = alone.Fit(Data, Options);
        (string Density, string Sample, string Saved) after = Look(alone);

        TransformedDistribution<double> shared = Create(kind);
        var seen = new System.Collections.Concurrent.ConcurrentBag<(string What, string Value)>();
        int fitRunning = 0;
        int readsStartedDuringTheFit = 0;
        int finished = 0;
        void CountIfDuringTheFit()
        {
            if (Volatile.Read(ref fitRunning) == 1)
            {
                Interlocked.Increment(ref readsStartedDuringTheFit);
            }
        }

        using var started = new CountdownEvent(2);
        Thread[] readers = [.. Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            bool signalled = false;
            int rounds = 0;
            while (Volatile.Read(ref finished) == 0 || rounds < 2)
            {
                // Counted before each call, so a reader waiting for the fit's hold has always been counted.
                CountIfDuringTheFit();
                seen.Add(("Density", Hash(shared.DensityLn(Probe))));
                CountIfDuringTheFit();
                seen.Add(("Sample", Hash(shared.Sample(16, new Random(5)))));
                CountIfDuringTheFit();
                seen.Add(("Saved", Saved(shared)));
                if (!signalled)
                {
                    started.Signal();
                    signalled = true;
                }

                if (Volatile.Read(ref finished) == 1)
                {
                    rounds++;
                }
            }
        }))];
        foreach (Thread reader in readers)
        {
            reader.Start();
        }

        started.Wait();
        Volatile.Write(ref fitRunning, 1);
        // The first epoch's report runs on the fitting thread while the fit holds the flow: it waits there until a reader
        // has started a call during the fit, so the overlap does not depend on how fast either side is.
        FitOptions options = Options with
        {
            Progress = new SynchronousProgress<EpochReport>(_ => SpinWait.SpinUntil(() => Volatile.Read(ref readsStartedDuringTheFit) > 0, TimeSpan.FromSeconds(30))),
        };
        FitReport sharedReport = shared.Fit(Data, options);
        Volatile.Write(ref fitRunning, 0);
        Volatile.Write(ref finished, 1);
        foreach (Thread reader in readers)
        {
            reader.Join();
        }

        Assert.True(readsStartedDuringTheFit > 0, "precondition: readers overlapped the fit");
        Assert.Equal(aloneReport.History, sharedReport.History);
        Assert.Equal(after.Saved, Saved(shared));
        Assert.All(seen.Where(s => s.What == "Density"), s => Assert.Contains(s.Value, new[] { before.Density, after.Density }));
        Assert.All(seen.Where(s => s.What == "Sample"), s => Assert.Contains(s.Value, new[] { before.Sample, after.Sample }));
        Assert.All(seen.Where(s => s.What == "Saved"), s => Assert.Contains(s.Value, new[] { newFile, before.Saved, after.Saved }));
        Assert.Contains(seen, s => s.What == "Density" && s.Value == after.Density);
    }

    // Progress<T> posts to the thread pool; these tests need the reports on the fitting thread.
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    // The lock is re-entrant: a progress handler on the fitting thread may score the flow (and sees it as it is after
    // the epoch), without changing the fit.
    [Fact]
    public void DensityLn_InAProgressHandlerOnTheFittingThread_Works_AndDoesNotChangeTheFit()
    {
        TransformedDistribution<double> alone = Create("InvertibleResidual");
        FitReport aloneReport = alone.Fit(Data, Options);
        TransformedDistribution<double> watched = Create("InvertibleResidual");
        var densities = new List<double[]>();

        FitReport report = watched.Fit(Data, Options with { Progress = new SynchronousProgress<EpochReport>(_ => densities.Add(watched.DensityLn(Probe))) });

        Assert.Equal(Options.Epochs, densities.Count);
        Assert.All(densities, d => AssertClose.Finite(d, "densities in the progress handler"));
        Assert.Equal(aloneReport.History, report.History);
        Assert.Equal(Saved(alone), Saved(watched));
    }

    [Fact]
    public void Fit_FromInsideAFitOfTheSameFlow_Throws()
    {
        TransformedDistribution<double> flow = Create("BatchNorm");
        Exception? nested = null;

        flow.Fit(Data, Options with
        {
            Epochs = 1,
            Progress = new SynchronousProgress<EpochReport>(_ => nested = Record.Exception(() => flow.Fit(Data, Options))),
        });

        var exception = Assert.IsType<InvalidOperationException>(nested);
        Assert.Contains("already being fitted", exception.Message, StringComparison.Ordinal);
    }

    // A flow nested as the base of another is held by a fit of the outer flow too: scoring the inner flow directly
    // on another thread waits for the outer fit, and so never sees it half-done.
    [Fact]
    public void Fit_OfAnOuterFlow_HoldsItsBaseFlow()
    {
        TransformedDistribution<double> inner = Create("InvertibleResidual");
        var outer = new TransformedDistribution<double>(inner, new Affine<double>(2));
        string innerBefore = Hash(inner.DensityLn(Probe));
        var seen = new System.Collections.Concurrent.ConcurrentBag<string>();
        int finished = 0;
        using var started = new ManualResetEventSlim();
        var reader = new Thread(() =>
        {
            while (Volatile.Read(ref finished) == 0)
            {
                seen.Add(Hash(inner.DensityLn(Probe)));
                started.Set();
            }

            seen.Add(Hash(inner.DensityLn(Probe)));
        });
        reader.Start();
        started.Wait();

        outer.Fit(Data, Options);
        Volatile.Write(ref finished, 1);
        reader.Join();

        string innerAfter = Hash(inner.DensityLn(Probe));
        Assert.All(seen, s => Assert.Contains(s, new[] { innerBefore, innerAfter }));
    }
}
