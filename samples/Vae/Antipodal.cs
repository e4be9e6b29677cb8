using Flows.Autodiff;
using Flows.Variational;

// The second data set of the sample, made so that a diagonal-Gaussian posterior must lose: a known latent-variable model
// whose true posterior has two antipodal modes. z ~ N(0, I₂); 32 binary features x_j ~ Bernoulli(σ(ℓ_j)) with
// ℓ_j = a Σₖ w_jk |u_k · z| + b_j over three directions u_k at 0°, 60° and 120°. The logits see z only through
// |u_k · z|, so z and −z explain every x equally (p(z | x) = p(−z | x)), and three directions pin z down up to that sign:
// the posterior has two modes, one the mirror of the other, as far apart as 2|z|. A Gaussian q(z | x) covers one of them
// (or neither well), which costs up to log 2 = 0.69 nats per row; a flow can split its base into both. The model is an
// ordinary BernoulliDecoder (hidden layer of 6 ReLUs relu(±u_k · z), whose pairs sum to |u_k · z|) with set weights,
// so the same VAE code trains against it; with two latent features its exact log p(x) is a quadrature.
internal static class Antipodal
{
    public const int Latent = 2;
    public const int Features = 32;
    private const int Directions = 3;
    private const double Slope = 2.5;

    // The true decoder: weights from a seed, layer0 (6 × 2) = [u₀; −u₀; u₁; −u₁; u₂; −u₂] with zero bias, layer1 (32 × 6)
    // = a·w_jk on both units of direction k, bias b_j centring the logits near the typical |u_k · z| ≈ 0.8.
    public static BernoulliDecoder<double> TrueDecoder(int seed)
    {
        var decoder = new BernoulliDecoder<double>(Latent, Features, [2 * Directions], seed);
        double[] w0 = decoder.Parameters[0].Values;
        double[] b0 = decoder.Parameters[1].Values;
        double[] w1 = decoder.Parameters[2].Values;
        double[] b1 = decoder.Parameters[3].Values;
        Array.Clear(b0);
        for (int k = 0; k < Directions; k++)
        {
            double angle = k * Math.PI / Directions;
            w0[(2 * k * Latent) + 0] = Math.Cos(angle);
            w0[(2 * k * Latent) + 1] = Math.Sin(angle);
            w0[(((2 * k) + 1) * Latent) + 0] = -Math.Cos(angle);
            w0[(((2 * k) + 1) * Latent) + 1] = -Math.Sin(angle);
        }

        var random = new Random(seed);
        for (int j = 0; j < Features; j++)
        {
            double centre = 0;
            for (int k = 0; k < Directions; k++)
            {
                double w = Slope * Normal(random);
                w1[(j * 2 * Directions) + (2 * k)] = w;
                w1[(j * 2 * Directions) + (2 * k) + 1] = w;
                centre += 0.8 * w;
            }

            b1[j] = -centre + (0.5 * Normal(random));
        }

        return decoder;
    }

    // Rows x ~ p(x) = ∫ p(z) p(x | z) dz: z from the prior, then each feature a Bernoulli draw of the decoder's mean.
    public static double[,] Generate(BernoulliDecoder<double> truth, int rows, int seed)
    {
        var model = LatentVariableModel<double>.WithStandardNormalPrior(truth);
        var random = new Random(seed);
        double[,] means = model.SampleMeans(rows, random);
        var x = new double[rows, Features];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < Features; j++)
            {
                x[i, j] = random.NextDouble() < means[i, j] ? 1 : 0;
            }
        }

        return x;
    }

    // log p(x) = log ∫ N(z; 0, I) p(x | z) dz per row, by the trapezoid rule on a grid of spacing h over [−L, L]²: the
    // integrand is smooth between the kinks of |u_k · z| and negligible beyond L = 6 (prior mass < 1e-8); the sample
    // compares spacings 0.02 and 0.04 to show the error. The grid's logits are computed once (the decoder on the tape)
    // and each row's log-likelihood is then x·ℓ − Σ softplus(ℓ) at every node, summed with a log-sum-exp.
    public static double[] ExactLogLikelihood(BernoulliDecoder<double> truth, double[,] x, double spacing = 0.04, double bound = 6)
    {
        int side = (int)Math.Round(2 * bound / spacing) + 1;
        int nodes = side * side;
        var z = new double[nodes * Latent];
        for (int a = 0; a < side; a++)
        {
            for (int b = 0; b < side; b++)
            {
                z[(((a * side) + b) * Latent) + 0] = -bound + (a * spacing);
                z[(((a * side) + b) * Latent) + 1] = -bound + (b * spacing);
            }
        }

        var tape = new Tape<double>(isRecording: false);
        Node<double> logits = truth.Network.Apply(tape, tape.Constant(z, nodes, Latent), null);
        // log N(z) + log(h²) − Σ_j softplus(ℓ_j): the part of the log-integrand shared by every row.
        var shared = new double[nodes];
        double logCell = 2 * Math.Log(spacing);
        for (int p = 0; p < nodes; p++)
        {
            double z0 = z[p * Latent];
            double z1 = z[(p * Latent) + 1];
            double sum = logCell - Math.Log(2 * Math.PI) - (0.5 * ((z0 * z0) + (z1 * z1)));
            for (int j = 0; j < Features; j++)
            {
                double l = logits.Values[(p * Features) + j];
                sum -= Math.Max(l, 0) + Math.Log(1 + Math.Exp(-Math.Abs(l)));
            }

            shared[p] = sum;
        }

        int rows = x.GetLength(0);
        var result = new double[rows];
        var terms = new double[nodes];
        ReadOnlySpan<double> all = logits.Values;
        var ones = new List<int>(Features);
        for (int i = 0; i < rows; i++)
        {
            ones.Clear();
            for (int j = 0; j < Features; j++)
            {
                if (x[i, j] == 1)
                {
                    ones.Add(j);
                }
            }

            double largest = double.NegativeInfinity;
            for (int p = 0; p < nodes; p++)
            {
                ReadOnlySpan<double> l = all.Slice(p * Features, Features);
                double t = shared[p];
                foreach (int j in ones)
                {
                    t += l[j];
                }

                // Trapezoid weights: halve along each edge of the square.
                int a = p / side;
                int b = p % side;
                if (a == 0 || a == side - 1)
                {
                    t -= Math.Log(2);
                }

                if (b == 0 || b == side - 1)
                {
                    t -= Math.Log(2);
                }

                terms[p] = t;
                largest = Math.Max(largest, t);
            }

            double total = 0;
            for (int p = 0; p < nodes; p++)
            {
                total += Math.Exp(terms[p] - largest);
            }

            result[i] = largest + Math.Log(total);
        }

        return result;
    }

    private static double Normal(Random random)
        => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
