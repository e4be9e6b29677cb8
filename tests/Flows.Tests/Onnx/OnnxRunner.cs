using System.Numerics;
using Microsoft.ML.OnnxRuntime;

namespace Flows.Tests.Onnx;

/// <summary>Runs an ONNX model in ONNX Runtime's CPU provider on row-major batches.</summary>
internal static class OnnxRunner
{
    /// <summary>Runs <paramref name="model"/> on the named N × columns inputs and returns every output's values, flat.</summary>
    public static Dictionary<string, T[]> Run<T>(byte[] model, params (string Name, T[,] Values)[] inputs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var options = new SessionOptions();
        using var session = new InferenceSession(model, options);
        var values = new List<OrtValue>();
        try
        {
            foreach ((string _, T[,] batch) in inputs)
            {
                values.Add(OrtValue.CreateTensorValueFromMemory([.. batch.Cast<T>()], [batch.GetLength(0), batch.GetLength(1)]));
            }

            string[] outputNames = [.. session.OutputMetadata.Keys];
            using var runOptions = new RunOptions();
            using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(runOptions, [.. inputs.Select(i => i.Name)], values, outputNames);
            var result = new Dictionary<string, T[]>();
            for (int i = 0; i < outputNames.Length; i++)
            {
                result[outputNames[i]] = outputs[i].GetTensorDataAsSpan<T>().ToArray();
            }

            return result;
        }
        finally
        {
            foreach (OrtValue value in values)
            {
                value.Dispose();
            }
        }
    }
}
