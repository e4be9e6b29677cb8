using System.Numerics;
using System.Numerics.Tensors;
using Flows.Autodiff;
using Flows.Bijectors;
using Flows.Distributions;
using Flows.Numerics;

namespace Flows.Training;

/// <summary>
/// The mean negative log-likelihood of a minibatch and its gradient, computed data-parallel: the batch is cut into
/// blocks of <see cref="BlockRows"/> rows, each block runs forward and backward on its own tape with its own gradient
/// buffers on whichever thread takes it, and the blocks' losses and gradients are summed in block order.
/// </summary>
/// <remarks>
/// <para>Most of the sum is formed as the blocks run (<see cref="BlockOrderedGradients{T}"/>): a block whose turn it
/// is adds its linear weights' gradients straight into the parameters' own, so on one thread the weights need neither
/// the blocks' buffers nor the reduction, and on several the reduction adds only what ran beside an earlier block.</para>
/// <para>The partition depends only on the batch's rows, never on the thread count, and every sum runs in block order:
/// the same batch gives the same loss and gradient bits with 1, 2 or 64 threads. A split batch's loss is
/// Σ_b (−Σ_{i∈b} log p(x_i) / n) rather than −mean over the whole batch, which differs from the single pass in the
/// last bits; a batch of at most <see cref="BlockRows"/> rows, or a flow that is not split (below), is one block and
/// computed exactly as a single pass.</para>
/// <para>Not split (one block): a flow with a <see cref="BatchNorm{T}"/> that trains (its batch statistics are over the
/// whole batch), one whose layer draws random numbers as it evaluates (their order would depend on the blocks), and one
/// with a data-initialized layer still to initialize (it would initialize from the first block).</para>
/// <para>With fewer blocks than threads, each block's large matrix products split their rows among its share of the
/// threads left (<see cref="KernelParallelism"/>), with the same bits.</para>
/// </remarks>
internal sealed class DataParallelGradient<T> : IParallelWork where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Rows per block: a batch of 256 gives 2 blocks, one of 1,024 gives 8. A block that runs beside an
    /// earlier one costs its share of the reduction, one read and one write per parameter, against 6 × 128 flops per
    /// parameter of its forward and backward passes; 64-row blocks would double that share and the blocks (the
    /// threads) a batch offers. At most <see cref="Gemm.KC"/>: a weight's gradient in a larger block would be several
    /// additions to C, which only the reduction could sum in block order.</summary>
    public const int BlockRows = 128;

    // Elements of a parameter reduced at a time: the running sum stays in L1 while every block's share is added.
    private const int ReductionTile = 2048;

    private readonly TransformedDistribution<T> _flow;
    private readonly IReadOnlyList<Parameter<T>> _parameters;
    private readonly BatchNorm<T>[] _batchNorms;
    private readonly Reduction _reduction;
    private readonly FlowMatching<T>? _flowMatching;
    private readonly MaskedWeightProducts<T> _maskedWeights = new();
    private readonly BlockOrderedGradients<T> _ordered;
    private Tape<T>[] _tapes = [];
    private T[] _blockLoss = [];
    private T[] _logDensity = [];
    private T[] _data = [];
    private T[]? _context;
    private int _firstRow;
    private int _rows;
    private int _blocks;
    private int _kernelDegree;

    /// <summary>Creates the gradient of the mean negative log-likelihood, or with <paramref name="flowMatching"/> that of
    /// the flow-matching loss (its draws for the batch made by the caller first).</summary>
    public DataParallelGradient(TransformedDistribution<T> flow, FlowMatching<T>? flowMatching = null)
    {
        _flow = flow;
        _flowMatching = flowMatching;
        _parameters = flow.Parameters;
        _batchNorms = [.. flow.Layers.Layers.Select(l => l.Layer).OfType<BatchNorm<T>>()];
        _reduction = new Reduction(this);
        _ordered = new BlockOrderedGradients<T>(_parameters);
    }

    /// <summary>The log-density of each row of the last batch.</summary>
    public ReadOnlySpan<T> LogDensity => _logDensity.AsSpan(0, _rows);

    /// <summary>
    /// Sets every parameter's gradient to that of the mean negative log-likelihood of rows
    /// [<paramref name="firstRow"/>, firstRow + <paramref name="rows"/>) of <paramref name="data"/> and returns the loss.
    /// </summary>
    /// <param name="data">Row-major data, Dimension values a row.</param>
    /// <param name="context">Row-major contexts, ContextDimension values a row, or null when unconditional.</param>
    /// <param name="firstRow">The batch's first row.</param>
    /// <param name="rows">The batch's rows. Range: ≥ 1.</param>
    /// <param name="maxDegreeOfParallelism">Threads at most.</param>
    public T Run(T[] data, T[]? context, int firstRow, int rows, int maxDegreeOfParallelism)
    {
        _data = data;
        _context = context;
        _firstRow = firstRow;
        _rows = rows;
        _blocks = Splits() ? (rows + BlockRows - 1) / BlockRows : 1;
        _kernelDegree = KernelParallelism.ShareOf(maxDegreeOfParallelism, _blocks);
        Ensure(_blocks, rows);

        for (int p = 0; p < _parameters.Count; p++)
        {
            _parameters[p].ZeroGradients();
        }

        _maskedWeights.NextStep(maxDegreeOfParallelism);
        _ordered.Start(_tapes, _blocks);
        for (int b = 0; b < _blocks; b++)
        {
            // One block is the single pass: its gradients are the parameters' own, with nothing to sum.
            _tapes[b].OrderedGradients = _blocks > 1 ? _ordered : null;
        }

        ParallelLoop.For(this, _blocks, maxDegreeOfParallelism);
        if (_blocks > 1)
        {
            ParallelLoop.For(_reduction, _parameters.Count, maxDegreeOfParallelism);
        }

        T loss = T.Zero;
        for (int b = 0; b < _blocks; b++)
        {
            loss += _blockLoss[b];
        }

        _data = [];
        _context = null;
        return loss;
    }

    void IParallelWork.Run(int index, int worker)
    {
        // Fewer blocks than threads (a batch of at most 128 rows, or a flow that is not split, is one): the blocks'
        // products share the threads left.
        using KernelParallelism.Scope kernels = KernelParallelism.Enter(_kernelDegree);
        Tape<T> tape = _tapes[index];
        tape.Reset();
        tape.ZeroOwnGradients();
        int d = _flow.Dimension;
        int c = _flow.ContextDimension;
        int start = index * BlockRows;
        int rows = _blocks == 1 ? _rows : Math.Min(BlockRows, _rows - start);
        int first = _firstRow + start;
        Node<T> x = tape.Constant(_data.AsSpan(first * d, rows * d), rows, d);
        Node<T>? context = _context is null || c == 0 ? null : tape.Constant(_context.AsSpan(first * c, rows * c), rows, c);
        if (_flowMatching is not null)
        {
            // The flow-matching loss; each row's negated squared error stands in for its log-density (worst rows lowest).
            Node<T> blockLoss = _flowMatching.BlockLoss(tape, _data.AsSpan(first * d, rows * d), context, start, rows, _rows, _logDensity.AsSpan(start, rows));
            _blockLoss[index] = blockLoss.Values[0];
            tape.Backward(blockLoss);
            return;
        }

        Node<T> logDensity = _flow.DensityLn(tape, x, context);
        logDensity.Values.CopyTo(_logDensity.AsSpan(start, rows));
        // One block is the single pass of old; a block of a split batch contributes its share of the batch mean.
        Node<T> loss = _blocks == 1
            ? tape.Negate(tape.Mean(logDensity))
            : tape.Scale(tape.Sum(logDensity), -T.One / T.CreateTruncating(_rows));
        _blockLoss[index] = loss.Values[0];
        tape.Backward(loss);
    }

    // A BatchNorm splits only when frozen (its running statistics then make its rows independent).
    private bool Splits()
    {
        foreach (BatchNorm<T> batchNorm in _batchNorms)
        {
            if (batchNorm.IsTraining)
            {
                return false;
            }
        }

        return !_flow.Layers.DrawsWhileEvaluating && !_flow.Layers.AnyUninitialized();
    }

    private void Ensure(int blocks, int rows)
    {
        if (_tapes.Length < blocks)
        {
            int old = _tapes.Length;
            Array.Resize(ref _tapes, blocks);
            Array.Resize(ref _blockLoss, blocks);
            for (int b = old; b < blocks; b++)
            {
                _tapes[b] = new Tape<T>(isRecording: true, isTraining: true) { MaskedWeightProducts = _maskedWeights, Block = b };
                // Block 0 accumulates into the parameters' own gradients, the others into their tapes'.
                if (b > 0)
                {
                    _tapes[b].KeepOwnParameterGradients();
                }
            }
        }

        if (_logDensity.Length < rows)
        {
            _logDensity = new T[rows];
        }
    }

    // Adds the blocks that the running sum does not hold yet (blocks 1, 2, … for a parameter outside it, see
    // BlockOrderedGradients) to the parameter's gradient, in block order, so the sum has the same bits on any number of
    // threads; the parameters are shared out among the threads.
    private sealed class Reduction(DataParallelGradient<T> owner) : IParallelWork
    {
        public void Run(int index, int worker)
        {
            Parameter<T> parameter = owner._parameters[index];
            Span<T> gradient = parameter.Gradients;
            int first = Math.Max(1, owner._ordered.Summed(index));
            for (int start = 0; start < gradient.Length && first < owner._blocks; start += ReductionTile)
            {
                int length = Math.Min(ReductionTile, gradient.Length - start);
                Span<T> tile = gradient.Slice(start, length);
                for (int b = first; b < owner._blocks; b++)
                {
                    BlockOrderedGradients<T>.AddOwnGradient(owner._tapes[b], parameter, start, tile);
                }
            }

            // Products added straight into the sum left values outside the mask.
            owner._ordered.StaleOutside(index)?.ZeroOutside(gradient);
        }
    }
}
