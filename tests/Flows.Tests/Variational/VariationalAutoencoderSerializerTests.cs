using System.Text;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Persistence;
using Flows.Tests.Testing;
using Flows.Variational;

namespace Flows.Tests.Variational;

public sealed class VariationalAutoencoderSerializerTests
{
    public static TheoryData<string> Posteriors => ["diagonal", "iaf", "planar"];

    [Theory]
    [MemberData(nameof(Posteriors))]
    public void Load_OfATrainedModel_GivesEveryParameterAndEstimateBitForBit(string posteriorKind)
    {
        VariationalAutoencoder<double> vae = Trained(posteriorKind, flowPrior: posteriorKind == "iaf");
        VariationalAutoencoder<double> loaded = RoundTrip(vae);

        Assert.Equal(vae.Parameters.Select(p => p.Name), loaded.Parameters.Select(p => p.Name));
        for (int i = 0; i < vae.Parameters.Count; i++)
        {
            AssertClose.Bitwise(vae.Parameters[i].Values, loaded.Parameters[i].Values, vae.Parameters[i].Name);
        }

        double[,] data = Data(20, seed: 3);
        Assert.Equal(vae.EstimateLogLikelihood(data, 50, seed: 4).PerRow, loaded.EstimateLogLikelihood(data, 50, seed: 4).PerRow);
    }

    [Fact]
    public void Load_ThrowsForAnEditedFile()
    {
        using var stream = new MemoryStream();
        Trained("iaf", flowPrior: false).Save(stream);
        string text = Encoding.UTF8.GetString(stream.ToArray());
        // The last digit of the encoder's first stored value: the text stays valid JSON, only the checksum can tell.
        int at = text.IndexOf("\"values\": [", StringComparison.Ordinal);
        at = text.IndexOfAny([',', ']'], at) - 1;
        while (!char.IsDigit(text[at]))
        {
            at--;
        }

        string edited = text[..at] + (text[at] == '1' ? '2' : '1') + text[(at + 1)..];
        FlowFormatException e = Assert.Throws<FlowFormatException>(() => VariationalAutoencoderSerializer.Load<double>(Encoding.UTF8.GetBytes(edited)));
        Assert.Contains("checksum", e.Message);
    }

    [Fact]
    public void Save_ThrowsForAnExternalModel()
    {
        var model = new ExternalLatentVariableModel<double>(4, 2, (x, z, l, g) => { l.Clear(); g.Clear(); });
        var vae = new VariationalAutoencoder<double>(new AmortizedPosterior<double>(4, 2), model);
        Assert.Throws<NotSupportedException>(() => vae.Save(new MemoryStream()));
    }

    private static VariationalAutoencoder<double> RoundTrip(VariationalAutoencoder<double> vae)
    {
        using var stream = new MemoryStream();
        vae.Save(stream);
        stream.Position = 0;
        return VariationalAutoencoderSerializer.Load<double>(stream);
    }

    private static VariationalAutoencoder<double> Trained(string posteriorKind, bool flowPrior)
    {
        IBijector<double>? flow = posteriorKind switch
        {
            "iaf" => new Chain<double>(new Inverted<double>(new MaskedAutoregressive<double>(2, [6], contextDimension: 3, seed: 1)), new Permutation<double>([1, 0])),
            "planar" => new Chain<double>(new Planar<double>(2, seed: 1), new Planar<double>(2, seed: 2)),
            _ => null,
        };
        var posterior = new AmortizedPosterior<double>(4, 2, [8], flow, seed: 2);
        IDistribution<double> prior = flowPrior
            ? new TransformedDistribution<double>(new StandardNormal<double>(2), new SinhArcsinh<double>(2))
            : new StandardNormal<double>(2);
        var vae = new VariationalAutoencoder<double>(posterior, new LatentVariableModel<double>(prior, new BernoulliDecoder<double>(2, 4, [8], seed: 3)));
        vae.Fit(Data(40, seed: 5), new AmortizedFitOptions { Epochs = 3, BatchSize = 10, Seed = 6, Optimizer = new Flows.Training.AdamOptions { LearningRate = 1e-2 } });
        return vae;
    }

    private static double[,] Data(int rows, int seed)
    {
        var random = new Random(seed);
        var data = new double[rows, 4];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < 4; j++)
            {
                data[i, j] = random.NextDouble() < 0.3 + (0.1 * j) ? 1 : 0;
            }
        }

        return data;
    }
}
