using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Distributions;

// The array-level evaluations: rows split into chunks of EvaluationChunkRows, each chunk computed on one tape by
// whichever thread takes it. A chunk's result depends only on its rows, so any number of threads gives the same bits.
public sealed partial class TransformedDistribution<T>
{
    private readonly Lock _jobPoolLock = new();
    private readonly Stack<ChunkJob> _jobPool = new();
    private int? _maxDegreeOfParallelism;

    /// <summary>
    /// The most threads one array-level call on this flow uses (<see cref="DensityLn(ReadOnlySpan{T}, Span{T}, ReadOnlySpan{T})"/>,
    /// <see cref="Sample(Span{T}, Random, ReadOnlySpan{T})"/> and their overloads); null (the default) takes
    /// <see cref="Parallelism.MaxDegreeOfParallelism"/>, 1 runs on the calling thread. Results are the same bits
    /// whatever the value. Range: null or ≥ 1.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public int? MaxDegreeOfParallelism
    {
        get => _maxDegreeOfParallelism;
        set
        {
            Parallelism.CheckOverride(value, nameof(value));
            _maxDegreeOfParallelism = value;
        }
    }

    private enum ContextKind
    {
        None,
        PerRow,
        OneRow,
    }

    // log p for rows × Dimension values, in chunks on up to the flow's degree of threads. The caller has checked shapes.
    private unsafe void DensityLnChunks(ReadOnlySpan<T> x, Span<T> destination, ReadOnlySpan<T> context, ContextKind contextKind, bool checkInitialization)
    {
        int rows = destination.Length;
        EvaluationScope<T> scope = EnterEvaluation(out bool exclusive);
        try
        {
            _layers.CheckParametersFinite("densities");
            if (checkInitialization)
            {
                CheckInitializationData(x, rows);
            }

            // A flow that initializes a layer from its first chunk changes while it scores: that call runs alone and in
            // row order, as before.
            int degree = exclusive ? 1 : Parallelism.Resolve(_maxDegreeOfParallelism);
            int chunks = (rows + EvaluationChunkRows - 1) / EvaluationChunkRows;
            ChunkJob job = RentJob(ParallelLoop.MaxWorkers(chunks, degree));
            try
            {
                fixed (T* px = x)
                fixed (T* pd = destination)
                fixed (T* pc = context)
                {
                    job.Start(px, pd, pc, rows, contextKind, sampling: false, shareWeights: !exclusive && (chunks > 1 || degree > 1), degree);
                    ParallelLoop.For(job, chunks, degree);
                }
            }
            finally
            {
                ReturnJob(job);
            }
        }
        finally
        {
            scope.Dispose();
        }
    }

    // Samples into rows × Dimension values. The base noise of every chunk is drawn on the calling thread in chunk order,
    // so the caller's Random gives the same numbers whatever the thread count (and as before threads); the bijector's
    // forward pass of each chunk then runs in parallel, a wave of chunks at a time.
    private unsafe void SampleChunks(Span<T> destination, Random random, ReadOnlySpan<T> context, ContextKind contextKind)
    {
        int rows = destination.Length / Dimension;
        EvaluationScope<T> scope = EnterEvaluation(out bool exclusive);
        try
        {
            _layers.CheckParametersFinite("sampling");
            int degree = exclusive ? 1 : Parallelism.Resolve(_maxDegreeOfParallelism);
            int chunks = (rows + EvaluationChunkRows - 1) / EvaluationChunkRows;
            int wave = ParallelLoop.MaxWorkers(chunks, degree);
            ChunkJob job = RentJob(wave);
            try
            {
                fixed (T* pd = destination)
                fixed (T* pc = context)
                {
                    job.Start(null, pd, pc, rows, contextKind, sampling: true, shareWeights: !exclusive && (chunks > 1 || degree > 1), degree);
                    for (int first = 0; first < chunks; first += wave)
                    {
                        int count = Math.Min(wave, chunks - first);
                        job.DrawBase(first, count, random);
                        ParallelLoop.For(job, count, degree);
                    }
                }
            }
            finally
            {
                ReturnJob(job);
            }
        }
        finally
        {
            scope.Dispose();
        }
    }

    // A shared scope, or an exclusive one when a data-initialized layer is still to initialize (checked again once
    // the shared locks are held, since a fit may have reset a layer meanwhile) or a layer draws random numbers as it
    // evaluates (whose draws must keep their order, as before threads).
    private EvaluationScope<T> EnterEvaluation(out bool exclusive)
    {
        exclusive = false;
        if (!_layers.DrawsWhileEvaluating && !_layers.AnyUninitialized())
        {
            var shared = new EvaluationScope<T>(_layers.Flows, exclusive: false);
            if (!_layers.AnyUninitialized())
            {
                return shared;
            }

            shared.Dispose();
        }

        exclusive = true;
        return new EvaluationScope<T>(_layers.Flows, exclusive: true);
    }

    private ChunkJob RentJob(int tapes)
    {
        ChunkJob? job = null;
        lock (_jobPoolLock)
        {
            _jobPool.TryPop(out job);
        }

        job ??= new ChunkJob(this);
        job.EnsureTapes(tapes);
        return job;
    }

    private void ReturnJob(ChunkJob job)
    {
        job.Finish();
        lock (_jobPoolLock)
        {
            _jobPool.Push(job);
        }
    }

    // One call's chunks: the input, output and context as pointers (the call pins them for its duration, so that
    // pool threads can read and write the caller's spans), and the tapes it evaluates on. The masked weights' products
    // W ⊙ M and their packings are formed once per call and read by every chunk's tape, not once per chunk (MAF-64: 2.9 MB
    // formed and packed per MADE per 512-row chunk); each job has its own, so concurrent calls never share them. A job
    // keeps them between calls (about twice the masked weights' size), so the pool holds that much per peak concurrent
    // caller.
    private sealed unsafe class ChunkJob(TransformedDistribution<T> flow) : IParallelWork
    {
        private readonly MaskedWeightProducts<T> _maskedWeights = new();
        private MaskedWeightProducts<T>? _sharedWeights;
        private Tape<T>?[] _tapes = [];
        private Node<T>[] _z = [];
        private Node<T>?[] _contexts = [];
        // With a defensive share in use: each chunk's row choices and the Gaussian's base draws (see SampleWithDefensiveShare).
        private int[]?[] _take = [];
        private Node<T>?[] _zDefensive = [];
        private T* _x;
        private T* _destination;
        private T* _context;
        private int _rows;
        private ContextKind _contextKind;
        private bool _sampling;
        private int _firstChunk;
        private int _kernelDegree;

        public void EnsureTapes(int count)
        {
            if (_tapes.Length < count)
            {
                Array.Resize(ref _tapes, count);
                Array.Resize(ref _z, count);
                Array.Resize(ref _contexts, count);
                Array.Resize(ref _take, count);
                Array.Resize(ref _zDefensive, count);
            }
        }

        // shareWeights: false when the call runs exclusively because a layer initializes from its first chunk, so the
        // weights may change within the call, and for one chunk on one thread, which gains nothing from sharing (on
        // several, the products are formed on all of them here instead of on one by its tape). The packings are made
        // on first use: a density and a sampling call read different ones (MAF sampling reads the products only).
        public void Start(T* x, T* destination, T* context, int rows, ContextKind contextKind, bool sampling, bool shareWeights, int degree)
        {
            _sharedWeights = shareWeights ? _maskedWeights : null;
            _sharedWeights?.NextStep(degree, packAhead: false);
            _x = x;
            _destination = destination;
            _context = context;
            _rows = rows;
            _contextKind = contextKind;
            _sampling = sampling;
            _firstChunk = 0;
            _kernelDegree = KernelParallelism.ShareOf(degree, (rows + EvaluationChunkRows - 1) / EvaluationChunkRows);
        }

        // Draws the base samples of chunks [first, first + count) in order, chunk c on tape c.
        public void DrawBase(int first, int count, Random random)
        {
            _firstChunk = first;
            for (int c = 0; c < count; c++)
            {
                (int start, int rows) = Chunk(first + c);
                Tape<T> tape = _tapes[c] ??= new Tape<T>(isRecording: false);
                tape.Reset();
                tape.MaskedWeightProducts = _sharedWeights;
                Node<T>? context = ContextNode(tape, start, rows);
                _contexts[c] = context;
                // In the order the tape-level sampler draws: row choices, the flow's base draws, the Gaussian's.
                _take[c] = flow.ActiveDefensive is null ? null : flow.DefensiveChoices(rows, random);
                _z[c] = flow.BaseDistribution.SampleWithDensityLn(tape, rows, random, flow._baseTakesContext ? context : null).X;
                _zDefensive[c] = flow.ActiveDefensive?.BaseDistribution.SampleWithDensityLn(tape, rows, random).X;
            }
        }

        public void Run(int index, int worker)
        {
            // Fewer chunks than threads (a call of at most 512 rows is one): the chunks' products share the threads left.
            using KernelParallelism.Scope kernels = KernelParallelism.Enter(_kernelDegree);
            if (_sampling)
            {
                (int start, int rows) = Chunk(_firstChunk + index);
                Tape<T> tape = _tapes[index]!;
                Node<T>? context = _contexts[index];
                Node<T> x = flow.Bijector.Forward(tape, _z[index], flow._bijectorTakesContext ? context : null).Output;
                if (_take[index] is { } take)
                {
                    Node<T> fromGaussian = flow.ActiveDefensive!.Bijector.Forward(tape, _zDefensive[index]!, context).Output;
                    x = tape.GatherRows(tape.ConcatenateRows(x, fromGaussian), take);
                }

                int d = flow.Dimension;
                x.Values.CopyTo(new Span<T>(_destination + ((nint)start * d), rows * d));
            }
            else
            {
                (int start, int rows) = Chunk(index);
                Tape<T> tape = _tapes[worker] ??= new Tape<T>(isRecording: false);
                tape.Reset();
                tape.MaskedWeightProducts = _sharedWeights;
                int d = flow.Dimension;
                Node<T> x = tape.Constant(new ReadOnlySpan<T>(_x + ((nint)start * d), rows * d), rows, d);
                flow.DensityLn(tape, x, ContextNode(tape, start, rows)).Values.CopyTo(new Span<T>(_destination + start, rows));
            }
        }

        // Forgets the caller's pointers and nodes and rewinds the tapes, keeping their buffers for the next call.
        public void Finish()
        {
            _x = null;
            _destination = null;
            _context = null;
            Array.Clear(_z);
            Array.Clear(_contexts);
            Array.Clear(_take);
            Array.Clear(_zDefensive);
            foreach (Tape<T>? tape in _tapes)
            {
                tape?.Reset();
            }

            _sharedWeights = null;
        }

        private (int Start, int Rows) Chunk(int chunk)
        {
            int start = chunk * EvaluationChunkRows;
            return (start, Math.Min(EvaluationChunkRows, _rows - start));
        }

        private Node<T>? ContextNode(Tape<T> tape, int start, int rows)
        {
            int c = flow.ContextDimension;
            return _contextKind switch
            {
                ContextKind.PerRow => tape.Constant(new ReadOnlySpan<T>(_context + ((nint)start * c), rows * c), rows, c),
                ContextKind.OneRow => RepeatedRow(tape, new ReadOnlySpan<T>(_context, c), rows),
                _ => null,
            };
        }
    }
}
