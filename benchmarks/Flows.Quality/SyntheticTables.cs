// The synthetic tables of the quality benchmark, with their true densities: shared by Program.cs and linked into
// Flows.Tests (issue 13's small-table test).
namespace Flows.Quality
{
    /// <summary>A mixture of Gaussians with means ~ N(0, 2²I), factors A/√d with A ~ N(0, 1), and weights 0.5, 0.3, 0.2.</summary>
    internal sealed class GaussianMixture
    {
        private readonly double[] _weights;
        private readonly SinhGaussian[] _components;

        public GaussianMixture(int dimension, int clusters, int seed)
        {
            _weights = clusters == 3 ? [0.5, 0.3, 0.2] : [.. Enumerable.Repeat(1.0 / clusters, clusters)];
            _components = [.. Enumerable.Range(0, clusters).Select(c => new SinhGaussian(dimension, seed + c, linear: true, meanScale: 4))];
        }

        public double[,] Sample(int rows, Random random)
        {
            int d = _components[0].Dimension;
            var x = new double[rows, d];
            for (int r = 0; r < rows; r++)
            {
                double u = random.NextDouble();
                int c = 0;
                while (c < _weights.Length - 1 && u > _weights[c])
                {
                    u -= _weights[c];
                    c++;
                }

                double[,] one = _components[c].Sample(1, random);
                for (int j = 0; j < d; j++)
                {
                    x[r, j] = one[0, j];
                }
            }

            return x;
        }

        public double[] LogDensity(double[,] x)
        {
            double[][] parts = [.. _components.Select(c => c.LogDensity(x))];
            return [.. Enumerable.Range(0, x.GetLength(0)).Select(i =>
            {
                double max = parts.Max(p => p[i]);
                return max + Math.Log(parts.Select((p, c) => _weights[c] * Math.Exp(p[i] - max)).Sum());
            })];
        }
    }

    /// <summary>Four independent curved pairs (x₂ₖ, x₂ₖ₊₁) = (u, 0.4·v + 0.9·(u² − 1)), u, v ~ N(0, 1).</summary>
    internal static class Banana
    {
        public static double[,] Sample(int rows, Random random)
        {
            var x = new double[rows, 8];
            for (int r = 0; r < rows; r++)
            {
                for (int k = 0; k < 4; k++)
                {
                    double u = Normal(random);
                    double v = Normal(random);
                    x[r, 2 * k] = u;
                    x[r, (2 * k) + 1] = (0.4 * v) + (0.9 * ((u * u) - 1));
                }
            }

            return x;
        }

        public static double[] LogDensity(double[,] x)
        {
            var result = new double[x.GetLength(0)];
            for (int r = 0; r < result.Length; r++)
            {
                for (int k = 0; k < 4; k++)
                {
                    double u = x[r, 2 * k];
                    double v = (x[r, (2 * k) + 1] - (0.9 * ((u * u) - 1))) / 0.4;
                    result[r] += -(u * u / 2) - (v * v / 2) - Math.Log(2 * Math.PI) - Math.Log(0.4);
                }
            }

            return result;
        }

        private static double Normal(Random random)
            => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
    }

    /// <summary>x = sinh(A z + b) with z ~ N(0, I): y = asinh(x) ~ N(b, AAᵀ), so log p(x) = log N(asinh x; b, AAᵀ) − ½ Σ log(1 + xⱼ²).</summary>
    internal sealed class SinhGaussian
    {
        private readonly int _d;
        private readonly double[,] _a;
        private readonly double[] _b;
        private readonly double[,] _choleskyOfCovariance;

        private readonly bool _linear;

        public SinhGaussian(int dimension, int seed, bool linear = false, double meanScale = 0.5)
        {
            _d = dimension;
            _linear = linear;
            var random = new Random(seed);
            _a = new double[dimension, dimension];
            _b = new double[dimension];
            for (int i = 0; i < dimension; i++)
            {
                for (int j = 0; j < dimension; j++)
                {
                    _a[i, j] = Normal(random) / Math.Sqrt(dimension);
                }
            }

            for (int i = 0; i < dimension; i++)
            {
                _b[i] = meanScale * Normal(random);
            }

            var covariance = new double[dimension, dimension];
            for (int i = 0; i < dimension; i++)
            {
                for (int j = 0; j < dimension; j++)
                {
                    for (int k = 0; k < dimension; k++)
                    {
                        covariance[i, j] += _a[i, k] * _a[j, k];
                    }
                }
            }

            _choleskyOfCovariance = Cholesky(covariance);
        }

        public int Dimension => _d;

        public double[,] Sample(int rows, Random random)
        {
            var x = new double[rows, _d];
            var z = new double[_d];
            for (int r = 0; r < rows; r++)
            {
                for (int k = 0; k < _d; k++)
                {
                    z[k] = Normal(random);
                }

                for (int i = 0; i < _d; i++)
                {
                    double y = _b[i];
                    for (int k = 0; k < _d; k++)
                    {
                        y += _a[i, k] * z[k];
                    }

                    x[r, i] = _linear ? y : Math.Sinh(y);
                }
            }

            return x;
        }

        public double[] LogDensity(double[,] x)
        {
            int rows = x.GetLength(0);
            var result = new double[rows];
            double logDet = 0;
            for (int i = 0; i < _d; i++)
            {
                logDet += Math.Log(_choleskyOfCovariance[i, i]);
            }

            var u = new double[_d];
            for (int r = 0; r < rows; r++)
            {
                double quadratic = 0;
                double jacobian = 0;
                for (int i = 0; i < _d; i++)
                {
                    // Forward substitution: u = L⁻¹ (asinh x − b).
                    double v = (_linear ? x[r, i] : Math.Asinh(x[r, i])) - _b[i];
                    for (int k = 0; k < i; k++)
                    {
                        v -= _choleskyOfCovariance[i, k] * u[k];
                    }

                    u[i] = v / _choleskyOfCovariance[i, i];
                    quadratic += u[i] * u[i];
                    jacobian -= _linear ? 0 : 0.5 * Math.Log(1 + (x[r, i] * x[r, i]));
                }

                result[r] = (-0.5 * quadratic) - logDet - (0.5 * _d * Math.Log(2 * Math.PI)) + jacobian;
            }

            return result;
        }

        private static double[,] Cholesky(double[,] a)
        {
            int n = a.GetLength(0);
            var l = new double[n, n];
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j <= i; j++)
                {
                    double sum = a[i, j];
                    for (int k = 0; k < j; k++)
                    {
                        sum -= l[i, k] * l[j, k];
                    }

                    l[i, j] = i == j ? Math.Sqrt(sum) : sum / l[j, j];
                }
            }

            return l;
        }

        private static double Normal(Random random)
            => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
    }
}
