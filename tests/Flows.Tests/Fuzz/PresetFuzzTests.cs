using System.Globalization;
using System.Numerics;
using Flows.Distributions;
using Flows.Distributions.Presets;
using Flows.Persistence;
using Flows.Tests.Testing;
using Flows.Training;
using Xunit.Abstractions;

namespace Flows.Tests.Fuzz;

/// <summary>
/// Fuzzing of every preset through the main entry points: construction with settings at and past their bounds, then
/// <c>DensityLn</c>, <c>Density</c>, <c>Sample</c> (array and span forms), maximum-likelihood <c>Fit</c> with few
/// epochs, variational <c>Fit</c> with few steps, and <c>Save</c>/<c>Load</c> (also of corrupted bytes), on random
/// shapes, values with NaN, ±∞ and huge numbers, and contexts of the wrong width or row count.
/// </summary>
/// <remarks>
/// <para>What must hold for every call: it throws a documented exception type (the <see cref="ArgumentException"/>
/// family, <see cref="InvalidOperationException"/>, <see cref="FlowFormatException"/> — the only one for
/// <c>Load</c> —, <see cref="NotSupportedException"/>, <see cref="OperationCanceledException"/>) with a message, or it
/// returns finite results. A log-density may also be −∞ (a point so far out that its density underflows, as
/// TESTING.md item 41 allows for out-of-support points), never NaN or +∞. After every call, failed or not, the flow's
/// parameters are finite, and a flow that saves loads back with bit-identical log-densities; a corrupted file either
/// fails with <see cref="FlowFormatException"/> or loads the same flow.</para>
/// <para>A data value near overflow gets a log-density of −∞ (issue #12's findings, pinned by
/// <see cref="KnownFindingsTests"/>), and a fit with a huge learning rate, a fit that diverges, or one given data near
/// overflow leaves a flow whose results are as finite as any other's, or is refused; so is a context near overflow.</para>
/// <para>Seeded per preset and element type, so a finding is reproduced by rerunning its test; sample counts stay
/// small (≤ 600 rows) so that no draw allocates a large array.</para>
/// </remarks>
public sealed class PresetFuzzTests(ITestOutputHelper output)
{
    private const int FlowsPerRun = 60;

    public static TheoryData<string, string> Runs
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (string preset in (string[])["MaskedAutoregressiveFlow", "InverseAutoregressiveFlow", "RealNvpFlow", "NeuralSplineFlow"])
            {
                data.Add(preset, "double");
                data.Add(preset, "float");
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Runs))]
    public void EveryCall_ThrowsADocumentedException_OrReturnsFiniteResults(string preset, string elementType)
    {
        (FuzzLog log, int built) = elementType == "double" ? Run<double>(preset) : Run<float>(preset);

        output.WriteLine($"{preset}<{elementType}>: {log.Cases} cases ({log.Rejected} rejected with a documented exception), {built} of {FlowsPerRun} flows built.");
        output.WriteLine($"    returned: {string.Join(", ", log.Completed.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value}"))}");
        Assert.True(log.Findings.Count == 0, $"{log.Findings.Count} findings in {log.Cases} cases:\n{string.Join('\n', log.Findings)}");
        Assert.True(built >= FlowsPerRun * 2 / 5, $"Only {built} of {FlowsPerRun} constructor draws were valid: the fuzz would barely reach the other entry points.");

        // Not vacuous: every entry point also completed, not only rejected its inputs.
        foreach (string entry in (string[])["DensityLn(T[,])", "DensityLn(span)", "Density", "Sample(count)", "Sample(span)", "Fit(data)", "Fit(target)", "Save", "Load"])
        {
            Assert.True(log.Completed.GetValueOrDefault(entry) >= 3, $"{entry} returned only {log.Completed.GetValueOrDefault(entry)} times in {log.Cases} cases.");
        }
    }

    private static (FuzzLog Log, int Built) Run<T>(string preset) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var fuzz = new FuzzValues(Seeds.Of("fuzz", preset, typeof(T)));
        var log = new FuzzLog();
        int built = 0;
        for (int k = 0; k < FlowsPerRun; k++)
        {
            (string description, Func<TransformedDistribution<T>> create) = DrawFlow<T>(preset, fuzz);
            TransformedDistribution<T>? flow = null;
            if (!log.Try("Create", description, () => flow = create()))
            {
                continue;
            }

            built++;
            new FuzzSession<T>(flow!, $"#{k} {description}", fuzz, log).Run();
        }

        return (log, built);
    }

    // Constructor arguments: all valid 70 % of the time, otherwise one of them at or past its bound.
    private static (string Description, Func<TransformedDistribution<T>> Create) DrawFlow<T>(string preset, FuzzValues fuzz)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int invalid = fuzz.Chance(0.7) ? -1 : fuzz.Random.Next(preset == "NeuralSplineFlow" ? 6 : 4);
        int dimension = invalid == 0 ? fuzz.Pick(-1, 0, preset is "RealNvpFlow" or "NeuralSplineFlow" ? 1 : -1) : fuzz.Pick(2, 2, 3, 4, preset == "RealNvpFlow" ? 2 : 1);
        int transforms = invalid == 1 ? fuzz.Pick(-1, 0) : fuzz.Pick(1, 1, 2, 3);
        // [] (no hidden layer) is valid for coupling conditioners only: MADE needs one.
        int[]? hidden = invalid == 2 ? fuzz.Pick<int[]>([0], [-4], [1], [8, 0]) : fuzz.Pick<int[]?>(null, [], [8], [8], [8, 8], [12, 6], [16]);
        int context = invalid == 3 ? -1 : fuzz.Pick(0, 0, 0, 2, 3);
        bool randomOrders = fuzz.Chance(0.5);
        int seed = fuzz.Pick(0, 1, -7, int.MaxValue, int.MinValue, fuzz.Random.Next());
        string common = $"dimension: {dimension}, transforms: {transforms}, hiddenFeatures: {Show(hidden)}, contextDimension: {context}, seed: {seed}";
        switch (preset)
        {
            case "MaskedAutoregressiveFlow":
                return ($"MAF<{typeof(T).Name}>({common}, randomOrders: {randomOrders})",
                    () => MaskedAutoregressiveFlow.Create<T>(dimension, transforms, hidden, context, randomOrders, seed));
            case "InverseAutoregressiveFlow":
                return ($"IAF<{typeof(T).Name}>({common}, randomOrders: {randomOrders})",
                    () => InverseAutoregressiveFlow.Create<T>(dimension, transforms, hidden, context, randomOrders, seed));
            case "RealNvpFlow":
                return ($"RealNvp<{typeof(T).Name}>({common})", () => RealNvpFlow.Create<T>(dimension, transforms, hidden, context, seed));
            default:
                int bins = invalid == 4 ? fuzz.Pick(-1, 0) : fuzz.Pick(1, 2, 8, 8, 40);
                double bound = invalid == 5 ? fuzz.Pick(double.NaN, double.PositiveInfinity, double.NegativeInfinity, -1, 0) : fuzz.Pick(1e-3, 0.5, 5, 5, 5, 1e6);
                bool coupling = fuzz.Chance(0.5);
                return ($"NSF<{typeof(T).Name}>({common}, binCount: {bins}, tailBound: {bound}, coupling: {coupling})",
                    () => NeuralSplineFlow.Create<T>(dimension, transforms, bins, hidden, bound, coupling, context, seed));
        }
    }

    private static string Show(int[]? values) => values is null ? "null" : $"[{string.Join(", ", values)}]";
}
