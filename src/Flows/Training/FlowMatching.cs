using System.Numerics;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;

namespace Flows.Training;

/// <summary>
/// The conditional flow-matching loss of <see cref="FitObjective.FlowMatching"/> for a flow whose bijector is a
/// <see cref="ContinuousFlow{T}"/>: the draws of base rows and times, one block's loss on a tape, and the watched loss
/// of the checks with fixed draws.
/// </summary>
internal sealed class FlowMatching<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly TransformedDistribution<T> _flow;
    private readonly ContinuousFlow<T> _field;
    private readonly Random _random;
    private readonly Dictionary<bool, (T[] Base, T[] Time)> _fixedDraws = [];
    private readonly Tape<T> _evaluation = new(isRecording: false);
    private T[] _base = [];
    private T[] _time = [];

    public FlowMatching(TransformedDistribution<T> flow, int seed)
    {
        _flow = flow;
        _field = Field(flow);
        // Its own stream, so that the shuffling and splitting of the fit draw as in maximum likelihood.
        _random = new Random(seed ^ 0x0F10_3A7C);
    }

    /// <summary>The continuous flow that flow matching trains, or an exception naming what the flow is instead.</summary>
    public static ContinuousFlow<T> Field(TransformedDistribution<T> flow) => flow.Bijector as ContinuousFlow<T>
        ?? throw new ArgumentException(
            $"Flow matching trains the vector field of a ContinuousFlow, but the flow's bijector is {flow.Bijector}. Use FitObjective.MaximumLikelihood for other flows.",
            nameof(flow));

    /// <summary>Draws the base rows z and times t of the next minibatch of <paramref name="rows"/> rows.</summary>
    public void Draw(int rows, ReadOnlySpan<T> context)
    {
        (_base, _time) = Draws(rows, context, _random, _base, _time);
    }

    /// <summary>The base rows z of the last <see cref="Draw"/> (rows × Dimension; the buffer may hold more rows).</summary>
    internal ReadOnlySpan<T> DrawnBase => _base;

    /// <summary>The times t of the last <see cref="Draw"/> (one a row; the buffer may hold more rows).</summary>
    internal ReadOnlySpan<T> DrawnTimes => _time;

    /// <summary>
    /// One block's share of the batch loss, Σ_{i∈block} ‖f(x_t, t) − (x − z)‖² / batchRows, on <paramref name="tape"/>;
    /// the rows' own squared errors, negated, go to <paramref name="rowScores"/> (the lowest is the worst fitted).
    /// </summary>
    public Node<T> BlockLoss(Tape<T> tape, ReadOnlySpan<T> x, Node<T>? context, int firstRow, int rows, int batchRows, Span<T> rowScores)
        => Loss(tape, x, context, _base.AsSpan(firstRow * _field.Dimension, rows * _field.Dimension), _time.AsSpan(firstRow, rows), batchRows, rowScores);

    /// <summary>The mean loss over <paramref name="rows"/> rows with one fixed draw per row and set (validation or
    /// training), and its standard error.</summary>
    public (double Mean, double StandardError) MeanLoss(T[] data, T[] context, int rows, bool validation)
    {
        int d = _field.Dimension;
        int c = _field.ContextDimension;
        if (!_fixedDraws.TryGetValue(validation, out (T[] Base, T[] Time) draws))
        {
            draws = Draws(rows, context.AsSpan(0, rows * c), new Random(validation ? 0x7A11D : 0x7EA1), [], []);
            _fixedDraws[validation] = draws;
        }

        const int Chunk = TransformedDistribution<T>.EvaluationChunkRows;
        var scores = new T[Math.Min(Chunk, rows)];
        double sum = 0;
        double squares = 0;
        for (int start = 0; start < rows; start += Chunk)
        {
            int count = Math.Min(Chunk, rows - start);
            _evaluation.Reset();
            Node<T>? contextNode = c == 0 ? null : _evaluation.Constant(context.AsSpan(start * c, count * c), count, c);
            Loss(_evaluation, data.AsSpan(start * d, count * d), contextNode, draws.Base.AsSpan(start * d, count * d), draws.Time.AsSpan(start, count), rows,
                scores);
            for (int i = 0; i < count; i++)
            {
                double value = -double.CreateTruncating(scores[i]);
                sum += value;
                squares += value * value;
            }
        }

        double mean = sum / rows;
        double variance = rows > 1 ? Math.Max(0, (squares - (rows * mean * mean)) / (rows - 1)) : double.NaN;
        return (double.IsFinite(sum) ? mean : double.PositiveInfinity, Math.Sqrt(variance / rows));
    }

    private Node<T> Loss(Tape<T> tape, ReadOnlySpan<T> x, Node<T>? context, ReadOnlySpan<T> z, ReadOnlySpan<T> time, int batchRows, Span<T> rowScores)
    {
        int d = _field.Dimension;
        int rows = time.Length;
        // x_t = (1 − t) z + t x and the target u = x − z are constants: only f carries parameters.
        Node<T> point = tape.Allocate(rows, d);
        Node<T> target = tape.Allocate(rows, d);
        for (int i = 0; i < rows; i++)
        {
            T t = time[i];
            for (int j = 0; j < d; j++)
            {
                int k = (i * d) + j;
                point.Values[k] = ((T.One - t) * z[k]) + (t * x[k]);
                target.Values[k] = x[k] - z[k];
            }
        }

        Node<T> velocity = _field.Velocity(tape, point, tape.Constant(time, rows, 1), context);
        Node<T> difference = tape.Subtract(velocity, target);
        Node<T> rowLoss = tape.RowSums(tape.Multiply(difference, difference));
        for (int i = 0; i < rows; i++)
        {
            rowScores[i] = -rowLoss.Values[i];
        }

        return tape.Scale(tape.Sum(rowLoss), T.One / T.CreateTruncating(batchRows));
    }

    // z from the flow's base distribution (with the rows' context if the base takes one), t ~ U(0, 1).
    private (T[] Base, T[] Time) Draws(int rows, ReadOnlySpan<T> context, Random random, T[] z, T[] t)
    {
        int d = _field.Dimension;
        if (z.Length < rows * d)
        {
            z = new T[rows * d];
            t = new T[rows];
        }

        _flow.BaseDistribution.Sample(z.AsSpan(0, rows * d), random, _flow.BaseDistribution.ContextDimension == 0 ? default : context);
        for (int i = 0; i < rows; i++)
        {
            t[i] = T.CreateTruncating(random.NextDouble());
        }

        return (z, t);
    }
}
