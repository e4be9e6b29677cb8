using System.Numerics;

namespace Flows.Training;

/// <summary>
/// An unnormalized target log-density log p̃(z) and its gradient ∇log p̃(z), evaluated for a whole batch: what
/// variational inference fits a flow to.
/// </summary>
/// <remarks>
/// The target need not be normalized: log p̃ = log p + log Z for an unknown constant log Z, which
/// <see cref="VariationalInference"/> estimates. Write every element of both destinations. Return −∞ for a point outside
/// the support (its gradient is then ignored by importance sampling, but a training sample there makes the loss
/// infinite); NaN and +∞ are reported as errors.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
/// <param name="z">n × d points, row-major.</param>
/// <param name="logDensity">Receives log p̃(zᵢ) for the n rows.</param>
/// <param name="gradient">Receives ∇log p̃(zᵢ) for the n rows: n × d, row-major.</param>
public delegate void LogDensityWithGradient<T>(ReadOnlySpan<T> z, Span<T> logDensity, Span<T> gradient)
    where T : unmanaged, IFloatingPointIeee754<T>;
