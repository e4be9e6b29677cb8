using System.Globalization;
using System.Numerics;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Numerics;

namespace Flows.Training;

/// <summary>
/// Integer columns (counts, category codes) in a continuous flow, by uniform dequantization: fit with
/// <see cref="FitOptions.IntegerColumns"/>, then score rows by the mass of their integer cell with
/// <see cref="CellMassLn{T}(TransformedDistribution{T}, T[,], IReadOnlyList{int}, int, Random)"/>.
/// </summary>
/// <remarks>
/// <para>A flow fitted to x + u, u ~ U[0, 1)ᵏ added to the k integer columns, has a continuous density p; the discrete
/// model it defines gives a row the mass of its cell, P(x) = ∫ p(x + u) du over [0, 1)ᵏ (a density in the continuous
/// columns, a probability in the integer ones). By Jensen's inequality E_u log p(x + u) ≤ log P(x), so the fitted loss
/// bounds the discrete log-likelihood (Theis, van den Oord &amp; Bethge 2016, "A note on the evaluation of generative
/// models", arXiv:1511.01844; Ho et al. 2019, "Flow++", arXiv:1902.00275, whose variational dequantization this is the
/// uniform case of).</para>
/// <para><b>Getting log P of rows:</b> <c>flow.CellMassLn(rows, integerColumns, sampleCount, random)</c> returns one
/// <see cref="CellMassEstimate"/> per row; its <see cref="CellMassEstimate.LogMass"/> is log P̂(x) and
/// <see cref="CellMassEstimate.StandardError"/> its standard error. The mean of LogMass over held-out rows is the
/// held-out log-likelihood of the discrete model; the proposal is uniform over the cell, so the weights are
/// the densities themselves.</para>
/// </remarks>
public static class Dequantization
{
    /// <summary>
    /// Estimates log P(x) for each row of <paramref name="x"/>: the log of the mean of p(x + uᵢ) over
    /// <paramref name="sampleCount"/> points uᵢ ~ U[0, 1)ᵏ of the row's cell in <paramref name="integerColumns"/>, with the
    /// delta-method standard error.
    /// </summary>
    /// <param name="flow">An unconditional flow, typically fitted with <see cref="FitOptions.IntegerColumns"/>.</param>
    /// <param name="x">n × Dimension rows, the integer columns holding whole numbers.</param>
    /// <param name="integerColumns">The integer columns, as given to <see cref="FitOptions.IntegerColumns"/>. Range:
    /// distinct indices in [0, Dimension), non-empty.</param>
    /// <param name="sampleCount">Points per cell, N. Range: ≥ 2. The standard error shrinks like 1/√N.</param>
    /// <param name="random">The source of the points.</param>
    /// <returns>One estimate per row.</returns>
    /// <exception cref="ArgumentException">A shape is wrong, the flow is conditional, a column index is out of range or
    /// repeated, a value of an integer column is not a whole number, or a point of a cell lies outside the flow's
    /// supports (named by row and column).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sampleCount"/> is below 2.</exception>
    /// <exception cref="InvalidOperationException">As for the flow's <c>DensityLn</c>.</exception>
    public static CellMassEstimate[] CellMassLn<T>(this TransformedDistribution<T> flow, T[,] x, IReadOnlyList<int> integerColumns, int sampleCount,
        Random random)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(integerColumns);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleCount, 2);
        if (flow.ContextDimension != 0)
        {
            throw new ArgumentException($"The flow has ContextDimension {flow.ContextDimension}; cell masses are estimated for unconditional flows.", nameof(flow));
        }

        int d = flow.Dimension;
        if (x.GetLength(1) != d)
        {
            throw new ArgumentException($"x has {x.GetLength(1)} columns but the flow has Dimension {d}.", nameof(x));
        }

        if (integerColumns.Count == 0 || integerColumns.Any(c => c < 0) || integerColumns.Distinct().Count() != integerColumns.Count)
        {
            throw new ArgumentException($"integerColumns must hold distinct column indices, at least one, got [{string.Join(", ", integerColumns)}].", nameof(integerColumns));
        }

        ReadOnlySpan<T> rows = Batch.AsSpan(x);
        Batch.CheckFinite(rows, d, nameof(x), "cell masses");
        CheckIntegerColumns(rows, d, integerColumns, nameof(x), nameof(integerColumns));
        flow.Layers.DataSupport?.CheckInside(rows, nameof(x), "cell masses");
        int[] columns = [.. integerColumns];
        CheckCellsInside(flow.Layers.DataSupport, rows, d, columns, nameof(x));
        var points = new T[sampleCount * d];
        var logDensity = new T[sampleCount];
        var logWeights = new double[sampleCount];
        var result = new CellMassEstimate[x.GetLength(0)];
        for (int i = 0; i < result.Length; i++)
        {
            ReadOnlySpan<T> row = rows.Slice(i * d, d);
            for (int s = 0; s < sampleCount; s++)
            {
                row.CopyTo(points.AsSpan(s * d, d));
            }

            AddNoise<T>(points, d, columns, random);
            // CheckCellsInside refused every cell that reaches beyond the supports, so the points score without a refusal.
            flow.DensityLn(points, logDensity);
            for (int s = 0; s < sampleCount; s++)
            {
                logWeights[s] = double.CreateTruncating(logDensity[s]);
            }

            // The proposal is uniform on the unit cell (density 1), so the importance weights are the densities.
            LogNormalizerEstimate estimate = logWeights.All(double.IsNegativeInfinity)
                ? new LogNormalizerEstimate(double.NegativeInfinity, double.NaN, 0, sampleCount, double.NegativeInfinity)
                : LogNormalizerEstimate.FromLogWeights(logWeights);
            result[i] = new CellMassEstimate(estimate.LogNormalizer, estimate.StandardError, estimate.EffectiveSampleSize, sampleCount, estimate.Elbo);
        }

        return result;
    }

    /// <summary>Throws unless every column index is below <paramref name="dimension"/> and every value in those columns
    /// is a whole number, naming the row and column.</summary>
    internal static void CheckIntegerColumns<T>(ReadOnlySpan<T> rows, int dimension, IReadOnlyList<int> columns, string dataName, string columnsName)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (int c in columns)
        {
            if (c >= dimension)
            {
                throw new ArgumentException(
                    $"Integer column {c} does not exist: the flow has Dimension {dimension} (columns 0 to {dimension - 1}).", columnsName);
            }
        }

        for (int k = 0; k < rows.Length; k += dimension)
        {
            foreach (int c in columns)
            {
                T v = rows[k + c];
                if (!T.IsInteger(v))
                {
                    throw new ArgumentException(
                        string.Create(CultureInfo.InvariantCulture,
                            $"{dataName}[{k / dimension}, {c}] is {v}, but column {c} is an integer column; its values must be whole numbers."),
                        dataName);
                }
            }
        }
    }

    /// <summary>Adds u ~ U[0, 1) from <paramref name="random"/> to <paramref name="columns"/> of every row, in place.</summary>
    /// <remarks>x + u is formed in double and rounded once, then kept below x + 1: in float, rounding alone would put a
    /// point of the cell [x, x + 1) on x + 1, the next cell (or a support's bound), for u within half an ulp of 1.</remarks>
    internal static void AddNoise<T>(Span<T> rows, int dimension, int[] columns, Random random)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (columns.Length == 0)
        {
            return;
        }

        for (int k = 0; k < rows.Length; k += dimension)
        {
            foreach (int c in columns)
            {
                T x = rows[k + c];
                rows[k + c] = T.Min(T.CreateTruncating(double.CreateTruncating(x) + random.NextDouble()), CellTop(x));
            }
        }
    }

    /// <summary>Throws unless the whole integer cell [x, x + 1) of every row's integer columns lies inside the flow's
    /// supports (the values themselves were checked before), naming the row and column.</summary>
    internal static void CheckCellsInside<T>(ColumnSupports<T>? supports, ReadOnlySpan<T> rows, int dimension, int[] columns, string name)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (supports is null || columns.Length == 0)
        {
            return;
        }

        T[] tops = rows.ToArray();
        for (int k = 0; k < tops.Length; k += dimension)
        {
            foreach (int c in columns)
            {
                tops[k + c] = CellTop(tops[k + c]);
            }
        }

        try
        {
            supports.CheckInside(tops, name, "integer cells");
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException(
                $"An integer cell (each integer column from its value up to the next integer) reaches outside the flow's supports; a support on an integer column must hold its cells, so widen it by one. At the cell's top: {e.Message}",
                name, e);
        }
    }

    // The largest value of T below x + 1: the top of the cell [x, x + 1).
    private static T CellTop<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.BitDecrement(x + T.One);
}
