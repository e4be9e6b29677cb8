using Flows.Autodiff;
using Flows.Bijectors;

namespace Flows.Tests.Testing;

/// <summary>
/// A conditional bijector with its context bound to one fixed row, repeated for every row of a batch: an unconditional
/// bijector that the shared property suite can run, so conditional chains get every property check too.
/// </summary>
internal sealed class FixedContext(IBijector<double> inner, double[] context) : IBijector<double>
{
    /// <summary>The conditional bijector.</summary>
    public IBijector<double> Inner => inner;

    public int Dimension => inner.Dimension;

    public int ContextDimension => 0;

    public IReadOnlyList<Parameter<double>> Parameters => inner.Parameters;

    public (Node<double> Output, Node<double> LogDet) Forward(Tape<double> tape, Node<double> z, Node<double>? context = null)
        => inner.Forward(tape, z, Repeated(tape, z.Rows));

    public (Node<double> Output, Node<double> LogDet) Inverse(Tape<double> tape, Node<double> x, Node<double>? context = null)
        => inner.Inverse(tape, x, Repeated(tape, x.Rows));

    public override string ToString() => $"FixedContext({inner})";

    private Node<double> Repeated(Tape<double> tape, int rows)
    {
        var values = new double[rows * context.Length];
        for (int i = 0; i < rows; i++)
        {
            context.CopyTo(values, i * context.Length);
        }

        return tape.Constant(values, rows, context.Length);
    }
}
