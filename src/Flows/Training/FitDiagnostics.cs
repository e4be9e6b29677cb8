using System.Globalization;
using System.Numerics;
using System.Text;
using Flows.Bijectors;
using Flows.Distributions;

namespace Flows.Training;

/// <summary>
/// The advice a fit gives: data far outside the range a flow's layers are built for (before fitting), and on divergence
/// the rows the flow fits worst and whether they are outliers of the data.
/// </summary>
internal static class FitDiagnostics
{
    // A column is reported when more than this share of its rows lie outside the window: a few heavy-tail values outside
    // a spline's window are what its identity tails are for, the bulk of the data outside it is not.
    internal const double OutsideShare = 0.1;

    // The window of a flow without spline layers. Its layers start near the identity on a standard normal base, so it is
    // built for data of about unit scale; data whose bulk lies beyond ±100 need every layer's scale to travel a long way
    // (a MAF's log-scale is bounded by 5 per layer) before the fit describes anything.
    internal const double UnitScaleWindow = 100;

    // A named row is called an outlier when one of its values lies this many robust standard deviations (1.4826 × the
    // median absolute deviation) from its column's median; for normal data that is beyond any sample size.
    internal const double OutlierDistance = 100;

    /// <summary>The advice when the data lie far outside the flow's window, or null.</summary>
    public static string? DataRange<T>(TransformedDistribution<T> flow, ReadOnlySpan<T> data, int rows)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        IReadOnlyList<FlowLayer<T>> layers = flow.Layers.Layers;
        // A normalizing layer next to the data takes the data to unit scale itself (Standardization and ActNorm from the
        // training data, BatchNorm from every batch), so whatever the data's range, the layers beyond it see standardized values.
        // A ColumnSupports next to the data maps it to the unconstrained values that the layer inside it sees.
        FlowLayer<T> dataSide = layers[^1].Layer is ColumnSupports<T> && layers.Count > 1 ? layers[^2] : layers[^1];
        if (!dataSide.Inverted && dataSide.Layer is Standardization<T> or ActNorm<T> or BatchNorm<T>)
        {
            return null;
        }

        double? tailBound = null;
        foreach (FlowLayer<T> layer in layers)
        {
            if (TailBound(layer.Layer) is double bound)
            {
                tailBound = Math.Min(tailBound ?? double.PositiveInfinity, bound);
            }
        }

        double window = tailBound ?? UnitScaleWindow;
        List<string> flagged = ColumnsOutside(data, rows, flow.Dimension, window, "column", AngleColumns(flow));
        if (flagged.Count == 0)
        {
            return null;
        }

        string why = tailBound is double b
            ? string.Create(CultureInfo.InvariantCulture, $"The flow's spline layers act on [{-b:G3}, {b:G3}] (tail bound {b:G3}) and are the identity outside it, so they never see these values and the fit learns little.")
            : string.Create(CultureInfo.InvariantCulture, $"The flow's layers start near the identity on a standard normal base, so they are built for data of about unit scale; values beyond ±{window:G3} take thousands of steps to reach, if they are reached at all.");
        return $"The data lie far outside the range the flow is built for: {string.Join("; ", flagged)}. {why} " +
            "Standardize each column (subtract its mean, divide by its standard deviation, and undo that on samples), or put a " +
            "Standardization, ActNorm or BatchNorm layer next to the data.";
    }

    /// <summary>The advice when the context, as the conditioners receive it, lies far outside unit scale, or null.</summary>
    /// <remarks>Conditioners take the context into their first layer (and a MADE's direct context-to-output weights)
    /// without a soft clip, with weights started for unit-scale inputs, so the window is ±<see cref="UnitScaleWindow"/>.
    /// A context embedding that standardizes the context (<c>WithContextEmbedding</c>) feeds them (c − m) ⊘ s: that is
    /// checked once m and s are set, and not at all while they wait for this fit's context to set them.</remarks>
    public static string? ContextRange<T>(TransformedDistribution<T> flow, ReadOnlySpan<T> context, int rows)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int c = flow.ContextDimension;
        if (c == 0 || context.IsEmpty)
        {
            return null;
        }

        string seen = "";
        if (flow.Bijector is EmbeddedContext<T> embedded && embedded.ContextMean.Length == c)
        {
            if (!embedded.IsStandardizationInitialized)
            {
                return null;
            }

            var standardized = new T[rows * c];
            for (int i = 0; i < standardized.Length; i++)
            {
                standardized[i] = (context[i] - embedded.ContextMean[i % c]) / embedded.ContextScale[i % c];
            }

            context = standardized;
            seen = " (after the embedding's standardization)";
        }

        List<string> flagged = ColumnsOutside(context, rows, c, UnitScaleWindow, "context column");
        if (flagged.Count == 0)
        {
            return null;
        }

        string why = string.Create(CultureInfo.InvariantCulture,
            $"The conditioners take the context unscaled into their first layer, whose weights start for inputs of about unit scale, so values beyond ±{UnitScaleWindow:G3} swamp the data's contribution until the fit has shrunk those weights.");
        return $"The context lies far outside unit scale{seen}: {string.Join("; ", flagged)}. {why} " +
            "Standardize each context column (subtract its mean, divide by its standard deviation, and do the same to contexts you sample or score with), " +
            "or give the flow a context embedding that standardizes it (WithContextEmbedding).";
    }

    // The angle columns of a circular flow (its base's, or the supports' next to its data): read modulo their period onto
    // the circle, so their range in the data's units (degrees, an unwrapped phase) says nothing of what the layers see.
    private static bool[]? AngleColumns<T>(TransformedDistribution<T> flow) where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool[]? angles = flow.BaseDistribution is UniformAngles<T> circle ? [.. circle.Angles] : null;
        if (flow.Layers.DataSupport is ColumnSupports<T> supports)
        {
            angles ??= new bool[flow.Dimension];
            for (int j = 0; j < angles.Length; j++)
            {
                angles[j] |= supports.Supports[j].Kind == SupportKind.Angle;
            }
        }

        return angles;
    }

    // Each column with more than OutsideShare of its rows outside [−window, window], with its range, mean and standard
    // deviation; columns marked in skip are not looked at.
    private static List<string> ColumnsOutside<T>(ReadOnlySpan<T> values, int rows, int d, double window, string label, bool[]? skip = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var flagged = new List<string>();
        for (int j = 0; j < d; j++)
        {
            if (skip is not null && skip[j])
            {
                continue;
            }

            double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0;
            int outside = 0;
            for (int i = 0; i < rows; i++)
            {
                double v = double.CreateTruncating(values[(i * d) + j]);
                min = Math.Min(min, v);
                max = Math.Max(max, v);
                sum += v;
                outside += Math.Abs(v) > window ? 1 : 0;
            }

            if (outside <= OutsideShare * rows)
            {
                continue;
            }

            double mean = sum / rows;
            double squares = 0;
            for (int i = 0; i < rows; i++)
            {
                double centred = double.CreateTruncating(values[(i * d) + j]) - mean;
                squares += centred * centred;
            }

            flagged.Add(string.Create(CultureInfo.InvariantCulture, $"{label} {j} spans [{min:G3}, {max:G3}] (mean {mean:G3}, standard deviation {Math.Sqrt(squares / rows):G3}) " +
                $"with {100.0 * outside / rows:F0} % of its rows outside [{-window:G3}, {window:G3}]"));
        }

        return flagged;
    }

    private static double? TailBound<T>(IBijector<T> layer) where T : unmanaged, IFloatingPointIeee754<T> => layer switch
    {
        RationalQuadraticSpline<T> spline => spline.Transform.TailBound,
        MaskedAutoregressive<T> { Transform: RationalQuadraticTransform<T> transform } => transform.TailBound,
        Coupling<T> { Transform: RationalQuadraticTransform<T> transform } => transform.TailBound,
        _ => null,
    };

    /// <summary>Formats a row's values: <c>(1E+300, 0.5)</c>.</summary>
    public static string Format<T>(ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var parts = new string[row.Length];
        for (int j = 0; j < row.Length; j++)
        {
            parts[j] = row[j].ToString("G6", CultureInfo.InvariantCulture);
        }

        return $"({string.Join(", ", parts)})";
    }
}

/// <summary>The few rows of a pass with the lowest log-density (NaN and −∞ lowest of all), kept without allocating.</summary>
internal sealed class WorstRows
{
    public const int Capacity = 3;
    private readonly int[] _rows = new int[Capacity];
    private readonly double[] _logDensities = new double[Capacity];

    public int Count { get; private set; }

    public int Row(int k) => _rows[k];

    public double LogDensity(int k) => _logDensities[k];

    public void Clear() => Count = 0;

    public void Offer(int row, double logDensity)
    {
        double badness = Badness(logDensity);
        int position = Count;
        while (position > 0 && Badness(_logDensities[position - 1]) < badness)
        {
            position--;
        }

        if (position >= Capacity)
        {
            return;
        }

        int last = Math.Min(Count, Capacity - 1);
        for (int k = last; k > position; k--)
        {
            _rows[k] = _rows[k - 1];
            _logDensities[k] = _logDensities[k - 1];
        }

        _rows[position] = row;
        _logDensities[position] = logDensity;
        Count = Math.Min(Count + 1, Capacity);
    }

    private static double Badness(double logDensity) => double.IsNaN(logDensity) ? double.PositiveInfinity : -logDensity;
}

/// <summary>
/// Describes rows of a fit's data by their original index, their values, and how far each value lies from the median of
/// its column in robust standard deviations; the column statistics are computed on first use, at a divergence.
/// </summary>
internal sealed class RowDescriber<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _train;
    private readonly T[] _validation;
    private readonly int[] _trainOriginal;
    private readonly int[] _validationOriginal;
    private readonly int _d;
    private double[]? _median;
    private double[]? _scale;

    public RowDescriber(T[] train, T[] validation, int[] trainOriginal, int[] validationOriginal, int d)
    {
        _train = train;
        _validation = validation;
        _trainOriginal = trainOriginal;
        _validationOriginal = validationOriginal;
        _d = d;
    }

    /// <summary>Describes the rows of <paramref name="worst"/>, indices into the training (or validation) rows.</summary>
    /// <returns>The description, and whether any of the rows is an outlier of the data.</returns>
    public (string Text, bool AnyOutlier) Describe(WorstRows worst, bool validation)
    {
        EnsureStatistics();
        var text = new StringBuilder();
        bool anyOutlier = false;
        for (int k = 0; k < worst.Count; k++)
        {
            int index = worst.Row(k);
            ReadOnlySpan<T> row = (validation ? _validation : _train).AsSpan(index * _d, _d);
            int original = (validation ? _validationOriginal : _trainOriginal)[index];
            text.Append(k == 0 ? "" : ", ");
            text.Append(string.Create(CultureInfo.InvariantCulture, $"row {original} (log p = {worst.LogDensity(k):G4}, x = {FitDiagnostics.Format(row)}"));
            (int column, double distance) = FarthestColumn(row);
            if (distance > FitDiagnostics.OutlierDistance)
            {
                anyOutlier = true;
                text.Append(string.Create(CultureInfo.InvariantCulture, $", {distance:G3} robust standard deviations from the median of column {column}"));
            }

            text.Append(')');
        }

        return (text.ToString(), anyOutlier);
    }

    private (int Column, double Distance) FarthestColumn(ReadOnlySpan<T> row)
    {
        int column = 0;
        double farthest = 0;
        for (int j = 0; j < _d; j++)
        {
            double distance = Math.Abs(double.CreateTruncating(row[j]) - _median![j]) / _scale![j];
            if (distance > farthest || double.IsNaN(distance))
            {
                column = j;
                farthest = double.IsNaN(distance) ? double.PositiveInfinity : distance;
            }
        }

        return (column, farthest);
    }

    // Median and 1.4826 × median absolute deviation per column, over training and validation rows: robust to the very
    // outliers they are to reveal. A column whose deviations are mostly zero falls back to its standard deviation, and
    // a constant column to 1.
    private void EnsureStatistics()
    {
        if (_median is not null)
        {
            return;
        }

        int rows = (_train.Length + _validation.Length) / _d;
        var column = new double[rows];
        _median = new double[_d];
        _scale = new double[_d];
        for (int j = 0; j < _d; j++)
        {
            for (int i = 0; i < rows; i++)
            {
                int k = (i * _d) + j;
                column[i] = double.CreateTruncating(k < _train.Length ? _train[k] : _validation[k - _train.Length]);
            }

            double mean = column.Average();
            double sd = Math.Sqrt(column.Sum(v => (v - mean) * (v - mean)) / rows);
            Array.Sort(column);
            double median = Median(column);
            for (int i = 0; i < rows; i++)
            {
                column[i] = Math.Abs(column[i] - median);
            }

            Array.Sort(column);
            double scale = 1.4826 * Median(column);
            _median[j] = median;
            _scale[j] = scale > 0 ? scale : sd > 0 && double.IsFinite(sd) ? sd : 1;
        }
    }

    private static double Median(double[] sorted)
        => sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : 0.5 * (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]);
}
