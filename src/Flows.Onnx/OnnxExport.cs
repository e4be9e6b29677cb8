using System.Numerics;
using Flows.Distributions;
using Flows.Export;
using Flows.Onnx.Schema;
using Google.Protobuf;

namespace Flows.Onnx;

/// <summary>Which graphs <see cref="OnnxExport.ExportOnnx{T}"/> writes.</summary>
[Flags]
public enum OnnxGraphs
{
    /// <summary>The log-density graph, data → log p (and z).</summary>
    Density = 1,

    /// <summary>The sampling graph, base draws z → data x (and log p).</summary>
    Sampling = 2,

    /// <summary>Both graphs (the default).</summary>
    Both = Density | Sampling,
}

/// <summary>What <see cref="OnnxExport.ExportOnnx{T}"/> wrote.</summary>
/// <param name="DensityPath">The log-density model's file, or null when it was not asked for.</param>
/// <param name="SamplingPath">The sampling model's file, or null when it was not asked for.</param>
/// <param name="DensityNodeCount">Operator nodes of the log-density graph (0 when not written).</param>
/// <param name="SamplingNodeCount">Operator nodes of the sampling graph (0 when not written).</param>
/// <param name="DensityBytes">Size of the log-density file in bytes (0 when not written).</param>
/// <param name="SamplingBytes">Size of the sampling file in bytes (0 when not written).</param>
public sealed record OnnxExportReport(string? DensityPath, string? SamplingPath, int DensityNodeCount, int SamplingNodeCount,
    long DensityBytes, long SamplingBytes);

/// <summary>
/// Exports a fitted flow as ONNX models that run in ONNX Runtime (or any ONNX runtime of operator set
/// <see cref="Opset"/>): a log-density graph and a sampling graph, each a model file of its own.
/// </summary>
/// <remarks>
/// <para><b>The log-density model</b> (<c>path</c>): inputs <c>x</c>, N × d data, and for a conditional flow
/// <c>context</c>, N × k; outputs <c>log_prob</c>, N log-densities (as <c>DensityLn</c>), and <c>z</c>, N × d, the data
/// mapped to base space (z = T⁻¹(x)).</para>
/// <para><b>The sampling model</b> (<c>path</c> with <c>.sample.onnx</c> in place of <c>.onnx</c>): inputs <c>z</c>, N × d
/// draws of the base distribution (standard normal; drawn by the caller, so the graph is deterministic), and
/// <c>context</c> for a conditional flow; outputs <c>x</c> = T(z) (but see the defensive share below), N × d samples, and <c>log_prob</c>, N, the model's
/// log-density at each sample. With a defensive share ε (a fitted density preset's default) both graphs' <c>log_prob</c>
/// is the mixture's, log((1 − ε) p_flow + ε N), and the sampling model takes one more input, <c>u</c>, N × 1 uniform
/// draws on [0, 1): a row with u &lt; ε is the defensive Gaussian's draw G(z), any other T(z), so the samples are draws
/// of the mixture that <c>Sample</c> draws from.</para>
/// <para>N is symbolic (any batch size); values are float or double as the flow's element type. Unlike the flow's own
/// <c>DensityLn</c>, a graph does not check its inputs: NaN in gives NaN out.</para>
/// <para>Covered: <c>Chain</c>, <c>Inverted</c>, <c>Affine</c>, <c>LowerTriangularAffine</c> (with or without a context),
/// <c>Permutation</c>, <c>LULinear</c>, <c>ActNorm</c> and <c>Standardization</c> (initialized), <c>BatchNorm</c>
/// (evaluation mode), <c>SinhArcsinh</c>, <c>LeakyReLU</c>, the built-in <c>Elementwise</c> functions, <c>ColumnSupports</c>,
/// <c>MaskedAutoregressive</c> with an affine or rational-quadratic transform (the one-pass direction as one MADE pass,
/// the other unrolled over the d features), <c>Coupling</c> and <c>AffineCoupling</c>, <c>Radial</c>, and the forward
/// direction of <c>Planar</c>, <c>Sylvester</c> and <c>InvertibleResidual</c> (with its exact log-determinant: d at most
/// its <c>ExactLogDetMaxDimension</c>, 16 by default), on a
/// <c>StandardNormal</c> base: every preset. Any other bijector or base throws <see cref="NotSupportedException"/> naming
/// it, as does a direction that is solved numerically (the inverses of <c>Planar</c>, <c>Sylvester</c> and
/// <c>InvertibleResidual</c>), an <c>InvertibleResidual</c> whose log-determinant is a stochastic series, and the sampling
/// graph of a flow with a defensive share whose inverse is solved numerically.</para>
/// </remarks>
public static class OnnxExport
{
    /// <summary>The ONNX operator set (default domain) the graphs use.</summary>
    public const int Opset = GraphBuilder.Opset;

    // IR version 8 is the one that goes with operator set 17.
    private const long IrVersion = 8;

    /// <summary>Writes the flow's log-density graph to <paramref name="path"/> and its sampling graph beside it (see the
    /// remarks of <see cref="OnnxExport"/> for their inputs and outputs).</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="flow">A fitted flow (data-initialized layers must be initialized).</param>
    /// <param name="path">The log-density model's file, ending in <c>.onnx</c>; the sampling model goes to the same name
    /// ending in <c>.sample.onnx</c>.</param>
    /// <param name="graphs">Which graphs to write; default both.</param>
    /// <returns>The files written, their node counts and sizes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="flow"/> or <paramref name="path"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> does not end in <c>.onnx</c>, or
    /// <paramref name="graphs"/> names no graph.</exception>
    /// <exception cref="NotSupportedException">A bijector or the base distribution has no ONNX form; a direction asked
    /// for is solved numerically (the inverses of Planar, Sylvester and InvertibleResidual); an InvertibleResidual's
    /// log-determinant is a stochastic series (above its ExactLogDetMaxDimension); or the sampling graph of a flow with a
    /// defensive share needs the flow's inverse and that is solved numerically.</exception>
    /// <exception cref="InvalidOperationException">A data-initialized layer has not been initialized.</exception>
    public static OnnxExportReport ExportOnnx<T>(this TransformedDistribution<T> flow, string path, OnnxGraphs graphs = OnnxGraphs.Both)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(path);
        if (!path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"path '{path}' does not end in .onnx; the sampling model's name is made from it.", nameof(path));
        }

        if ((graphs & OnnxGraphs.Both) == 0)
        {
            throw new ArgumentException($"graphs is {graphs}; ask for Density, Sampling or Both.", nameof(graphs));
        }

        // Both graphs are built before either file is written, so an unsupported part leaves no half export behind.
        ModelProto? density = graphs.HasFlag(OnnxGraphs.Density) ? ToModel(FlowGraphs.Density(flow), "log_density", flow.ToString()) : null;
        ModelProto? sampling = graphs.HasFlag(OnnxGraphs.Sampling) ? ToModel(FlowGraphs.Sampling(flow), "sampling", flow.ToString()) : null;
        string samplingPath = string.Concat(path.AsSpan(0, path.Length - ".onnx".Length), ".sample.onnx");
        long densityBytes = density is null ? 0 : Write(density, path);
        long samplingBytes = sampling is null ? 0 : Write(sampling, samplingPath);
        return new OnnxExportReport(density is null ? null : path, sampling is null ? null : samplingPath,
            density?.Graph.Node.Count ?? 0, sampling?.Graph.Node.Count ?? 0, densityBytes, samplingBytes);
    }

    /// <summary>The log-density model's bytes (see <see cref="ExportOnnx{T}"/>), for callers that keep models in memory.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="flow"/> is null.</exception>
    /// <exception cref="NotSupportedException">A part of the flow has no ONNX form (see <see cref="ExportOnnx{T}"/>).</exception>
    /// <exception cref="InvalidOperationException">A data-initialized layer has not been initialized.</exception>
    public static byte[] ToOnnxDensityModel<T>(this TransformedDistribution<T> flow) where T : unmanaged, IFloatingPointIeee754<T>
        => ToModel(FlowGraphs.Density(flow), "log_density", flow.ToString()).ToByteArray();

    /// <summary>The sampling model's bytes (see <see cref="ExportOnnx{T}"/>).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="flow"/> is null.</exception>
    /// <exception cref="NotSupportedException">A part of the flow has no ONNX form (see <see cref="ExportOnnx{T}"/>).</exception>
    /// <exception cref="InvalidOperationException">A data-initialized layer has not been initialized.</exception>
    public static byte[] ToOnnxSamplingModel<T>(this TransformedDistribution<T> flow) where T : unmanaged, IFloatingPointIeee754<T>
        => ToModel(FlowGraphs.Sampling(flow), "sampling", flow.ToString()).ToByteArray();

    private static long Write(ModelProto model, string path)
    {
        using (FileStream stream = File.Create(path))
        {
            model.WriteTo(stream);
        }

        return new FileInfo(path).Length;
    }

    // Internal so that tests can run a graph of one helper alone in ONNX Runtime.
    internal static ModelProto ToModel(GraphBuilder builder, string name, string description)
    {
        int elementType = builder.IsDouble ? GraphConstant.DoubleType : GraphConstant.FloatType;
        var graph = new GraphProto { Name = name, DocString = description };
        foreach (GraphValue input in builder.Inputs)
        {
            graph.Input.Add(ValueInfo(input, elementType));
        }

        foreach (GraphValue output in builder.Outputs)
        {
            graph.Output.Add(ValueInfo(output, elementType));
        }

        foreach (GraphConstant constant in builder.Constants)
        {
            graph.Initializer.Add(Tensor(constant, builder.IsDouble));
        }

        int index = 0;
        foreach (GraphNode node in builder.Nodes)
        {
            var proto = new NodeProto { OpType = node.OpType, Name = $"{node.OpType}_{index++}" };
            proto.Input.Add(node.Inputs);
            proto.Output.Add(node.Outputs);
            foreach (GraphAttribute attribute in node.Attributes)
            {
                var a = new AttributeProto { Name = attribute.Name };
                if (attribute.Integers is long[] integers)
                {
                    a.Type = AttributeProto.Types.AttributeType.Ints;
                    a.Ints.Add(integers);
                }
                else
                {
                    a.Type = AttributeProto.Types.AttributeType.Int;
                    a.I = attribute.Integer!.Value;
                }

                proto.Attribute.Add(a);
            }

            graph.Node.Add(proto);
        }

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "Flows.Onnx",
            ProducerVersion = typeof(OnnxExport).Assembly.GetName().Version?.ToString() ?? "0",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return model;
    }

    private static ValueInfoProto ValueInfo(GraphValue value, int elementType)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "N" });
        if (value.Columns > 0)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = value.Columns });
        }

        return new ValueInfoProto
        {
            Name = value.Name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elementType, Shape = shape } },
        };
    }

    // Values as little-endian raw bytes, the compact form every ONNX reader takes.
    private static TensorProto Tensor(GraphConstant constant, bool isDouble)
    {
        var tensor = new TensorProto { Name = constant.Name };
        tensor.Dims.Add(constant.Shape);
        if (constant.Integers is long[] integers)
        {
            tensor.DataType = (int)TensorProto.Types.DataType.Int64;
            tensor.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(integers.AsSpan()));
        }
        else if (isDouble)
        {
            tensor.DataType = (int)TensorProto.Types.DataType.Double;
            tensor.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(constant.Values.AsSpan()));
        }
        else
        {
            float[] values = [.. constant.Values!.Select(v => (float)v)];
            tensor.DataType = (int)TensorProto.Types.DataType.Float;
            tensor.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        }

        return tensor;
    }
}
