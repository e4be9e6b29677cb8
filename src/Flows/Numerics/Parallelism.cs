using System.Runtime.ExceptionServices;

namespace Flows.Numerics;

/// <summary>
/// The library-wide default degree of parallelism: how many threads one array-level evaluation
/// (<c>DensityLn</c>, <c>Sample</c>) or one fit may use.
/// </summary>
/// <remarks>
/// <para>The default is <see cref="Environment.ProcessorCount"/> (all cores). A flow's own
/// <c>MaxDegreeOfParallelism</c> and <c>FitOptions.MaxDegreeOfParallelism</c> override it for that flow or that fit;
/// 1 runs everything on the calling thread, as the library did before it had threads.</para>
/// <para>Results never depend on the degree: work is split into chunks of fixed size, each chunk is computed the same
/// way on whichever thread runs it, and anything summed over chunks is summed in chunk order.</para>
/// <para><b>No oversubscription.</b> The library counts the threads doing its work process-wide (calling threads and
/// the pool threads helping them). A call asks for helpers only up to the core count minus that number (or up to its
/// own degree, when a degree above the core count is asked for explicitly): when the user's code already runs flows on
/// every core, each call runs on its own thread alone.</para>
/// </remarks>
public static class Parallelism
{
    private static int s_maxDegreeOfParallelism = Environment.ProcessorCount;

    /// <summary>The default maximum number of threads per call or fit. Default <see cref="Environment.ProcessorCount"/>.
    /// Range: ≥ 1.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public static int MaxDegreeOfParallelism
    {
        get => Volatile.Read(ref s_maxDegreeOfParallelism);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            Volatile.Write(ref s_maxDegreeOfParallelism, value);
        }
    }

    /// <summary>The degree a call uses: its own override, or the library default.</summary>
    internal static int Resolve(int? maxDegreeOfParallelism) => maxDegreeOfParallelism ?? MaxDegreeOfParallelism;

    /// <summary>Throws unless an override is null or positive.</summary>
    internal static void CheckOverride(int? value, string name)
    {
        if (value is int degree)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(degree, name);
        }
    }
}

/// <summary>
/// How many threads the matrix products on the current thread may split their rows among: set by the library's parallel
/// work (a block of a training step, a chunk of an evaluation) to that item's share of its call's degree, 1 elsewhere.
/// </summary>
/// <remarks>A step of fewer blocks than threads (a batch of 128 rows is one) leaves threads of its degree idle that its
/// products can use: each of its items gets degree ÷ items of them (<see cref="ShareOf"/>), so a call never uses more
/// threads than its degree. A product then splits only if <see cref="ParallelLoop"/> has a core free (callers whose
/// items run alone are counted too, so user code running flows on every core gets no helpers). Each row of a product is
/// computed the same way on whichever thread takes it, so the degree changes no bit.</remarks>
internal static class KernelParallelism
{
    [ThreadStatic]
    private static int t_degree;

    /// <summary>The degree on this thread: the one entered, else 1.</summary>
    public static int Degree => Math.Max(1, t_degree);

    /// <summary>The threads each of <paramref name="items"/> items of a call of <paramref name="degree"/> may split its
    /// products among: all of them for one item, none beyond its own when the items fill the degree.</summary>
    public static int ShareOf(int degree, int items) => Math.Max(1, degree / Math.Max(1, items));

    /// <summary>Lets products on this thread use up to <paramref name="degree"/> threads until the scope is disposed.</summary>
    public static Scope Enter(int degree)
    {
        int previous = t_degree;
        t_degree = degree;
        return new Scope(previous);
    }

    /// <summary>Restores the degree entered before, when disposed.</summary>
    public readonly struct Scope(int previous) : IDisposable
    {
        /// <summary>Restores the previous degree.</summary>
        public void Dispose() => t_degree = previous;
    }
}

/// <summary>One piece of a parallel loop: <c>Run(index, worker)</c> for each index, worker in [0, degree).</summary>
internal interface IParallelWork
{
    /// <summary>Runs item <paramref name="index"/> on the thread that is worker <paramref name="worker"/> of the loop
    /// (0 is the calling thread; a worker runs its items one at a time).</summary>
    void Run(int index, int worker);
}

/// <summary>
/// A reusable parallel for-loop that allocates nothing once its helpers exist: the calling thread works as worker 0
/// and up to degree − 1 pool threads join it, taking items in turn from a shared counter.
/// </summary>
/// <remarks>
/// <para>Which worker runs which item varies from run to run; callers make results independent of that (per-item
/// outputs, reductions in item order). A helper that has not started when the items run out is cancelled rather than
/// waited for, so a busy pool never delays a call.</para>
/// <para>A helper that has served a run spins (yielding now and then) for up to 0.2 ms for the loop's next run before it
/// returns its pool thread: a step's phases and a split product's calls follow each other closely, and a pool thread
/// woken from sleep can take a good part of a millisecond to start on a virtual machine. The spinning helper is not
/// counted as busy. A loop nested in another's item (a split product) uses a second cached loop object; deeper nesting,
/// which the library does not do, allocates one.</para>
/// </remarks>
internal sealed class ParallelLoop
{
    private const int Queued = 0;
    private const int Running = 1;
    private const int Finished = 2;
    private const int Cancelled = 3;

    // Threads doing the library's parallel work now, process-wide: callers of loops with helpers, the helpers, and
    // callers running a loop's items alone whose products may split (degree above 1).
    private static int s_busy;

    // Above 0 while this thread is counted in s_busy, so a loop nested in its work does not count it again.
    [ThreadStatic]
    private static int t_counted;

    [ThreadStatic]
    private static ParallelLoop? t_loop;

    // A loop started from inside another on the same thread (a matrix product split inside a block of a parallel step).
    [ThreadStatic]
    private static ParallelLoop? t_nestedLoop;

    private Helper[] _helpers = [];
    private IParallelWork? _work;
    private int _count;
    private int _next;
    private volatile bool _failed;
    private ExceptionDispatchInfo? _error;
    private bool _inUse;

    /// <summary>Whether a loop started now with <paramref name="degree"/> on this thread would find a thread to help it
    /// (the library's work does not already fill the cores).</summary>
    public static bool HelperAvailable(int degree)
        => Volatile.Read(ref s_busy) + (t_counted == 0 ? 1 : 0) < Math.Max(Environment.ProcessorCount, degree);

    /// <summary>The number of workers a loop of <paramref name="count"/> items may use at most with <paramref name="degree"/>.</summary>
    public static int MaxWorkers(int count, int degree) => Math.Max(1, Math.Min(count, degree));

    /// <summary>Runs <paramref name="work"/> for every index in [0, <paramref name="count"/>) on up to
    /// <paramref name="degree"/> threads and returns when all have run; the first exception is rethrown.</summary>
    public static void For(IParallelWork work, int count, int degree)
    {
        if (MaxWorkers(count, degree) <= 1)
        {
            // Alone, but with a degree above 1 the items' products may split (KernelParallelism): count this thread, so
            // that callers on every core leave no helpers to take.
            int self = degree > 1 ? CountThisThread() : 0;
            try
            {
                for (int i = 0; i < count; i++)
                {
                    work.Run(i, 0);
                }
            }
            finally
            {
                if (degree > 1)
                {
                    UncountThisThread(self);
                }
            }

            return;
        }

        // One loop object per thread and one for a loop nested in it, reused; deeper nesting gets its own.
        ParallelLoop loop = t_loop is { _inUse: false } cached ? cached
            : t_nestedLoop is { _inUse: false } nested ? nested
            : new ParallelLoop();
        if (t_loop is null)
        {
            t_loop = loop;
        }
        else if (t_nestedLoop is null && loop != t_loop)
        {
            t_nestedLoop = loop;
        }

        loop.Run(work, count, degree);
    }

    private void Run(IParallelWork work, int count, int degree)
    {
        _inUse = true;
        int self = CountThisThread();
        int helpers = ReserveHelpers(Math.Min(degree, count) - 1, Math.Max(Environment.ProcessorCount, degree));
        try
        {
            _work = work;
            _count = count;
            _next = 0;
            _failed = false;
            _error = null;
            if (_helpers.Length < helpers)
            {
                int old = _helpers.Length;
                Array.Resize(ref _helpers, helpers);
                for (int h = old; h < helpers; h++)
                {
                    _helpers[h] = new Helper(this, h + 1);
                }
            }

            for (int h = 0; h < helpers; h++)
            {
                Helper helper = _helpers[h];
                Interlocked.Exchange(ref helper.State, Queued);
                // A helper still lingering after the last run takes this one as it spins. One cancelled by an earlier
                // run may still sit in the pool's queue: that entry will serve this run, so it is not queued again
                // (queued anew, such entries would pile up while the pool is busy).
                if (Volatile.Read(ref helper.Lingering) == 0 && Interlocked.Exchange(ref helper.Pending, 1) == 0)
                {
                    ThreadPool.UnsafeQueueUserWorkItem(helper, preferLocal: false);
                }
            }

            Work(0);
            for (int h = 0; h < helpers; h++)
            {
                if (Interlocked.CompareExchange(ref _helpers[h].State, Cancelled, Queued) == Queued)
                {
                    continue;
                }

                // Started: it is running its last item. Spin and yield, never sleep, as items take milliseconds at most.
                var wait = new SpinWait();
                while (Volatile.Read(ref _helpers[h].State) != Finished)
                {
                    wait.SpinOnce(sleep1Threshold: -1);
                }
            }
        }
        finally
        {
            _work = null;
            Interlocked.Add(ref s_busy, -helpers);
            UncountThisThread(self);
            _inUse = false;
        }

        ExceptionDispatchInfo? error = _error;
        _error = null;
        error?.Throw();
    }

    // Counts this thread in s_busy unless work it is already doing is counted (a loop nested in a counted one, such as a
    // product split inside a block); returns what UncountThisThread takes back.
    private static int CountThisThread()
    {
        int self = t_counted == 0 ? 1 : 0;
        Interlocked.Add(ref s_busy, self);
        t_counted++;
        return self;
    }

    private static void UncountThisThread(int self)
    {
        t_counted--;
        Interlocked.Add(ref s_busy, -self);
    }

    private static int ReserveHelpers(int wanted, int capacity)
    {
        while (true)
        {
            int busy = Volatile.Read(ref s_busy);
            int take = Math.Min(wanted, capacity - busy);
            if (take <= 0)
            {
                return 0;
            }

            if (Interlocked.CompareExchange(ref s_busy, busy + take, busy) == busy)
            {
                return take;
            }
        }
    }

    private void Work(int worker)
    {
        try
        {
            while (!_failed)
            {
                int index = Interlocked.Increment(ref _next) - 1;
                if (index >= _count)
                {
                    return;
                }

                _work!.Run(index, worker);
            }
        }
#pragma warning disable CA1031 // The first failure of any worker is rethrown on the calling thread.
        catch (Exception e)
#pragma warning restore CA1031
        {
            _failed = true;
            Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
        }
    }

    // A helper that has served a run spins this long for the loop's next run before it returns its thread to the pool: a
    // step runs its phases (blocks, reduction, Adam) and a split product its shares as runs in quick succession, and a
    // thread woken from the pool can take a good part of a millisecond to start on a virtual machine.
    private static readonly long LingerTicks = System.Diagnostics.Stopwatch.Frequency / 5_000;

    private sealed class Helper(ParallelLoop loop, int worker) : IThreadPoolWorkItem
    {
        public int State = Finished;

        // 1 while a queue entry of this helper has not started executing.
        public int Pending;

        // 1 while the helper spins for the loop's next run (that run then does not queue it).
        public int Lingering;

        public void Execute()
        {
            Volatile.Write(ref Pending, 0);
            // An entry whose run cancelled it finds the state taken and leaves; one whose run ended and a later run
            // queued the helper again serves that later run.
            if (!TryServe())
            {
                return;
            }

            while (true)
            {
                // Lingering was set before the state said Finished (in TryServe), so no run in between queues a second
                // thread for this helper. Spinning yields now and then, so a thread with work on this core is not kept
                // waiting; a run this helper loses to cancellation does not end the spin.
                long deadline = System.Diagnostics.Stopwatch.GetTimestamp() + LingerTicks;
                var wait = new SpinWait();
                bool served = false;
                while (!served && System.Diagnostics.Stopwatch.GetTimestamp() < deadline)
                {
                    served = Volatile.Read(ref State) == Queued && TryServe();
                    wait.SpinOnce(sleep1Threshold: -1);
                }

                if (served)
                {
                    continue;
                }

                // Cleared before the last look at the state: a run that set it after that look saw Lingering clear and
                // queued the helper (both are full fences, so one of the two sees the other's write).
                Interlocked.Exchange(ref Lingering, 0);
                if (!TryServe())
                {
                    return;
                }
            }
        }

        // Runs the loop's items if this helper is queued for the current run, and then stays lingering.
        private bool TryServe()
        {
            if (Interlocked.CompareExchange(ref State, Running, Queued) != Queued)
            {
                return false;
            }

            // Counted in s_busy by the run that reserved it.
            t_counted++;
            try
            {
                loop.Work(worker);
            }
            finally
            {
                t_counted--;
            }

            Interlocked.Exchange(ref Lingering, 1);
            Volatile.Write(ref State, Finished);
            return true;
        }
    }
}
