namespace Flows.Training;

/// <summary>What <c>MaximumLikelihood.Fit</c> does when the data lie far outside the range the flow's layers are built
/// for, or the context far outside unit scale (see
/// <see cref="MaximumLikelihood.CheckDataRange{T}(Distributions.TransformedDistribution{T}, T[,], T[,])"/>).</summary>
public enum DataRangeCheck
{
    /// <summary>Fit anyway and put the advice in <see cref="FitReport.Warnings"/>.</summary>
    Warn,

    /// <summary>Throw an <see cref="ArgumentException"/> with the advice before fitting.</summary>
    Throw,

    /// <summary>Do not check.</summary>
    Off,
}
