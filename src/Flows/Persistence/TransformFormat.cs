using System.Numerics;
using System.Text.Json;
using Flows.Bijectors;

namespace Flows.Persistence;

/// <summary>The saved form of the conditional transforms that autoregressive and coupling layers use.</summary>
internal static class TransformFormat
{
    public static void Write<T>(Utf8JsonWriter writer, IConditionalTransform<T> transform) where T : unmanaged, IFloatingPointIeee754<T>
    {
        writer.WriteStartObject("transform");
        switch (transform)
        {
            case AffineTransform<T> affine:
                writer.WriteString("type", "Affine");
                writer.WriteNumber("logScaleBound", affine.LogScaleBound);
                break;
            case RationalQuadraticTransform<T> spline:
                writer.WriteString("type", "RationalQuadratic");
                writer.WriteNumber("binCount", spline.BinCount);
                writer.WriteNumber("tailBound", spline.TailBound);
                writer.WriteNumber("minimumBinWidth", spline.MinimumBinWidth);
                writer.WriteNumber("minimumBinHeight", spline.MinimumBinHeight);
                writer.WriteNumber("minimumDerivative", spline.MinimumDerivative);
                break;
            default:
                throw new NotSupportedException($"The transform {transform} has no saved form.");
        }

        writer.WriteEndObject();
    }

    public static IConditionalTransform<T> Read<T>(JsonScope scope) where T : unmanaged, IFloatingPointIeee754<T>
    {
        string type = scope.String("type");
        IConditionalTransform<T> transform;
        try
        {
            transform = type switch
            {
                "Affine" => new AffineTransform<T>(scope.Double("logScaleBound")),
                "RationalQuadratic" => new RationalQuadraticTransform<T>(
                    scope.Int32("binCount", minimum: 1),
                    scope.Double("tailBound"),
                    scope.Double("minimumBinWidth"),
                    scope.Double("minimumBinHeight"),
                    scope.Double("minimumDerivative")),
                _ => throw JsonScope.Error($"{scope.Path}.type", $"unknown transform type \"{type}\""),
            };
        }
        catch (ArgumentException e)
        {
            throw JsonScope.Error(scope.Path, e.Message);
        }

        scope.EnsureAllRead();
        return transform;
    }
}
