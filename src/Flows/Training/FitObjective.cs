namespace Flows.Training;

/// <summary>What <see cref="MaximumLikelihood"/>'s <c>Fit</c> minimizes (<see cref="FitOptions.Objective"/>).</summary>
public enum FitObjective
{
    /// <summary>The mean negative log-likelihood of the data: any flow.</summary>
    MaximumLikelihood,

    /// <summary>
    /// Conditional flow matching with straight paths: the mean of ‖f(x_t, t, c) − (x − z)‖² over data rows x, base draws
    /// z and times t ~ U(0, 1), x_t = (1 − t) z + t x. Only for a flow whose bijector is a <see cref="Bijectors.ContinuousFlow{T}"/>;
    /// no ODE is solved while training.
    /// </summary>
    /// <remarks>
    /// <para>The regression target x − z is the velocity of the straight path from z (t = 0, the base) to x (t = 1, the
    /// data); its minimizer is the field whose flow carries the base to the data distribution (Lipman et al. 2023,
    /// "Flow Matching for Generative Modeling", arXiv:2210.02747; Liu et al. 2023, "Flow Straight and Fast",
    /// arXiv:2209.03003; the independent coupling of Tong et al. 2024, arXiv:2302.00482). Base and data rows are paired
    /// at random; minibatch optimal-transport pairing is not implemented.</para>
    /// <para>Every minibatch gets fresh z and t, drawn on the fitting thread from the fit's seed, so the fit is the same
    /// on any number of threads. The watched loss of the checks (validation rows, or training rows without a split) is the
    /// same regression with one fixed draw of z and t per row, so that checks are comparable; the report's losses are
    /// therefore flow-matching losses, not negative log-likelihoods. The log-density of the fitted flow comes afterwards
    /// from <c>DensityLn</c>, by the ODE with the trace.</para>
    /// <para>Unless <see cref="FitOptions.AverageDecay"/> is set, the checks score and keep a moving average of the
    /// parameters (decay 0.9999): the watched loss of the parameters themselves moves more between checks than it improves
    /// within early stopping's patience.</para>
    /// <para>Unless <see cref="AdamOptions.WeightDecay"/> is set, flow matching uses no weight decay (maximum likelihood's
    /// size-adapted default lowered the held-out log-likelihood of two moons by 0.03 nats; see there).</para>
    /// </remarks>
    FlowMatching,
}
