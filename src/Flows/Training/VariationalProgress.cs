namespace Flows.Training;

/// <summary>Where a variational fit stands after a step, in nats.</summary>
/// <param name="Step">Steps taken, from 1.</param>
/// <param name="Elbo">This step's Monte Carlo estimate of the ELBO E_q[log p̃(z) − log q(z)].</param>
/// <param name="SmoothedElbo">The exponential moving average of the per-step estimates (see <see cref="VariationalOptions.SmoothingWindow"/>).</param>
/// <param name="GradientNorm">The global norm of this step's gradient, before clipping.</param>
public readonly record struct VariationalProgress(int Step, double Elbo, double SmoothedElbo, double GradientNorm);
