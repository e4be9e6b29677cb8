using System.Globalization;
using System.Numerics;
using System.Text;
using Flows.Distributions;
using Flows.Persistence;
using Flows.Training;

namespace Flows.Tests.Fuzz;

/// <summary>One fuzzed flow put through every entry point (see <see cref="PresetFuzzTests"/> for what must hold).</summary>
/// <typeparam name="T">The element type.</typeparam>
internal sealed class FuzzSession<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly TransformedDistribution<T> _flow;
    private readonly string _name;
    private readonly FuzzValues _fuzz;
    private readonly FuzzLog _log;
    private string _fits = "";

    /// <param name="flow">The flow.</param>
    /// <param name="name">How findings name it (its constructor call).</param>
    /// <param name="fuzz">The seeded inputs.</param>
    /// <param name="log">Where calls are counted and findings recorded.</param>
    public FuzzSession(TransformedDistribution<T> flow, string name, FuzzValues fuzz, FuzzLog log)
    {
        _flow = flow;
        _name = name;
        _fuzz = fuzz;
        _log = log;
    }

    /// <summary>Every entry point, several times, then a fit, then every entry point again.</summary>
    public void Run()
    {
        for (int k = 0; k < 5; k++)
        {
            DensityLnOfArrays(_name);
            DensityLnOfSpans(_name);
            Samples(_name);
        }

        Density(_name);
        SaveAndLoad(_name);
        FitByMaximumLikelihood(_name);
        if (_flow.ContextDimension == 0)
        {
            FitByVariationalInference(_name);
        }

        // After a fit, good or bad, the flow still scores and samples, and saves and loads.
        string fitted = $"{_name} after {_fits}";
        DensityLnOfArrays(fitted, clean: true);
        Samples(fitted, clean: true);
        SaveAndLoad(fitted);
    }

    private void DensityLnOfArrays(string name, bool clean = false)
    {
        int rows = _fuzz.Pick(0, 1, 2, 5, 33, 600);
        int columns = clean ? _flow.Dimension : Width();
        T[,] x = clean ? Clean(rows, columns) : _fuzz.Matrix<T>(rows, columns);
        T[,]? context = clean ? CleanContext(rows) : Context(rows);
        string what = $"{name}.DensityLn(x: {Show(x)}, context: {Show(context)})";
        T[] result = [];
        if (_log.Try("DensityLn(T[,])", what, () => result = _flow.DensityLn(x, context)))
        {
            RequireLogDensities(result, what, Flat(x), Flat(context));
        }
        else
        {
            _log.Require(!clean, $"{what} threw on clean data with the right shapes");
        }

        _log.RequireFiniteParameters(_flow.Parameters, what);
    }

    private void DensityLnOfSpans(string name)
    {
        int rows = _fuzz.Pick(0, 1, 3, 20);
        int length = (rows * _flow.Dimension) + _fuzz.Pick(0, 0, 0, 1, -1);
        T[] x = new T[Math.Max(length, 0)];
        T[,] values = _fuzz.Matrix<T>(1, x.Length);
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = values[0, i];
        }

        T[] destination = new T[Math.Max(rows + _fuzz.Pick(0, 0, 0, 1, -1), 0)];
        T[,]? context = Context(rows);
        T[] contextValues = context is null ? [] : [.. context.Cast<T>()];
        string what = $"{name}.DensityLn(x: {x.Length} values, destination: {destination.Length}, context: {contextValues.Length} values)";
        if (_log.Try("DensityLn(span)", what, () => _flow.DensityLn(x, destination, contextValues)))
        {
            RequireLogDensities(destination, what, x, contextValues);
        }
    }

    private void Density(string name)
    {
        int rows = _fuzz.Pick(1, 7);
        T[,] x = _fuzz.Matrix<T>(rows, _flow.Dimension);
        T[,]? context = Context(rows);
        string what = $"{name}.Density(x: {Show(x)}, context: {Show(context)})";
        T[] result = [];
        if (_log.Try("Density", what, () => result = _flow.Density(x, context)))
        {
            _log.Require(result.All(v => T.IsFinite(v) && v >= T.Zero), $"{what}: a density is {result.FirstOrDefault(v => !T.IsFinite(v) || v < T.Zero)}");
        }
    }

    private void Samples(string name, bool clean = false)
    {
        int count = clean ? _fuzz.Pick(1, 40) : _fuzz.Pick(-1, 0, 1, 3, 17, 600);
        T[,]? context = clean ? CleanContext(count) : Context(Math.Max(count, 0));
        var random = new Random(_fuzz.Random.Next());
        if (_fuzz.Chance(0.5))
        {
            string what = $"{name}.Sample(count: {count}, context: {Show(context)})";
            T[,] samples = new T[0, 0];
            if (_log.Try("Sample(count)", what, () => samples = _flow.Sample(count, random, context)))
            {
                _log.Require(samples.GetLength(0) == count && samples.GetLength(1) == _flow.Dimension, $"{what}: returned {samples.GetLength(0)} × {samples.GetLength(1)}");
                _log.RequireFinite<T>(Flat(samples), what);
            }
            else
            {
                _log.Require(!clean, $"{what} threw with the right shapes");
            }
        }
        else
        {
            int length = (Math.Max(count, 0) * _flow.Dimension) + (clean ? 0 : _fuzz.Pick(0, 0, 1));
            T[] destination = new T[length];
            T[] contextValues = context is null ? [] : [.. context.Cast<T>()];
            string what = $"{name}.Sample(destination: {length} values, context: {contextValues.Length} values)";
            if (_log.Try("Sample(span)", what, () => _flow.Sample(destination, random, contextValues)))
            {
                _log.RequireFinite<T>(destination, what);
            }
            else
            {
                _log.Require(!clean, $"{what} threw with the right shapes");
            }
        }

        _log.RequireFiniteParameters(_flow.Parameters, name + ".Sample");
    }

    private void FitByMaximumLikelihood(string name)
    {
        int rows = _fuzz.Pick(0, 1, 2, 5, 40, 40);
        T[,] data = _fuzz.Chance(0.7) ? Clean(rows, _flow.Dimension) : _fuzz.Matrix<T>(rows, Width());
        T[,]? context = _fuzz.Chance(0.8) ? CleanContext(rows) : Context(rows);
        // Valid settings, bounds included, most of the time; otherwise one setting past its bound.
        int invalid = _fuzz.Chance(0.6) ? -1 : _fuzz.Random.Next(7);
        var options = new FitOptions
        {
            Epochs = invalid == 0 ? _fuzz.Pick(-1, 0) : _fuzz.Pick(1, 1, 2),
            BatchSize = invalid == 1 ? _fuzz.Pick(-1, 0) : _fuzz.Pick(1, 3, 16, int.MaxValue),
            Optimizer = Adam(invalid == 2),
            MaxGradientNorm = invalid == 3 ? _fuzz.Pick<double?>(0, -1, double.NaN, double.PositiveInfinity) : _fuzz.Pick<double?>(null, 5, 5, 1e-300),
            ValidationFraction = invalid == 4 ? _fuzz.Pick(1, -0.1, double.NaN) : _fuzz.Pick(0, 0.1, 0.1, 0.5, 0.999),
            Patience = invalid == 5 ? _fuzz.Pick(-1, 0) : _fuzz.Pick(1, 10),
            Seed = _fuzz.Random.Next(),
        };
        using var cancellation = new CancellationTokenSource();
        if (_fuzz.Chance(0.1))
        {
            cancellation.Cancel();
        }

        string what = $"{name}.Fit(data: {Show(data)}, context: {Show(context)}, {options}, cancelled: {cancellation.IsCancellationRequested})";
        _fits += $"Fit(data: {Show(data)}, {options}) ";
        FitReport? report = null;
        if (_log.Try("Fit(data)", what, () => report = _flow.Fit(data, context, options, cancellation.Token)))
        {
            // Data the flow cannot score at all (a start loss of ∞) must end with the status Diverged.
            _log.Require(double.IsFinite(report!.BestLoss) || report!.Status == FitStatus.Diverged, $"{what}: best loss {report!.BestLoss} ({report!.Status})");
        }

        _log.RequireFiniteParameters(_flow.Parameters, what);
    }

    private void FitByVariationalInference(string name)
    {
        // A standard normal target, or one that misbehaves: NaN at some points, −∞ everywhere, huge gradients.
        int kind = _fuzz.Pick(0, 0, 0, 1, 2, 3);
        T half = T.CreateTruncating(0.5);
        void Target(ReadOnlySpan<T> z, Span<T> logDensity, Span<T> gradient)
        {
            int d = z.Length / Math.Max(logDensity.Length, 1);
            for (int i = 0; i < logDensity.Length; i++)
            {
                T sum = T.Zero;
                for (int j = 0; j < d; j++)
                {
                    T v = z[(i * d) + j];
                    sum += v * v;
                    gradient[(i * d) + j] = kind == 3 ? T.CreateTruncating(1e30) : -v;
                }

                logDensity[i] = kind switch
                {
                    1 when i % 5 == 2 => T.NaN,
                    2 => T.NegativeInfinity,
                    _ => -half * sum,
                };
            }
        }

        int invalid = _fuzz.Chance(0.6) ? -1 : _fuzz.Random.Next(7);
        var options = new VariationalOptions
        {
            Steps = invalid == 0 ? _fuzz.Pick(-1, 0) : _fuzz.Pick(1, 3, 3),
            SamplesPerStep = invalid == 1 ? 0 : _fuzz.Pick(1, 8, 8),
            Optimizer = Adam(invalid == 2),
            MaxGradientNorm = invalid == 3 ? _fuzz.Pick<double?>(0, double.NaN) : _fuzz.Pick<double?>(null, null, 5),
            StickingTheLanding = _fuzz.Chance(0.5),
            Seed = _fuzz.Random.Next(),
            SmoothingWindow = invalid == 4 ? 0 : _fuzz.Pick(1, 100),
            ImportanceSamples = invalid == 5 ? -1 : _fuzz.Pick(0, 1, 32),
            ProgressInterval = invalid == 6 ? 0 : _fuzz.Pick(1, 100),
        };
        string what = $"{name}.Fit(target kind {kind}, {options})";
        _fits += $"Fit(target kind {kind}, {options}) ";
        VariationalReport? report = null;
        if (_log.Try("Fit(target)", what, () => report = _flow.Fit(Target, options)))
        {
            // A fit that diverges before its first finite ELBO has no ELBO to report; its status must then say Diverged.
            _log.Require(!double.IsNaN(report!.FinalElbo) || report!.Status == FitStatus.Diverged, $"{what}: final ELBO is NaN ({report!.Status})");
        }

        _log.RequireFiniteParameters(_flow.Parameters, what);
    }

    private void SaveAndLoad(string name)
    {
        using var stream = new MemoryStream();
        if (!_log.Try("Save", $"{name}.Save", () => _flow.Save(stream)))
        {
            return;
        }

        byte[] bytes = stream.ToArray();
        // Enough rows for a preset's Gaussian start to initialize from them, as it does in the loaded flow too.
        T[,] probe = Clean(16, _flow.Dimension);
        T[,]? context = CleanContext(16);
        T[] expected = _flow.DensityLn(probe, context);
        static bool OnlyFormatErrors(Exception e) => e is FlowFormatException;

        TransformedDistribution<T>? loaded = null;
        _log.Require(_log.Try("Load", $"{name}.Load", () => loaded = FlowSerializer.Load<T>(bytes), OnlyFormatErrors), $"{name}: a saved flow failed to load");
        if (loaded is not null)
        {
            _log.Require(SameBits(expected, loaded.DensityLn(probe, context)), $"{name}: the loaded flow scores differently");
        }

        for (int k = 0; k < 3; k++)
        {
            (string edit, byte[] corrupted) = Corrupt(bytes);
            TransformedDistribution<T>? fromCorrupted = null;
            if (_log.Try("Load(corrupted)", $"{name}.Load({edit})", () => fromCorrupted = FlowSerializer.Load<T>(corrupted), OnlyFormatErrors))
            {
                _log.Require(SameBits(expected, fromCorrupted!.DensityLn(probe, context)), $"{name}.Load({edit}) loaded a different flow without a FlowFormatException");
            }
        }

        // The other element type is refused.
        bool wrongTypeLoaded = typeof(T) == typeof(double)
            ? _log.Try("Load(other type)", $"{name}.Load<float>", () => FlowSerializer.Load<float>(bytes), OnlyFormatErrors)
            : _log.Try("Load(other type)", $"{name}.Load<double>", () => FlowSerializer.Load<double>(bytes), OnlyFormatErrors);
        _log.Require(!wrongTypeLoaded, $"{name}: a {typeof(T).Name} file loaded as the other element type");
    }

    // Truncation, a changed byte, a deleted byte, or a number replaced by NaN, an overflowing number or nothing.
    private (string Edit, byte[] Bytes) Corrupt(byte[] bytes)
    {
        int at = _fuzz.Random.Next(bytes.Length);
        switch (_fuzz.Random.Next(4))
        {
            case 0:
                return ($"truncated to {at} of {bytes.Length} bytes", bytes[..at]);
            case 1:
                byte[] changed = (byte[])bytes.Clone();
                changed[at] = (byte)_fuzz.Random.Next(256);
                return ($"byte {at} set to {changed[at]}", changed);
            case 2:
                return ($"byte {at} deleted", [.. bytes[..at], .. bytes[(at + 1)..]]);
            default:
                string text = Encoding.UTF8.GetString(bytes);
                int digit = text.IndexOfAny("0123456789".ToCharArray(), at);
                if (digit < 0)
                {
                    return ("unchanged", bytes);
                }

                int end = digit;
                while (end < text.Length && "0123456789.eE+-".Contains(text[end], StringComparison.Ordinal))
                {
                    end++;
                }

                string replacement = _fuzz.Pick("NaN", "\"NaN\"", "1e999", "-", "");
                string edited = string.Concat(text.AsSpan(0, digit), replacement, text.AsSpan(end));
                return ($"number at {digit} replaced by '{replacement}'", Encoding.UTF8.GetBytes(edited));
        }
    }

    // Adam's settings at their bounds (learning rate 1e-300 or 1e10, β = 0, ε = 1e-300), or one of them past a bound.
    private AdamOptions Adam(bool invalid)
    {
        int past = invalid ? _fuzz.Random.Next(5) : -1;
        return new AdamOptions
        {
            LearningRate = past == 0 ? _fuzz.Pick(0, -1, double.NaN, double.PositiveInfinity) : _fuzz.Pick(1e-3, 1e-3, 1e-2, 10, 1e10, 1e-300),
            Beta1 = past == 1 ? _fuzz.Pick(1, -0.1, double.NaN) : _fuzz.Pick(0.9, 0.9, 0, 0.999999),
            Beta2 = past == 2 ? _fuzz.Pick(1, 1.5, double.NaN) : _fuzz.Pick(0.999, 0.999, 0, 0.999999),
            Epsilon = past == 3 ? _fuzz.Pick(0, -1e-8, double.PositiveInfinity) : _fuzz.Pick(1e-8, 1e-8, 1e-300, 1),
            WeightDecay = past == 4 ? _fuzz.Pick(-1, double.NaN, double.PositiveInfinity) : _fuzz.Pick(0, 0, 0.1, 10),
        };
    }

    // The flow's width most of the time; otherwise one more or one less (never negative).
    private int Width() => Math.Max(0, _flow.Dimension + _fuzz.Pick(0, 0, 0, 0, 1, -1));

    // A context for `rows` rows: right most of the time, otherwise missing, stray, of the wrong width or row count, or
    // holding special values.
    private T[,]? Context(int rows)
    {
        int c = _flow.ContextDimension;
        int pick = _fuzz.Random.Next(10);
        if (c == 0)
        {
            return pick == 0 ? Clean(rows, _fuzz.Pick(1, 2)) : null;
        }

        return pick switch
        {
            0 => null,
            1 => Clean(rows, c + _fuzz.Pick(1, -1)),
            2 => Clean(rows + 1, c),
            3 => _fuzz.Matrix<T>(rows, c),
            _ => Clean(rows, c),
        };
    }

    private T[,]? CleanContext(int rows) => _flow.ContextDimension == 0 ? null : Clean(rows, _flow.ContextDimension);

    private T[,] Clean(int rows, int columns)
    {
        var matrix = new T[rows, columns];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                matrix[i, j] = T.CreateTruncating(_fuzz.Normal() * 2);
            }
        }

        return matrix;
    }

    // Log-densities are finite, or −∞ where the density underflows (a point near overflow); never NaN or +∞.
    private void RequireLogDensities(ReadOnlySpan<T> values, string what, T[] x, T[] context)
    {
        int d = values.Length == 0 ? 0 : x.Length / values.Length;
        for (int i = 0; i < values.Length; i++)
        {
            T v = values[i];
            ReadOnlySpan<T> row = x.AsSpan(i * d, d);
            if (!(T.IsFinite(v) || v == T.NegativeInfinity))
            {
                string shown = string.Join(", ", row.ToArray().Select(value => value.ToString("R", CultureInfo.InvariantCulture)));
                _log.Require(false, $"{what}: a log-density is {v} at row {i} = ({shown})");
                return;
            }
        }
    }

    private static T[] Flat(T[,]? matrix) => matrix is null ? [] : [.. matrix.Cast<T>()];

    private static bool SameBits(T[] expected, T[] actual) => expected.AsSpan().SequenceEqual(actual);

    // Shape and the first special value, enough to reproduce a finding by eye.
    private static string Show(T[,]? matrix)
    {
        if (matrix is null)
        {
            return "null";
        }

        string shape = $"{matrix.GetLength(0)} × {matrix.GetLength(1)}";
        foreach (T v in matrix)
        {
            if (!T.IsFinite(v) || T.Abs(v) > T.CreateTruncating(1e5) || (v != T.Zero && T.Abs(v) < T.CreateTruncating(1e-6)))
            {
                return $"{shape} with {v.ToString(null, CultureInfo.InvariantCulture)}";
            }
        }

        return shape;
    }
}
