using System.Numerics;
using Flows.Bijectors;

namespace Flows.Persistence;

internal static partial class BijectorFormats<T>
{
    // Planar and radial layers are determined by their dimension (the parameters carry the rest); a Sylvester layer
    // also by its variant, M, K and, for the triangular variant, the fixed permutation (identity or reversal).
    static partial void RegisterPlanarFamily()
    {
        RegisterElementwise<Planar<T>>("Planar", d => new Planar<T>(d));
        RegisterElementwise<Radial<T>>("Radial", d => new Radial<T>(d));
        Register(new BijectorFormat<T>(
            "Sylvester",
            typeof(Sylvester<T>),
            (b, w, _) =>
            {
                var sylvester = (Sylvester<T>)b;
                w.WriteNumber("dimension", sylvester.Dimension);
                w.WriteString("variant", sylvester.Variant.ToString());
                w.WriteNumber("columnCount", sylvester.ColumnCount);
                w.WriteNumber("reflectionCount", sylvester.ReflectionCount);
                w.WriteNumber("reversed", sylvester.Reversed ? 1 : 0);
            },
            (scope, _) =>
            {
                string variantName = scope.String("variant");
                if (!Enum.TryParse(variantName, ignoreCase: false, out SylvesterVariant variant) || !Enum.IsDefined(variant) ||
                    int.TryParse(variantName, out int _))
                {
                    throw JsonScope.Error($"{scope.Path}.variant", $"expected Orthogonal, Householder or Triangular, found \"{variantName}\"");
                }

                int reversed = scope.Int32("reversed", minimum: 0);
                if (reversed > 1)
                {
                    throw JsonScope.Error($"{scope.Path}.reversed", $"expected 0 or 1, found {reversed}");
                }

                return new Sylvester<T>(
                    scope.Int32("dimension", minimum: 1),
                    variant,
                    scope.Int32("columnCount", minimum: 1),
                    scope.Int32("reflectionCount", minimum: 0),
                    reversed == 1);
            }));
    }
}
