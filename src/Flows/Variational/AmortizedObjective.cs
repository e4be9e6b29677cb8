namespace Flows.Variational;

/// <summary>The bound an amortized fit maximizes (<see cref="AmortizedFitOptions.Objective"/>).</summary>
public enum AmortizedObjective
{
    /// <summary>The evidence lower bound, <c>E_q[log p(x, z) − log q(z | x)]</c>, averaged over k samples per row.</summary>
    Elbo,

    /// <summary>
    /// The importance-weighted bound of Burda, Grosse &amp; Salakhutdinov (2016, arXiv:1509.00519),
    /// <c>E[log (1/k) Σₛ p(x, zₛ)/q(zₛ | x)]</c> with k samples per row: tighter than the ELBO for k &gt; 1, equal at k = 1.
    /// </summary>
    ImportanceWeighted,
}
