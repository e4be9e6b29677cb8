using System.Numerics;
using System.Text.Json;
using Flows.Bijectors;

namespace Flows.Persistence;

internal static partial class BijectorFormats<T>
{
    // LULinear saves its fixed permutation; ActNorm its initialized flag (so a loaded layer never re-initializes).
    static partial void RegisterLinearAndNormalizationFamily()
    {
        Register(new BijectorFormat<T>(
            "LULinear",
            typeof(LULinear<T>),
            (b, w, _) => WriteInt32Array(w, "permutation", ((LULinear<T>)b).Permutation),
            (scope, _) => new LULinear<T>(scope.Int32Array("permutation"))));
        Register(new BijectorFormat<T>(
            "ActNorm",
            typeof(ActNorm<T>),
            (b, w, _) =>
            {
                w.WriteNumber("dimension", b.Dimension);
                w.WriteBoolean("initialized", ((ActNorm<T>)b).IsInitialized);
            },
            (scope, _) => new ActNorm<T>(scope.Int32("dimension", minimum: 1)) { IsInitialized = ReadBoolean(scope, "initialized") }));
        Register(new BijectorFormat<T>(
            "BatchNorm",
            typeof(BatchNorm<T>),
            (b, w, _) =>
            {
                var batchNorm = (BatchNorm<T>)b;
                w.WriteNumber("dimension", b.Dimension);
                w.WriteNumber("momentum", batchNorm.Momentum);
                w.WriteNumber("epsilon", batchNorm.Epsilon);
                w.WriteBoolean("training", batchNorm.IsTraining);
                WriteValues(w, "runningMean", batchNorm.RunningMean);
                WriteValues(w, "runningVariance", batchNorm.RunningVariance);
            },
            (scope, _) =>
            {
                int dimension = scope.Int32("dimension", minimum: 1);
                var batchNorm = new BatchNorm<T>(dimension, scope.Double("momentum"), scope.Double("epsilon"))
                {
                    IsTraining = ReadBoolean(scope, "training"),
                };
                ReadValues(scope, "runningMean", dimension).CopyTo(batchNorm.RunningMean);
                T[] variance = ReadValues(scope, "runningVariance", dimension);
                if (variance.Any(v => v < T.Zero))
                {
                    throw JsonScope.Error($"{scope.Path}.runningVariance", "holds a negative variance");
                }

                variance.CopyTo(batchNorm.RunningVariance);
                return batchNorm;
            }));
    }

    internal static bool ReadBoolean(JsonScope scope, string name)
    {
        JsonElement value = scope.Property(name);
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw JsonScope.Error($"{scope.Path}.{name}", $"expected true or false, found {JsonScope.Describe(value)}"),
        };
    }

    // Non-trainable numeric state (running statistics, power-iteration vectors), written in shortest round-trip form.
    internal static void WriteValues(Utf8JsonWriter writer, string name, ReadOnlySpan<T> values)
    {
        writer.WriteStartArray(name);
        foreach (T value in values)
        {
            FlowSerializer.WriteNumber(writer, value);
        }

        writer.WriteEndArray();
    }

    internal static T[] ReadValues(JsonScope scope, string name, int length)
    {
        JsonElement array = scope.Array(name);
        if (array.GetArrayLength() != length)
        {
            throw JsonScope.Error($"{scope.Path}.{name}", $"holds {array.GetArrayLength()} numbers, expected {length}");
        }

        var result = new T[length];
        int i = 0;
        foreach (JsonElement item in array.EnumerateArray())
        {
            result[i] = FlowSerializer.ReadFinite<T>(item, $"{scope.Path}.{name}[{i}]");
            i++;
        }

        return result;
    }
}
