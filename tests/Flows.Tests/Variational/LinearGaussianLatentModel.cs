using MathNet.Numerics.LinearAlgebra;
using Flows.Tests.Testing;
using Flows.Variational;

namespace Flows.Tests.Variational;

/// <summary>
/// p(z) = N(0, I), p(x | z) = N(Wz + b, σ²I): the posterior N(m(x), S) with S = (I + WᵀW/σ²)⁻¹,
/// m(x) = S Wᵀ(x − b)/σ², and the marginal N(b, WWᵀ + σ²I) are known exactly (MathNet as the oracle).
/// </summary>
internal sealed class LinearGaussianLatentModel
{
    private readonly Matrix<double> _w;
    private readonly Vector<double> _b;
    private readonly Matrix<double> _posteriorCovariance;
    private readonly Matrix<double> _posteriorPrecision;
    private readonly Matrix<double> _marginalPrecision;
    private readonly double _posteriorLogDet;
    private readonly double _marginalLogDet;

    public LinearGaussianLatentModel(int dataDimension, int latentDimension, double noise, int seed)
    {
        var random = new Random(seed);
        DataDimension = dataDimension;
        LatentDimension = latentDimension;
        Noise = noise;
        _w = Matrix<double>.Build.Dense(dataDimension, latentDimension, (_, _) => TestData.NextNormal(random));
        _b = Vector<double>.Build.Dense(dataDimension, _ => 0.5 * TestData.NextNormal(random));
        _posteriorPrecision = Matrix<double>.Build.DenseIdentity(latentDimension) + (_w.TransposeThisAndMultiply(_w) / (noise * noise));
        _posteriorCovariance = _posteriorPrecision.Inverse();
        _posteriorLogDet = Math.Log(_posteriorCovariance.Determinant());
        Matrix<double> marginal = _w.TransposeAndMultiply(_w) + Matrix<double>.Build.DenseIdentity(dataDimension) * (noise * noise);
        _marginalPrecision = marginal.Inverse();
        _marginalLogDet = Math.Log(marginal.Determinant());
    }

    public int DataDimension { get; }

    public int LatentDimension { get; }

    public double Noise { get; }

    public double[,] Sample(int rows, int seed)
    {
        var random = new Random(seed);
        var x = new double[rows, DataDimension];
        for (int i = 0; i < rows; i++)
        {
            Vector<double> z = Vector<double>.Build.Dense(LatentDimension, _ => TestData.NextNormal(random));
            Vector<double> mean = (_w * z) + _b;
            for (int j = 0; j < DataDimension; j++)
            {
                x[i, j] = mean[j] + (Noise * TestData.NextNormal(random));
            }
        }

        return x;
    }

    /// <summary>A linear Gaussian decoder set to W, b and σ.</summary>
    public GaussianDecoder<double> Decoder()
    {
        var decoder = new GaussianDecoder<double>(LatentDimension, DataDimension, hiddenFeatures: []);
        var weight = decoder.Network.Parameters[0];
        var bias = decoder.Network.Parameters[1];
        for (int j = 0; j < DataDimension; j++)
        {
            for (int k = 0; k < LatentDimension; k++)
            {
                weight.Values[(j * LatentDimension) + k] = _w[j, k];
            }

            bias.Values[j] = _b[j];
            decoder.LogScale.Values[j] = Math.Log(Noise);
        }

        return decoder;
    }

    public Vector<double> PosteriorMean(ReadOnlySpan<double> x)
        => _posteriorCovariance * (_w.TransposeThisAndMultiply(Vector<double>.Build.DenseOfArray(x.ToArray()) - _b) / (Noise * Noise));

    /// <summary>log p(z | x), the exact posterior's log-density.</summary>
    public double PosteriorDensityLn(ReadOnlySpan<double> x, ReadOnlySpan<double> z)
    {
        Vector<double> r = Vector<double>.Build.DenseOfArray(z.ToArray()) - PosteriorMean(x);
        return -0.5 * ((LatentDimension * Math.Log(2 * Math.PI)) + _posteriorLogDet + (r * (_posteriorPrecision * r)));
    }

    /// <summary>log p(x), the exact marginal log-likelihood.</summary>
    public double MarginalDensityLn(ReadOnlySpan<double> x)
    {
        Vector<double> r = Vector<double>.Build.DenseOfArray(x.ToArray()) - _b;
        return -0.5 * ((DataDimension * Math.Log(2 * Math.PI)) + _marginalLogDet + (r * (_marginalPrecision * r)));
    }

    /// <summary>log p(x, z) and ∇_z, for an <see cref="ExternalLatentVariableModel{T}"/>.</summary>
    public void JointDensityLn(ReadOnlySpan<double> x, ReadOnlySpan<double> z, Span<double> logDensity, Span<double> gradient)
    {
        int n = logDensity.Length;
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<double> zi = z.Slice(i * LatentDimension, LatentDimension);
            ReadOnlySpan<double> xi = x.Slice(i * DataDimension, DataDimension);
            Span<double> gi = gradient.Slice(i * LatentDimension, LatentDimension);
            double value = -0.5 * (LatentDimension + DataDimension) * Math.Log(2 * Math.PI) - (DataDimension * Math.Log(Noise));
            for (int k = 0; k < LatentDimension; k++)
            {
                value -= 0.5 * zi[k] * zi[k];
                gi[k] = -zi[k];
            }

            for (int j = 0; j < DataDimension; j++)
            {
                double mean = _b[j];
                for (int k = 0; k < LatentDimension; k++)
                {
                    mean += _w[j, k] * zi[k];
                }

                double r = (xi[j] - mean) / Noise;
                value -= 0.5 * r * r;
                for (int k = 0; k < LatentDimension; k++)
                {
                    gi[k] += r / Noise * _w[j, k];
                }
            }

            logDensity[i] = value;
        }
    }
}
