using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// An elementwise monotone transform whose parameters come per row from a conditioner (MADE or an MLP): the part
/// that autoregressive and coupling layers share with each other and swap between affine and spline.
/// </summary>
/// <remarks>
/// Parameters are laid out by block: column p·d + j holds parameter p of feature j, as MADE emits them. All-zero
/// parameters give the identity.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public interface IConditionalTransform<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Parameters per feature.</summary>
    int ParametersPerFeature { get; }

    /// <summary>Base → data: applies the transform to n × d inputs with n × (ParametersPerFeature·d) parameters.</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="z">n × d.</param>
    /// <param name="parameters">n × (ParametersPerFeature·d), block layout.</param>
    /// <returns>The n × d output and the n × 1 log|det J| of the forward map.</returns>
    (Node<T> Output, Node<T> LogDet) Forward(Tape<T> tape, Node<T> z, Node<T> parameters);

    /// <summary>Data → base: applies the inverse transform to n × d inputs with n × (ParametersPerFeature·d) parameters.</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="x">n × d.</param>
    /// <param name="parameters">n × (ParametersPerFeature·d), block layout.</param>
    /// <returns>The n × d output and the n × 1 log|det J| of the inverse map.</returns>
    (Node<T> Output, Node<T> LogDet) Inverse(Tape<T> tape, Node<T> x, Node<T> parameters);

    /// <summary>
    /// <see cref="Forward"/> on column <paramref name="column"/> of the d the transform is for, alone: what the sequential
    /// pass of <see cref="MaskedAutoregressive{T}"/> runs, one feature at a time. The default is <see cref="Forward"/> on
    /// the one column, for a transform whose columns are all alike; one whose columns differ (the circular spline's angles
    /// and real lines) transforms the column as its own kind.
    /// </summary>
    /// <param name="tape">The tape to record on.</param>
    /// <param name="column">The column's index among the d. Range: [0, d).</param>
    /// <param name="z">n × 1, the column's values.</param>
    /// <param name="parameters">n × ParametersPerFeature, the column's parameters.</param>
    /// <returns>The n × 1 output and the n × 1 log-derivative.</returns>
    (Node<T> Output, Node<T> LogDet) ForwardColumn(Tape<T> tape, int column, Node<T> z, Node<T> parameters) => Forward(tape, z, parameters);

    /// <summary>
    /// Sums each row's log-derivatives of <see cref="Forward"/> into its log|det J| in the order <see cref="Forward"/> sums
    /// a whole row, so that a row transformed one feature at a time (the sequential pass of
    /// <see cref="MaskedAutoregressive{T}"/>) gets the bits of the whole-row call. The default sums in column order from
    /// zero; a transform whose whole-row pass sums otherwise (the spline's vector lanes) overrides it.
    /// </summary>
    /// <param name="logDerivatives">n × d, row-major: log|∂xⱼ/∂zⱼ| of each element, as <see cref="ForwardColumn"/> gives
    /// it.</param>
    /// <param name="features">d. Range: &gt; 0.</param>
    /// <param name="logDet">n: each row's sum.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="features"/> is not positive.</exception>
    /// <exception cref="ArgumentException"><paramref name="logDerivatives"/> does not hold <paramref name="logDet"/>'s
    /// length × <paramref name="features"/> values.</exception>
    void SumLogDerivatives(ReadOnlySpan<T> logDerivatives, int features, Span<T> logDet)
    {
        ConditionalTransformChecks.CheckRowSums(logDerivatives, features, logDet);
        Kernels.RowSumsInColumnOrder(logDerivatives, features, logDet);
    }
}

/// <summary>Argument checks shared by the implementations of <see cref="IConditionalTransform{T}"/>.</summary>
internal static class ConditionalTransformChecks
{
    /// <summary>Throws unless <paramref name="logDerivatives"/> is <paramref name="logDet"/>'s length of rows of
    /// <paramref name="features"/> values each (see <see cref="IConditionalTransform{T}.SumLogDerivatives"/>).</summary>
    public static void CheckRowSums<T>(ReadOnlySpan<T> logDerivatives, int features, Span<T> logDet) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(features);
        if (logDerivatives.Length != (long)logDet.Length * features)
        {
            throw new ArgumentException(
                $"logDerivatives holds {logDerivatives.Length} values; {logDet.Length} rows of {features} features need {(long)logDet.Length * features}.",
                nameof(logDerivatives));
        }
    }
}
