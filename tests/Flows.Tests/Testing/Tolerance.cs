namespace Flows.Tests.Testing;

/// <summary>Every tolerance the suite uses, named after the property it bounds (TESTING.md item in brackets).</summary>
internal static class Tolerance
{
    /// <summary>Round trip in double: |g(f(x)) − x| ≤ RoundTrip·(1 + |x|) [1].</summary>
    public const double RoundTrip = 1e-9;

    /// <summary>Forward and inverse log-dets are exact negatives: |fldj + ildj| ≤ LogDetNegatives·max(1, |fldj|) [4].</summary>
    public const double LogDetNegatives = 1e-10;

    /// <summary>Step of the central differences behind the finite-difference Jacobian [3].</summary>
    public const double FiniteDifferenceJacobianStep = 1e-5;

    /// <summary>|ldj − log|det J_FD|| for D ≤ 6 and |x| ≤ 10 [3].</summary>
    public const double FiniteDifferenceLogDet = 1e-6;

    /// <summary>|ldj − log|det J_AD|| ≤ AutodiffLogDet·max(1, |ldj|) [2].</summary>
    public const double AutodiffLogDet = 1e-8;

    /// <summary>Step of the central differences for gradients with respect to parameters and op inputs [16, 17].</summary>
    public const double FiniteDifferenceGradientStep = 1e-6;

    /// <summary>|AD − FD| ≤ Gradient·(1 + |FD|) for gradients; the 1 is the absolute floor for near-zero partials [16, 17].</summary>
    public const double Gradient = 1e-6;

    /// <summary>Batched call versus row-by-row calls, relative [10].</summary>
    public const double BatchEquivalence = 1e-14;

    /// <summary>Closed forms evaluated with MathNet or by hand, relative to max(1, |value|) [12, 25].</summary>
    public const double ClosedForm = 1e-12;

    /// <summary>The multivariate normal log-density against an independent Cholesky/MathNet computation.</summary>
    public const double MultivariateNormal = 1e-10;

    /// <summary>log p(y) = log p_Z(g(y)) + ildj(y) [12].</summary>
    public const double DensityIdentity = 1e-12;

    /// <summary>SampleWithDensityLn against DensityLn of the same samples [12].</summary>
    public const double SampleDensity = 1e-10;

    /// <summary>Chain log-det additivity [15].</summary>
    public const double ChainAdditivity = 1e-12;

    /// <summary>|∫p − 1| by quadrature [13].</summary>
    public const double Normalization = 1e-6;

    /// <summary>Adam against a hand-computed trace of the published rule, relative to 1 + |θ| [19].</summary>
    public const double AdamTrace = 1e-14;

    /// <summary>Maximum-likelihood recovery of the sample mean and covariance by a fitted LowerTriangularAffine [20].</summary>
    public const double MaximumLikelihoodMoments = 1e-3;

    /// <summary>Recovery of the raw parameters of a Chain(SinhArcsinh, LowerTriangularAffine) from 20,000 of its samples.</summary>
    public const double ParameterRecovery = 0.1;

    /// <summary>A scalar function against its closed form, relative to |value| itself (a few ulp), down to the tiny
    /// values where cancellation-prone forms lose every digit.</summary>
    public const double ScalarFunctionRelative = 1e-14;

    /// <summary>Small m × m products and dot products (m ≤ 17, entries ~N(0, 1)) against MathNet, relative to
    /// 1 + |value|: the two summation orders differ by about m·ulp·Σ|aᵢbᵢ| ≲ 1e-14.</summary>
    public const double SmallMatrixProduct = 1e-13;

    /// <summary>The Jacobi eigendecomposition (m ≤ 16): ‖A − VΛVᵀ‖_max and |λ − λ_MathNet| relative to ‖A‖_max, and
    /// ‖VᵀV − I‖_max. Backward stability gives a small multiple of m·ulp; 2e-14 is the largest seen at m = 16.</summary>
    public const double Eigendecomposition = 1e-12;

    /// <summary>LU log|det M| and the Gauss–Jordan inverse against MathNet or exact values, per unit of the condition
    /// number κ(M): absolute for the log-determinant, relative to ‖M⁻¹‖_max for the inverse. Partial pivoting is backward
    /// stable; on random matrices with d ≤ 16 the errors stay below 3e-16·κ.</summary>
    public const double DenseLuPerConditionNumber = 1e-14;
}
