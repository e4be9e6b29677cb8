using System.Globalization;
using System.Numerics;

namespace Flows.Numerics;

/// <summary>
/// Integrates <c>dy/dt = F(t, y)</c> from t₀ to t₁, forwards (t₁ &gt; t₀) or backwards (t₁ &lt; t₀), in place: adaptive
/// Dormand–Prince 5(4) or fixed-step classical Runge–Kutta 4 (<see cref="OdeOptions"/>), and says how many function
/// evaluations it took.
/// </summary>
/// <remarks>
/// <para><b>Dormand–Prince 5(4)</b> (J. R. Dormand and P. J. Prince, "A family of embedded Runge–Kutta formulae", 1980):
/// the fifth-order solution is propagated (local extrapolation), the fourth-order one only estimates the error; the last
/// stage is the derivative at the new point and becomes the first stage of the next step (FSAL). The first step is chosen
/// by Hairer's rule (two evaluations); after each step h ← h · min(5, max(0.2, 0.9 · err^(−1/5))), and after a rejected
/// one the growth is capped at 1. The last step is shortened to land exactly on t₁.</para>
/// <para><b>Runge–Kutta 4</b> takes <see cref="OdeOptions.Steps"/> equal steps, 4 evaluations each; the map it computes
/// is then a fixed smooth function of y₀ (no step-size decisions), and its cost is known in advance.</para>
/// <para>An instance keeps its stage buffers and is reused across solves of the same dimension; it is not thread-safe
/// (use one per thread). Solving allocates nothing.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class OdeSolver<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // Dormand–Prince 5(4) tableau: nodes c, stages a, fifth-order weights b (= the last stage's row), error weights
    // e = b − b* (b* the fourth-order weights).
    private static readonly T C2 = T.CreateTruncating(1.0 / 5), C3 = T.CreateTruncating(3.0 / 10), C4 = T.CreateTruncating(4.0 / 5), C5 = T.CreateTruncating(8.0 / 9);
    private static readonly T A21 = T.CreateTruncating(1.0 / 5);
    private static readonly T A31 = T.CreateTruncating(3.0 / 40), A32 = T.CreateTruncating(9.0 / 40);
    private static readonly T A41 = T.CreateTruncating(44.0 / 45), A42 = T.CreateTruncating(-56.0 / 15), A43 = T.CreateTruncating(32.0 / 9);
    private static readonly T A51 = T.CreateTruncating(19372.0 / 6561), A52 = T.CreateTruncating(-25360.0 / 2187), A53 = T.CreateTruncating(64448.0 / 6561),
        A54 = T.CreateTruncating(-212.0 / 729);
    private static readonly T A61 = T.CreateTruncating(9017.0 / 3168), A62 = T.CreateTruncating(-355.0 / 33), A63 = T.CreateTruncating(46732.0 / 5247),
        A64 = T.CreateTruncating(49.0 / 176), A65 = T.CreateTruncating(-5103.0 / 18656);
    private static readonly T B1 = T.CreateTruncating(35.0 / 384), B3 = T.CreateTruncating(500.0 / 1113), B4 = T.CreateTruncating(125.0 / 192),
        B5 = T.CreateTruncating(-2187.0 / 6784), B6 = T.CreateTruncating(11.0 / 84);
    private static readonly T E1 = T.CreateTruncating(71.0 / 57600), E3 = T.CreateTruncating(-71.0 / 16695), E4 = T.CreateTruncating(71.0 / 1920),
        E5 = T.CreateTruncating(-17253.0 / 339200), E6 = T.CreateTruncating(22.0 / 525), E7 = T.CreateTruncating(-1.0 / 40);

    private readonly T[] _k2, _k3, _k4, _k5, _k6, _stage, _next;
    // Swapped after an accepted step (first same as last), so not readonly.
    private T[] _k1, _k7;
    private readonly T _relative;
    private readonly T _absolute;

    /// <summary>Creates a solver for states of <paramref name="dimension"/> components.</summary>
    /// <param name="options">The scheme and its settings; null for the defaults.</param>
    /// <param name="dimension">Components of the state. Range: &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">The dimension or a setting is out of range.</exception>
    public OdeSolver(OdeOptions? options, int dimension)
    {
        options ??= new OdeOptions();
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        Options = options;
        Dimension = dimension;
        _relative = T.CreateTruncating(options.RelativeTolerance);
        _absolute = T.CreateTruncating(options.AbsoluteTolerance);
        _k1 = new T[dimension];
        _k2 = new T[dimension];
        _k3 = new T[dimension];
        _k4 = new T[dimension];
        _k5 = new T[dimension];
        _k6 = new T[dimension];
        _k7 = new T[dimension];
        _stage = new T[dimension];
        _next = new T[dimension];
    }

    /// <summary>The scheme and its settings.</summary>
    public OdeOptions Options { get; }

    /// <summary>Components of the state.</summary>
    public int Dimension { get; }

    /// <summary>Integrates from <paramref name="t0"/> to <paramref name="t1"/>, replacing y(t₀) by y(t₁).</summary>
    /// <param name="system">F.</param>
    /// <param name="t0">The start. Finite.</param>
    /// <param name="t1">The end. Finite; below t₀ integrates backwards; equal to it does nothing.</param>
    /// <param name="y">y(t₀) in, y(t₁) out; <see cref="Dimension"/> values.</param>
    /// <param name="controlled">How many leading components F reads and the adaptive error norm watches. The rest are
    /// quadratures, ∫ F dt of what F computes from the leading ones: F must not read them (its stages see their values at
    /// the start of the step), and they are only summed with the scheme's weights, which saves the stage combinations of a
    /// long quadrature such as an adjoint's parameter gradient. Default: all. Range: 1 to <see cref="Dimension"/>.</param>
    /// <returns>The evaluations and steps taken.</returns>
    /// <exception cref="ArgumentException"><paramref name="y"/> has the wrong length, or a time is not finite.</exception>
    /// <exception cref="InvalidOperationException">F gave a non-finite value, the step size underflowed, or
    /// <see cref="OdeOptions.MaxSteps"/> steps did not reach t₁; the message gives t, the step and the tolerance.</exception>
    public OdeSolveStatistics Solve(IOdeSystem<T> system, T t0, T t1, Span<T> y, int controlled = -1)
    {
        ArgumentNullException.ThrowIfNull(system);
        if (y.Length != Dimension)
        {
            throw new ArgumentException($"y has {y.Length} values but the solver was built for Dimension {Dimension}.", nameof(y));
        }

        if (!T.IsFinite(t0) || !T.IsFinite(t1))
        {
            throw new ArgumentException($"The interval [{t0}, {t1}] must be finite.", nameof(t1));
        }

        controlled = controlled < 0 ? Dimension : controlled;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(controlled);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(controlled, Dimension);
        if (t0 == t1)
        {
            return default;
        }

        OdeSolveStatistics statistics = Options.Method == OdeMethod.RungeKutta4
            ? SolveRungeKutta4(system, t0, t1, y, controlled)
            : SolveDormandPrince(system, t0, t1, y, controlled);
        // The quadratures are checked once: a non-finite derivative of an accepted step leaves its sum non-finite.
        for (int i = controlled; i < y.Length; i++)
        {
            if (!T.IsFinite(y[i]))
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"The ODE's quadrature component {i} is {y[i]} at t = {t1}; its derivative must be finite."));
            }
        }

        return statistics;
    }

    private OdeSolveStatistics SolveRungeKutta4(IOdeSystem<T> system, T t0, T t1, Span<T> y, int controlled)
    {
        // The stages of the quadratures hold their values at the start (F does not read them).
        y[controlled..].CopyTo(_stage.AsSpan(controlled));
        int n = Options.Steps;
        T h = (t1 - t0) / T.CreateTruncating(n);
        T half = h / T.CreateTruncating(2);
        T sixth = h / T.CreateTruncating(6);
        T two = T.CreateTruncating(2);
        for (int step = 0; step < n; step++)
        {
            // t at step k is t₀ + k h, not an accumulated sum, so the last step ends on t₁ up to one rounding.
            T t = t0 + (T.CreateTruncating(step) * h);
            Evaluate(system, t, y, _k1, controlled);
            Axpy(y[..controlled], half, _k1, _stage);
            Evaluate(system, t + half, _stage, _k2, controlled);
            Axpy(y[..controlled], half, _k2, _stage);
            Evaluate(system, t + half, _stage, _k3, controlled);
            Axpy(y[..controlled], h, _k3, _stage);
            Evaluate(system, t + h, _stage, _k4, controlled);
            for (int i = 0; i < y.Length; i++)
            {
                y[i] += sixth * (_k1[i] + (two * (_k2[i] + _k3[i])) + _k4[i]);
            }

            y[controlled..].CopyTo(_stage.AsSpan(controlled));
        }

        return new OdeSolveStatistics(4 * n, n, 0);
    }

    private OdeSolveStatistics SolveDormandPrince(IOdeSystem<T> system, T t0, T t1, Span<T> y, int controlled)
    {
        T direction = t1 > t0 ? T.One : -T.One;
        T span = T.Abs(t1 - t0);
        int evaluations = 0;
        int accepted = 0;
        int rejected = 0;
        Evaluate(system, t0, y, _k1, controlled);
        evaluations++;
        // The stages and the candidate of the quadratures hold their values at the start of the step (F does not read them).
        Span<T> passive = y[controlled..];
        passive.CopyTo(_stage.AsSpan(controlled));
        passive.CopyTo(_next.AsSpan(controlled));
        T h = InitialStep(system, t0, y, span, direction, controlled);
        evaluations++;
        T t = t0;
        bool lastRejected = false;
        T fifth = T.CreateTruncating(0.2);
        T safety = T.CreateTruncating(0.9);
        T maxFactor = T.CreateTruncating(5);
        T minFactor = T.CreateTruncating(0.2);
        while (true)
        {
            T remaining = T.Abs(t1 - t);
            bool last = h >= remaining;
            if (last)
            {
                h = remaining;
            }

            T step = direction * h;
            ReadOnlySpan<T> read = y[..controlled];
            Stage(read, step, _stage, (A21, _k1));
            Evaluate(system, t + (C2 * step), _stage, _k2, controlled);
            Stage(read, step, _stage, (A31, _k1), (A32, _k2));
            Evaluate(system, t + (C3 * step), _stage, _k3, controlled);
            Stage(read, step, _stage, (A41, _k1), (A42, _k2), (A43, _k3));
            Evaluate(system, t + (C4 * step), _stage, _k4, controlled);
            Stage(read, step, _stage, (A51, _k1), (A52, _k2), (A53, _k3), (A54, _k4));
            Evaluate(system, t + (C5 * step), _stage, _k5, controlled);
            Stage(read, step, _stage, (A61, _k1), (A62, _k2), (A63, _k3), (A64, _k4), (A65, _k5));
            Evaluate(system, t + step, _stage, _k6, controlled);
            for (int i = 0; i < controlled; i++)
            {
                _next[i] = y[i] + (step * ((B1 * _k1[i]) + (B3 * _k3[i]) + (B4 * _k4[i]) + (B5 * _k5[i]) + (B6 * _k6[i])));
            }

            T tNext = last ? t1 : t + step;
            Evaluate(system, tNext, _next, _k7, controlled);
            evaluations += 6;

            T sum = T.Zero;
            for (int i = 0; i < controlled; i++)
            {
                T error = step * ((E1 * _k1[i]) + (E3 * _k3[i]) + (E4 * _k4[i]) + (E5 * _k5[i]) + (E6 * _k6[i]) + (E7 * _k7[i]));
                T scale = _absolute + (_relative * T.Max(T.Abs(y[i]), T.Abs(_next[i])));
                T ratio = error / scale;
                sum += ratio * ratio;
            }

            T norm = T.Sqrt(sum / T.CreateTruncating(controlled));
            if (!T.IsFinite(norm))
            {
                throw Failure("the error estimate is not finite", t, h);
            }

            if (norm <= T.One)
            {
                accepted++;
                _next.AsSpan(0, controlled).CopyTo(y);
                for (int i = controlled; i < y.Length; i++)
                {
                    y[i] += step * ((B1 * _k1[i]) + (B3 * _k3[i]) + (B4 * _k4[i]) + (B5 * _k5[i]) + (B6 * _k6[i]));
                }

                passive.CopyTo(_stage.AsSpan(controlled));
                passive.CopyTo(_next.AsSpan(controlled));
                (_k1, _k7) = (_k7, _k1);
                t = tNext;
                if (last)
                {
                    return new OdeSolveStatistics(evaluations, accepted, rejected);
                }

                T factor = norm == T.Zero ? maxFactor : T.Clamp(safety * T.Pow(norm, -fifth), minFactor, maxFactor);
                h *= lastRejected ? T.Min(T.One, factor) : factor;
                lastRejected = false;
            }
            else
            {
                rejected++;
                lastRejected = true;
                h *= T.Max(minFactor, safety * T.Pow(norm, -fifth));
            }

            if (accepted + rejected >= Options.MaxSteps)
            {
                throw Failure($"{Options.MaxSteps} steps (MaxSteps) did not reach t = {t1}", t, h);
            }

            // A step below 16 ulp of t no longer moves t.
            if (h <= T.CreateTruncating(16) * (T.BitIncrement(T.One) - T.One) * T.Max(T.One, T.Abs(t)) || !T.IsFinite(h))
            {
                throw Failure("the step size underflowed", t, h);
            }
        }
    }

    // Hairer, Nørsett and Wanner's starting step (II.4): an Euler step sized by ‖y‖/‖F‖, then refined by the second
    // derivative estimated from one more evaluation. _k1 holds F(t₀, y₀).
    private T InitialStep(IOdeSystem<T> system, T t0, ReadOnlySpan<T> y, T span, T direction, int controlled)
    {
        T d0 = T.Zero;
        T d1 = T.Zero;
        for (int i = 0; i < controlled; i++)
        {
            T scale = _absolute + (_relative * T.Abs(y[i]));
            d0 += (y[i] / scale) * (y[i] / scale);
            d1 += (_k1[i] / scale) * (_k1[i] / scale);
        }

        T count = T.CreateTruncating(controlled);
        d0 = T.Sqrt(d0 / count);
        d1 = T.Sqrt(d1 / count);
        T small = T.CreateTruncating(1e-5);
        T h0 = d0 < small || d1 < small ? T.CreateTruncating(1e-6) : T.CreateTruncating(0.01) * (d0 / d1);
        h0 = T.Min(h0, span);
        for (int i = 0; i < controlled; i++)
        {
            _stage[i] = y[i] + (direction * h0 * _k1[i]);
        }

        Evaluate(system, t0 + (direction * h0), _stage, _k2, controlled);
        T d2 = T.Zero;
        for (int i = 0; i < controlled; i++)
        {
            T scale = _absolute + (_relative * T.Abs(y[i]));
            T difference = (_k2[i] - _k1[i]) / scale;
            d2 += difference * difference;
        }

        d2 = T.Sqrt(d2 / count) / h0;
        T largest = T.Max(d1, d2);
        T h1 = largest <= T.CreateTruncating(1e-15)
            ? T.Max(T.CreateTruncating(1e-6), h0 * T.CreateTruncating(1e-3))
            : T.Pow(T.CreateTruncating(0.01) / largest, T.CreateTruncating(0.2));
        return T.Min(T.Min(T.CreateTruncating(100) * h0, h1), span);
    }

    // F, and a check that the derivatives F reads are finite (the quadratures' are checked by their sums at the end).
    private static void Evaluate(IOdeSystem<T> system, T t, ReadOnlySpan<T> y, Span<T> derivative, int controlled)
    {
        system.Evaluate(t, y, derivative);
        for (int i = 0; i < controlled; i++)
        {
            if (!T.IsFinite(derivative[i]))
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"The ODE's derivative is {derivative[i]} in component {i} at t = {t}; it must be finite."));
            }
        }
    }

    private static void Axpy(ReadOnlySpan<T> y, T a, ReadOnlySpan<T> k, Span<T> destination)
    {
        for (int i = 0; i < y.Length; i++)
        {
            destination[i] = y[i] + (a * k[i]);
        }
    }

    private static void Stage(ReadOnlySpan<T> y, T h, Span<T> destination, params ReadOnlySpan<(T A, T[] K)> terms)
    {
        for (int i = 0; i < y.Length; i++)
        {
            T sum = T.Zero;
            foreach ((T a, T[] k) in terms)
            {
                sum += a * k[i];
            }

            destination[i] = y[i] + (h * sum);
        }
    }

    private InvalidOperationException Failure(string what, T t, T h) => new(FormattableString.Invariant(
        $"The Dormand–Prince solve failed: {what} at t = {t}, step {h}, with RelativeTolerance {Options.RelativeTolerance:G3} and AbsoluteTolerance {Options.AbsoluteTolerance:G3}. Loosen the tolerances, raise MaxSteps, or use RungeKutta4."));
}
