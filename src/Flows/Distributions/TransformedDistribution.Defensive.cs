using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;

namespace Flows.Distributions;

// The defensive share (see DefensiveShare): the flow's density mixed with the Gaussian fitted to the same training rows,
// at the tape level, so that training, validation, the array-level members and sampling all see one model.
public sealed partial class TransformedDistribution<T>
{
    // The Gaussian: a standard normal through a data-initialized LowerTriangularAffine (with the flow's context, the
    // linear-Gaussian regression x = μ + A c + L z), then the flow's ColumnSupports when it has one next to the data, so
    // that the Gaussian's rows obey the same supports. Null without a share.
    private readonly TransformedDistribution<T>? _defensive;
    private double _defensiveWeight;

    /// <summary>
    /// Creates the flow <c>X = bijector(Z)</c>, Z ~ <paramref name="baseDistribution"/>, mixed with the Gaussian fitted to
    /// its training data at the share <paramref name="defensiveShare"/> (see <see cref="Distributions.DefensiveShare"/>).
    /// </summary>
    /// <param name="baseDistribution">The base distribution.</param>
    /// <param name="bijector">The map from base space to data space.</param>
    /// <param name="defensiveShare">The Gaussian's share; <see cref="DefensiveShare.None"/> gives the plain flow.</param>
    /// <exception cref="ArgumentException">As for <see cref="TransformedDistribution{T}(IDistribution{T}, IBijector{T})"/>;
    /// or a share is asked for and the flow has an angle column (a <see cref="UniformAngles{T}"/> base, or an angle among
    /// the <see cref="ColumnSupports{T}"/> next to the data), where a Gaussian of the real line is no density.</exception>
    public TransformedDistribution(IDistribution<T> baseDistribution, IBijector<T> bijector, DefensiveShare defensiveShare)
        : this(baseDistribution, bijector, defensiveShare, defensiveShare.Weight, defensiveBijector: null)
    {
    }

    /// <summary>The Gaussian's share of the density, as chosen when the flow was built.</summary>
    public DefensiveShare DefensiveShare { get; }

    /// <summary>ε in use: the fixed share, or the automatic share resolved by the last fit to data (0 before it, and after a
    /// variational fit); 0 without a share.</summary>
    public double DefensiveWeight => _defensive is null ? 0 : _defensiveWeight;

    // The Gaussian when it takes part: a share was asked for and is not 0 now.
    private TransformedDistribution<T>? ActiveDefensive => _defensiveWeight > 0 ? _defensive : null;

    /// <summary>The Gaussian mixed in at <see cref="DefensiveWeight"/>, fitted to the training rows when a fit starts (a
    /// standard normal through a data-initialized <see cref="LowerTriangularAffine{T}"/>, the flow's
    /// <see cref="ColumnSupports{T}"/> after it when it has them); null without a share. Its parameters are fixed by its
    /// data initialization and are not among <see cref="Parameters"/>, so fitting never trains them.</summary>
    public TransformedDistribution<T>? DefensiveComponent => _defensive;

    // Sets the automatic share from the training rows: called by Fit before it initializes the data-dependent layers, and
    // by variational fits with 0 rows.
    internal void ResolveDefensiveShare(int trainingRows)
    {
        if (_defensive is not null)
        {
            _defensiveWeight = DefensiveShare.For(trainingRows);
        }
    }

    // Variational inference has no data to fit a defensive Gaussian to: an automatic share is 0 there, a fixed one refused.
    internal void UseFlowAloneForVariationalFit()
    {
        ResolveDefensiveShare(trainingRows: 0);
        if (DefensiveWeight > 0)
        {
            throw new InvalidOperationException(
                $"The flow mixes in a Gaussian fitted to data at the fixed defensive share {DefensiveShare}; variational inference has no data " +
                "to fit that Gaussian to. Build the flow with DefensiveShare.None (or Automatic, which is 0 in variational fits).");
        }
    }

    // The first angle column of a flow ("column 2"), from its base or from the supports next to its data; null if none.
    private static string? AngleColumn(IDistribution<T> baseDistribution, IBijector<T> bijector)
    {
        int j = FlowLayers<T>.Outermost(bijector) is ColumnSupports<T> supports
            ? supports.Supports.ToList().FindIndex(s => s.Kind == SupportKind.Angle)
            : -1;
        if (j < 0 && baseDistribution is UniformAngles<T> circle)
        {
            j = circle.Angles.ToList().IndexOf(true);
        }

        return j >= 0 ? $"column {j} as an angle" : null;
    }

    private static TransformedDistribution<T>? DefensiveGaussian(IBijector<T> bijector, int contextDimension, DefensiveShare share, IBijector<T>? saved)
    {
        if (!share.IsEnabled)
        {
            return null;
        }

        IBijector<T> gaussian = saved ?? (FlowLayers<T>.Outermost(bijector) is ColumnSupports<T> supports
            ? new Chain<T>(new LowerTriangularAffine<T>(bijector.Dimension, initializeFromData: true, contextDimension), supports)
            : new LowerTriangularAffine<T>(bijector.Dimension, initializeFromData: true, contextDimension));
        if (gaussian.ContextDimension != contextDimension)
        {
            throw new ArgumentException(
                $"The defensive Gaussian takes ContextDimension {gaussian.ContextDimension} but the flow takes {contextDimension}.", nameof(saved));
        }

        return new TransformedDistribution<T>(new StandardNormal<T>(bijector.Dimension), gaussian);
    }

    // log((1 − ε) p_flow(x) + ε N(x)) per row.
    private Node<T> WithDefensiveShare(Tape<T> tape, Node<T> flowDensityLn, Node<T> x, Node<T>? context)
    {
        Node<T> both = tape.ConcatenateColumns(flowDensityLn, _defensive!.DensityLn(tape, x, context));
        Span<T> logWeights = [T.CreateTruncating(Math.Log(1 - _defensiveWeight)), T.CreateTruncating(Math.Log(_defensiveWeight))];
        return tape.WeightedLogSumExp(both, tape.Constant(logWeights, 1, 2));
    }

    // Each row comes from the Gaussian with probability ε: one uniform draw per row, in row order, then the flow's draw
    // of every row and the Gaussian's draw of every row, and each row taken from one of them. Drawing both for every row
    // keeps the numbers drawn per row fixed, so that chunks of rows can be drawn ahead and transformed on any thread;
    // the Gaussian's draw costs a triangular product per row, little beside the flow's.
    private Node<T> SampleWithDefensiveShare(Tape<T> tape, int count, Random random, Node<T>? context)
    {
        int[] take = DefensiveChoices(count, random);
        Node<T> fromFlow = FlowSampleWithDensityLn(tape, count, random, context).X;
        Node<T> fromGaussian = _defensive!.Sample(tape, count, random, context);
        return tape.GatherRows(tape.ConcatenateRows(fromFlow, fromGaussian), take);
    }

    // Row i of the stacked (flow rows, Gaussian rows) draws that becomes sample i: count + i with probability ε.
    private int[] DefensiveChoices(int count, Random random)
    {
        var take = new int[count];
        for (int i = 0; i < count; i++)
        {
            take[i] = random.NextDouble() < _defensiveWeight ? count + i : i;
        }

        return take;
    }
}
