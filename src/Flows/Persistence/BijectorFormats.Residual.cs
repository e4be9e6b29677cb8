using System.Numerics;
using Flows.Bijectors;

namespace Flows.Persistence;

internal static partial class BijectorFormats<T>
{
    // InvertibleResidual saves its settings and the power-iteration vectors, refined for the saved weights first, so a
    // loaded block normalizes its weights bit for bit as the saved one did.
    static partial void RegisterResidualFamily()
        => Register(new BijectorFormat<T>(
            "InvertibleResidual",
            typeof(InvertibleResidual<T>),
            (b, w, _) =>
            {
                var block = (InvertibleResidual<T>)b;
                w.WriteNumber("dimension", block.Dimension);
                w.WriteNumber("hiddenFeatures", block.HiddenFeatures);
                w.WriteNumber("coefficient", block.Coefficient);
                w.WriteNumber("seed", block.Seed);
                w.WriteNumber("maxIterations", block.MaxIterations);
                w.WriteNumber("exactLogDetMaxDimension", block.ExactLogDetMaxDimension);
                w.WriteNumber("seriesTerms", block.SeriesTerms);
                for (int k = 0; k < 2; k++)
                {
                    block.SpectralNorms[k].Refresh();
                    WriteValues(w, $"u{k}", block.SpectralNorms[k].U);
                }
            },
            (scope, _) =>
            {
                int dimension = scope.Int32("dimension", minimum: 1);
                int hidden = scope.Int32("hiddenFeatures", minimum: 1);
                var block = new InvertibleResidual<T>(
                    dimension,
                    hidden,
                    scope.Double("coefficient"),
                    scope.Int32("seed"),
                    scope.Int32("maxIterations", minimum: 1),
                    scope.Int32("exactLogDetMaxDimension", minimum: 0),
                    scope.Int32("seriesTerms", minimum: 1));
                block.RestoreSpectralState(ReadValues(scope, "u0", hidden), ReadValues(scope, "u1", dimension));
                return block;
            }));
}
