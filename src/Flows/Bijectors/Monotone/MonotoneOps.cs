using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>
/// The generic monotone transform: a strictly increasing f(x; θ) on [−B, B] (an <see cref="IMonotoneFunction{T}"/>),
/// extended linearly outside with its boundary slopes, applied elementwise with per-row parameters. The direction
/// data → base is f itself; base → data is its bracketed numerical inverse, differentiated by the implicit function
/// theorem.
/// </summary>
/// <remarks>
/// <para><b>Tails.</b> For x &gt; B, F(x) = f(B) + f′(B)(x − B), and likewise below −B, so F is C¹ and grows linearly:
/// a polynomial would otherwise turn one far row into an astronomically small density, and its inverse is closed-form
/// there.</para>
/// <para><b>Inverse.</b> For f(−B) ≤ y ≤ f(B) the root of f(x) = y lies in [−B, B]; it is found by Newton's method
/// safeguarded by bisection (<see cref="SafeguardedNewton"/>: <c>rtsafe</c>, Press et al., "Numerical Recipes", 3rd ed.,
/// §9.4, with a second safeguard against Newton's 2-cycles), started from the linear interpolation between the ends, stopping when a step is at
/// most <see cref="Tolerance{T}"/>·(1 + |x|), 4 ulp: far inside the 1e-12 the issue asks of double, and tight enough
/// that central differences of a sampled point (step 1e-6) see no solver noise. The root stays bracketed, so a last
/// bisection step bounds the error by the step, and a last Newton step (quadratic convergence) bounds it far below; once
/// the bracket's ends are adjacent numbers the step is 0, so the solve ends even where rounding keeps f from reaching the
/// target exactly (at most about 60 bisections from [−B, B] in double). A solve that does not converge within
/// <see cref="SafeguardedNewton.MaxIterations"/> iterations throws, naming the row, the residual and the tolerance.</para>
/// <para><b>Gradients of the inverse</b> (implicit function theorem): with x = F⁻¹(y; θ), ∂x/∂y = 1/F′(x) and
/// ∂x/∂θ = −(∂F/∂θ)/F′(x); its log-derivative −log F′(x(y, θ); θ) is differentiated through both, so the backward pass
/// needs only F, F′, ∂F/∂θ and the partials of log F′ at the solution. No iteration is differentiated.</para>
/// </remarks>
internal static class MonotoneOps
{
    /// <summary>Applies the transform of <paramref name="function"/>, F (data → base) or F⁻¹ (base → data).</summary>
    /// <param name="tape">The tape.</param>
    /// <param name="input">n × d.</param>
    /// <param name="parameters">n × (P·d), or a 1 × (P·d) row shared by every row; column p·d + j is θ_p of feature j.</param>
    /// <param name="function">The monotone map.</param>
    /// <param name="state">The same function, boxed once by its owner: what the backward pass reads.</param>
    /// <param name="solve">True for F⁻¹ (numerical), false for F.</param>
    /// <param name="name">The operation's name for a solver failure.</param>
    /// <returns>The n × d output and the n × 1 log|det J| of the direction that ran.</returns>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    /// <exception cref="InvalidOperationException">A numerical inverse did not converge.</exception>
    public static (Node<T> Output, Node<T> LogDet) Monotone<T, TFunction>(this Tape<T> tape, Node<T> input, Node<T> parameters,
        TFunction function, object state, bool solve, string name)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TFunction : struct, IMonotoneFunction<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(parameters);
        CheckParameters(input, parameters, function.ParameterCount);
        int n = input.Rows;
        int d = input.Columns;
        int p = function.ParameterCount;
        Node<T> output = tape.Allocate(n, d);
        Node<T> logDet = tape.Allocate(n, 1);
        Node<T> logDerivatives = tape.Allocate(n, d);
        Span<T> theta = p <= 256 ? stackalloc T[p] : new T[p];
        T tolerance = Tolerance<T>();
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < d; j++)
            {
                Gather(parameters, i, j, d, theta);
                T value = input.Values[(i * d) + j];
                T result;
                T logDerivative;
                if (solve)
                {
                    (result, T derivative) = Solve(function, theta, value, tolerance, i, name);
                    logDerivative = -T.Log(derivative);
                }
                else
                {
                    (result, T derivative) = Extended(function, theta, value);
                    logDerivative = T.Log(derivative);
                }

                output.Values[(i * d) + j] = result;
                logDerivatives.Values[(i * d) + j] = logDerivative;
            }
        }

        // Summed in column order from zero (IConditionalTransform.SumLogDerivatives' default), as MaskedAutoregressive's
        // sequential pass sums the columns it transforms one at a time.
        Kernels.RowSumsInColumnOrder<T>(logDerivatives.Values, d, logDet.Values);

        tape.Record(MonotoneBackward<T, TFunction>.Instance, output, input, parameters, output1: logDet, flag: solve ? 1 : 0, state: state);
        return (output, logDet);
    }

    /// <summary>Checks that <paramref name="parameters"/> holds <paramref name="p"/> parameters per feature for each row of
    /// <paramref name="input"/>, or one row of them for all.</summary>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    internal static void CheckParameters<T>(Node<T> input, Node<T> parameters, int p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = input.Rows;
        int d = input.Columns;
        if (parameters.Columns != p * d || (parameters.Rows != n && parameters.Rows != 1))
        {
            throw new ArgumentException(
                $"parameters is {parameters.Rows} × {parameters.Columns}; {p} parameters on {d} features need {n} (or 1) × {p * d}.",
                nameof(parameters));
        }
    }

    /// <summary>The relative step tolerance of the inverse: 4 ulp of 1 (8.9e-16 in double, 4.8e-7 in float).</summary>
    public static T Tolerance<T>() where T : unmanaged, IFloatingPointIeee754<T>
        => T.CreateTruncating(4) * (T.One - T.BitDecrement(T.One));

    /// <summary>F(x) and F′(x): f on [−B, B], its boundary tangents outside; NaN stays NaN.</summary>
    internal static (T Value, T Derivative) Extended<T, TFunction>(TFunction function, ReadOnlySpan<T> theta, T x)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TFunction : struct, IMonotoneFunction<T>
    {
        T bound = function.Bound;
        if (x > bound || x < -bound)
        {
            T end = x > bound ? bound : -bound;
            (T value, T derivative) = function.Evaluate(end, theta);
            return (value + (derivative * (x - end)), derivative);
        }

        return function.Evaluate(x, theta);
    }

    /// <summary>x = F⁻¹(y) and F′(x) (see the class remarks).</summary>
    /// <exception cref="InvalidOperationException">The bracketed solve did not converge.</exception>
    internal static (T Root, T Derivative) Solve<T, TFunction>(TFunction function, ReadOnlySpan<T> theta, T y, T tolerance, int row, string name)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TFunction : struct, IMonotoneFunction<T>
    {
        if (T.IsNaN(y))
        {
            return (y, T.NaN);
        }

        T bound = function.Bound;
        (T low, T lowSlope) = function.Evaluate(-bound, theta);
        (T high, T highSlope) = function.Evaluate(bound, theta);
        if (y > high)
        {
            return (bound + ((y - high) / highSlope), highSlope);
        }

        if (y < low)
        {
            return (-bound + ((y - low) / lowSlope), lowSlope);
        }

        // Started from the linear interpolation between the ends; g(−B) ≤ 0 ≤ g(B) here.
        T start = high > low ? T.Clamp(-bound + ((bound + bound) * (y - low) / (high - low)), -bound, bound) : T.Zero;
        if (!SafeguardedNewton.TrySolve(new Equation<T, TFunction>(function, theta, y), -bound, bound, start, tolerance,
            SafeguardedNewton.MaxIterations, out T root, out T residual))
        {
            throw TanhRootSolver.NotConverged(name, row, residual, tolerance);
        }

        return (root, function.Evaluate(root, theta).Derivative);
    }

    // g(x) = f(x) − y and g′(x) = f′(x) on [−B, B], for the shared safeguarded Newton loop.
    private readonly ref struct Equation<T, TFunction> : IScalarEquation<T>
        where T : unmanaged, IFloatingPointIeee754<T>
        where TFunction : struct, IMonotoneFunction<T>
    {
        private readonly TFunction _function;
        private readonly ReadOnlySpan<T> _theta;
        private readonly T _y;

        public Equation(TFunction function, ReadOnlySpan<T> theta, T y)
        {
            _function = function;
            _theta = theta;
            _y = y;
        }

        public (T Value, T Slope) Evaluate(T x)
        {
            (T value, T slope) = _function.Evaluate(x, _theta);
            return (value - _y, slope);
        }
    }

    /// <summary>θ of feature <paramref name="feature"/> in row <paramref name="row"/> (or the shared row): columns k·d + feature.</summary>
    internal static void Gather<T>(Node<T> parameters, int row, int feature, int d, Span<T> theta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ReadOnlySpan<T> source = parameters.Values.Slice((parameters.Rows == 1 ? 0 : row) * parameters.Columns, parameters.Columns);
        for (int k = 0; k < theta.Length; k++)
        {
            theta[k] = source[(k * d) + feature];
        }
    }

    private static class MonotoneBackward<T, TFunction>
        where T : unmanaged, IFloatingPointIeee754<T>
        where TFunction : struct, IMonotoneFunction<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Per element, with a = ∂L/∂output and l = ∂L/∂logDet of the row (verified against central differences by the
        // property suite and MonotoneTests):
        //   F (data → base), inside: ∂x += a·f′ + l·∂log f′/∂x; θ += a·∂f/∂θ + l·∂log f′/∂θ.
        //   F, tail x > B (or < −B, e = ±B): ∂x += a·f′(e); θ += a·∂f(e)/∂θ + (a·(x − e)·f′(e) + l)·∂log f′(e)/∂θ.
        //   F⁻¹ (base → data), output x, log-det −log f′(x): with c = a − l·∂log f′/∂x, ∂y += c/f′ and
        //   θ += −(c/f′)·∂f/∂θ − l·∂log f′/∂θ (implicit function theorem).
        //   F⁻¹, tail: x = e + (y − f(e))/f′(e): ∂y += a/f′(e); θ += −(a/f′(e))·∂f(e)/∂θ − (a·(x − e) + l)·∂log f′(e)/∂θ.
        private static void Run(in TapeEntry<T> e)
        {
            var function = (TFunction)e.State!;
            Node<T> input = e.Input0;
            Node<T> parameters = e.Input1!;
            bool solve = e.Flag != 0;
            int n = input.Rows;
            int d = input.Columns;
            int p = function.ParameterCount;
            T bound = function.Bound;
            bool inputGradient = input.RequiresGradient;
            bool parameterGradient = parameters.RequiresGradient;
            Span<T> theta = p <= 256 ? stackalloc T[p] : new T[p];
            Span<T> thetaGradient = p <= 256 ? stackalloc T[p] : new T[p];
            Span<T> discard = p <= 256 ? stackalloc T[p] : new T[p];
            ReadOnlySpan<T> outputGradients = e.Output.Gradients;
            ReadOnlySpan<T> logDetGradients = e.Output1!.Gradients;
            for (int i = 0; i < n; i++)
            {
                T l = logDetGradients[i];
                for (int j = 0; j < d; j++)
                {
                    Gather(parameters, i, j, d, theta);
                    thetaGradient.Clear();
                    T a = outputGradients[(i * d) + j];
                    T x = solve ? e.Output.Values[(i * d) + j] : input.Values[(i * d) + j];
                    T inputGradientValue;
                    if (x > bound || x < -bound)
                    {
                        T end = x > bound ? bound : -bound;
                        if (solve)
                        {
                            T slope = function.Evaluate(end, theta).Derivative;
                            function.Backpropagate(end, theta, -a / slope, -((a * (x - end)) + l), thetaGradient);
                            inputGradientValue = a / slope;
                        }
                        else
                        {
                            T slope = function.Evaluate(end, theta).Derivative;
                            function.Backpropagate(end, theta, a, (a * (x - end) * slope) + l, thetaGradient);
                            inputGradientValue = a * slope;
                        }
                    }
                    else if (solve)
                    {
                        discard.Clear();
                        (T slope, T logSlope) = function.Backpropagate(x, theta, T.Zero, T.Zero, discard);
                        T c = (a - (l * logSlope)) / slope;
                        function.Backpropagate(x, theta, -c, -l, thetaGradient);
                        inputGradientValue = c;
                    }
                    else
                    {
                        (T slope, T logSlope) = function.Backpropagate(x, theta, a, l, thetaGradient);
                        inputGradientValue = (a * slope) + (l * logSlope);
                    }

                    if (inputGradient)
                    {
                        input.Gradients[(i * d) + j] += inputGradientValue;
                    }

                    if (parameterGradient)
                    {
                        Span<T> target = parameters.Gradients.Slice((parameters.Rows == 1 ? 0 : i) * parameters.Columns, parameters.Columns);
                        for (int k = 0; k < p; k++)
                        {
                            target[(k * d) + j] += thetaGradient[k];
                        }
                    }
                }
            }
        }
    }
}
