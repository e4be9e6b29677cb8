using System.Numerics;
using System.Text.Json;
using Flows.Bijectors;

namespace Flows.Persistence;

/// <summary>
/// The registry of every bijector's saved form. A bijector type missing here cannot be saved, and a test that
/// enumerates the assembly's bijector types by reflection fails until it is registered.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal static partial class BijectorFormats<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly Dictionary<Type, BijectorFormat<T>> ByType = [];
    private static readonly Dictionary<string, BijectorFormat<T>> ByName = [];

    static BijectorFormats()
    {
        RegisterElementwise<Affine<T>>("Affine", d => new Affine<T>(d));
        RegisterElementwise<LowerTriangularAffine<T>>("LowerTriangularAffine", d => new LowerTriangularAffine<T>(d));
        RegisterElementwise<SinhArcsinh<T>>("SinhArcsinh", d => new SinhArcsinh<T>(d));
        RegisterElementwise<Exp<T>>("Exp", d => new Exp<T>(d));
        RegisterElementwise<Softplus<T>>("Softplus", d => new Softplus<T>(d));
        RegisterElementwise<Sigmoid<T>>("Sigmoid", d => new Sigmoid<T>(d));
        RegisterElementwise<Tanh<T>>("Tanh", d => new Tanh<T>(d));
        Register(new BijectorFormat<T>(
            "Permutation",
            typeof(Permutation<T>),
            (b, w, _) => WriteInt32Array(w, "order", ((Permutation<T>)b).Order),
            (scope, _) => new Permutation<T>(scope.Int32Array("order"))));
        Register(new BijectorFormat<T>(
            "MaskedAutoregressive",
            typeof(MaskedAutoregressive<T>),
            (b, w, _) =>
            {
                var maf = (MaskedAutoregressive<T>)b;
                w.WriteNumber("features", maf.Dimension);
                WriteInt32Array(w, "hiddenFeatures", maf.Conditioner.HiddenFeatures);
                WriteInt32Array(w, "order", maf.Conditioner.Order);
                w.WriteNumber("contextFeatures", maf.ContextDimension);
                TransformFormat.Write(w, maf.Transform);
            },
            (scope, _) => new MaskedAutoregressive<T>(
                scope.Int32("features", minimum: 1),
                scope.Int32Array("hiddenFeatures"),
                scope.Int32Array("order"),
                scope.Int32("contextFeatures", minimum: 0),
                TransformFormat.Read<T>(scope.Object("transform"))),
            UpgradeParameters: (b, version) =>
            {
                // Version 1 numbered MADE's hidden units cyclically by degree; later versions sort them by degree.
                if (version < 2)
                {
                    ((MaskedAutoregressive<T>)b).Conditioner.ReorderHiddenUnitsFromCyclicDegrees();
                }
            }));
        Register(new BijectorFormat<T>(
            "Coupling",
            typeof(Coupling<T>),
            (b, w, _) =>
            {
                WriteCoupling(w, (Coupling<T>)b);
                TransformFormat.Write(w, ((Coupling<T>)b).Transform);
            },
            (scope, _) => new Coupling<T>(
                scope.BooleanArray("transformedMask"),
                scope.Int32Array("hiddenFeatures"),
                scope.Int32("contextFeatures", minimum: 0),
                TransformFormat.Read<T>(scope.Object("transform")))));
        Register(new BijectorFormat<T>(
            "AffineCoupling",
            typeof(AffineCoupling<T>),
            (b, w, _) =>
            {
                WriteCoupling(w, (Coupling<T>)b);
                w.WriteNumber("logScaleBound", ((AffineCoupling<T>)b).LogScaleBound);
            },
            (scope, _) => new AffineCoupling<T>(
                scope.BooleanArray("transformedMask"),
                scope.Int32Array("hiddenFeatures"),
                scope.Int32("contextFeatures", minimum: 0),
                scope.Double("logScaleBound"))));
        Register(new BijectorFormat<T>(
            "RationalQuadraticSpline",
            typeof(RationalQuadraticSpline<T>),
            (b, w, _) =>
            {
                w.WriteNumber("dimension", b.Dimension);
                TransformFormat.Write(w, ((RationalQuadraticSpline<T>)b).Transform);
            },
            (scope, _) => new RationalQuadraticSpline<T>(
                scope.Int32("dimension", minimum: 1),
                TransformFormat.Read<T>(scope.Object("transform")) as RationalQuadraticTransform<T>
                    ?? throw JsonScope.Error($"{scope.Path}.transform", "expected a RationalQuadratic transform"))));
        Register(new BijectorFormat<T>(
            "Chain",
            typeof(Chain<T>),
            (b, w, writePart) =>
            {
                w.WriteStartArray("parts");
                foreach (IBijector<T> part in ((Chain<T>)b).Parts)
                {
                    writePart(w, part);
                }

                w.WriteEndArray();
            },
            (scope, readPart) =>
            {
                JsonElement parts = scope.Array("parts");
                var list = new List<IBijector<T>>();
                int i = 0;
                foreach (JsonElement part in parts.EnumerateArray())
                {
                    list.Add(readPart(scope.Nested(part, $"{scope.Path}.parts[{i++}]")));
                }

                return new Chain<T>(list);
            },
            IsComposite: true));
        Register(new BijectorFormat<T>(
            "Inverted",
            typeof(Inverted<T>),
            (b, w, writePart) =>
            {
                w.WritePropertyName("inner");
                writePart(w, ((Inverted<T>)b).Inner);
            },
            (scope, readPart) => new Inverted<T>(readPart(scope.Object("inner"))),
            IsComposite: true));
        RegisterPlanarFamily();
        RegisterLinearAndNormalizationFamily();
        RegisterResidualFamily();
    }

    // Each family registers in its own file (BijectorFormats.<Family>.cs).
    static partial void RegisterPlanarFamily();

    static partial void RegisterLinearAndNormalizationFamily();

    static partial void RegisterResidualFamily();

    /// <summary>The format of a bijector's exact type.</summary>
    /// <exception cref="NotSupportedException">The type has no registered format.</exception>
    public static BijectorFormat<T> Of(IBijector<T> bijector)
        => ByType.TryGetValue(bijector.GetType(), out BijectorFormat<T>? format)
            ? format
            : throw new NotSupportedException($"{bijector.GetType().Name} ({bijector}) has no saved form; register it in {nameof(BijectorFormats<T>)}.");

    /// <summary>The format saved under <paramref name="name"/>, or null.</summary>
    public static BijectorFormat<T>? Named(string name) => ByName.GetValueOrDefault(name);

    /// <summary>Whether the generic type definition (such as <c>Affine&lt;&gt;</c>) is registered.</summary>
    public static bool IsRegistered(Type genericDefinition)
        => ByType.Keys.Any(t => t.IsGenericType && t.GetGenericTypeDefinition() == genericDefinition);

    // Bijectors whose only hyperparameter is the dimension.
    internal static void RegisterElementwise<TBijector>(string name, Func<int, TBijector> create) where TBijector : IBijector<T>
        => Register(new BijectorFormat<T>(
            name,
            typeof(TBijector),
            (b, w, _) => w.WriteNumber("dimension", b.Dimension),
            (scope, _) => create(scope.Int32("dimension", minimum: 1))));

    private static void WriteCoupling(Utf8JsonWriter writer, Coupling<T> coupling)
    {
        WriteInt32Array(writer, "transformedMask", [.. coupling.TransformedMask.Select(t => t ? 1 : 0)]);
        WriteInt32Array(writer, "hiddenFeatures", [.. coupling.Conditioner.Sizes.Skip(1).SkipLast(1)]);
        writer.WriteNumber("contextFeatures", coupling.ContextDimension);
    }

    internal static void WriteInt32Array(Utf8JsonWriter writer, string name, IEnumerable<int> values)
    {
        writer.WriteStartArray(name);
        foreach (int value in values)
        {
            writer.WriteNumberValue(value);
        }

        writer.WriteEndArray();
    }

    internal static void Register(BijectorFormat<T> format)
    {
        ByType.Add(format.Type, format);
        ByName.Add(format.Name, format);
    }
}
