using System.Numerics;
using Flows.Autodiff;

namespace CustomBijector;

/// <summary>
/// The two fused operations of <see cref="TanhWarp{T}"/>, each with its backward pass beside it: one tape entry per
/// layer and direction instead of a dozen elementwise ones, and an inverse that no composition of tape operations could
/// express (it is solved numerically, then differentiated by the implicit function theorem).
/// </summary>
/// <remarks>
/// Implementation notes. Per element, with t = tanh z, u = 1 − t², a = exp(ρ) − 1 and D = 1 + a·u = ∂x/∂z &gt; 0:
/// <code>
/// forward   x = z + a·t                  ∂x/∂z = D                  ∂x/∂ρ = exp(ρ)·t
///           ℓ = log D                    ∂ℓ/∂z = −2a·t·u / D        ∂ℓ/∂ρ = exp(ρ)·u / D
/// inverse   z solves x = z + a·t         ∂z/∂x = 1 / D              ∂z/∂ρ = −exp(ρ)·t / D
///           ℓ = −log D(z)                dℓ/dx = 2a·t·u / D²        dℓ/dρ = −exp(ρ)·u / D − 2a·exp(ρ)·t²·u / D²
/// </code>
/// using ∂u/∂z = −2t·u and, for the inverse, the chain rule through z(x, ρ). Each layer's log-det is the row sum of ℓ,
/// so its gradient gᵢ (one per row) multiplies every element of row i. ρ is a 1 × d row broadcast over the rows, so its
/// gradient sums over them. Program.cs checks every formula against central differences.
/// </remarks>
internal static class TanhWarpOps
{
    // Newton converges in a handful of steps; bisection alone would need about 60 to exhaust a double's bracket.
    private const int MaxIterations = 100;

    /// <summary>x = z + a ⊙ tanh(z) and its log|det J| per row.</summary>
    public static (Node<T> Output, Node<T> LogDet) Forward<T>(Tape<T> tape, Node<T> z, Node<T> logSlope)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = z.Rows;
        int d = z.Columns;
        Node<T> x = tape.Allocate(n, d);
        Node<T> logDet = tape.Allocate(n, 1);
        Node<T> tanh = tape.Allocate(n, d); // tanh(z), saved so that the backward pass need not recompute it
        ReadOnlySpan<T> zv = z.Values;
        ReadOnlySpan<T> rho = logSlope.Values;
        Span<T> xv = x.Values;
        Span<T> tv = tanh.Values;
        for (int i = 0; i < n; i++)
        {
            T sum = T.Zero;
            for (int j = 0; j < d; j++)
            {
                int k = (i * d) + j;
                T a = T.ExpM1(rho[j]); // exp(ρ) − 1 without cancellation near the identity
                T t = T.Tanh(zv[k]);
                tv[k] = t;
                xv[k] = zv[k] + (a * t);
                sum += T.LogP1(a * (T.One - (t * t)));
            }

            logDet.Values[i] = sum;
        }

        tape.Record(ForwardBackward<T>.Instance, x, z, logSlope, output1: logDet, saved: tanh);
        return (x, logDet);
    }

    /// <summary>z solving x = z + a ⊙ tanh(z), and its log|det J| per row (the negative of the forward one at z).</summary>
    public static (Node<T> Output, Node<T> LogDet) Inverse<T>(Tape<T> tape, Node<T> x, Node<T> logSlope)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Rows;
        int d = x.Columns;
        Node<T> z = tape.Allocate(n, d);
        Node<T> logDet = tape.Allocate(n, 1);
        Node<T> tanh = tape.Allocate(n, d);
        ReadOnlySpan<T> xv = x.Values;
        ReadOnlySpan<T> rho = logSlope.Values;
        Span<T> zv = z.Values;
        Span<T> tv = tanh.Values;
        for (int i = 0; i < n; i++)
        {
            T sum = T.Zero;
            for (int j = 0; j < d; j++)
            {
                int k = (i * d) + j;
                T a = T.ExpM1(rho[j]);
                zv[k] = Solve(xv[k], a);
                T t = T.Tanh(zv[k]);
                tv[k] = t;
                sum -= T.LogP1(a * (T.One - (t * t)));
            }

            logDet.Values[i] = sum;
        }

        tape.Record(InverseBackward<T>.Instance, z, x, logSlope, output1: logDet, saved: tanh);
        return (z, logDet);
    }

    // z + a·tanh(z) = x. The left side is strictly increasing (slope ≥ min(1, 1 + a) > 0) and |z − x| ≤ |a| because
    // |tanh| ≤ 1, so the root lies in [x − |a|, x + |a|]. Newton from x; a step that would leave the bracket (or a NaN)
    // is replaced by bisection, so the iteration cannot diverge.
    private static T Solve<T>(T x, T a) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T tolerance = T.CreateTruncating(4) * (T.BitIncrement(T.One) - T.One);
        T lower = x - T.Abs(a);
        T upper = x + T.Abs(a);
        T z = x;
        for (int iteration = 0; iteration < MaxIterations; iteration++)
        {
            T t = T.Tanh(z);
            T residual = z + (a * t) - x;
            if (residual == T.Zero)
            {
                return z;
            }

            if (residual > T.Zero)
            {
                upper = z;
            }
            else
            {
                lower = z;
            }

            T next = z - (residual / (T.One + (a * (T.One - (t * t)))));
            if (!(next > lower && next < upper))
            {
                next = (lower + upper) / T.CreateTruncating(2);
            }

            if (T.Abs(next - z) <= tolerance * (T.One + T.Abs(z)))
            {
                return next;
            }

            z = next;
        }

        return z;
    }

    private static class ForwardBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Created once per element type: recording a layer allocates nothing.
        public static readonly Backward<T> Instance = Run;

        // gz += gx·D + gℓ·(−2a·t·u / D);  gρ += gx·exp(ρ)·t + gℓ·exp(ρ)·u / D. Accumulate, never assign.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> z = e.Input0;
            Node<T> logSlope = e.Input1!;
            bool needZ = z.RequiresGradient;
            bool needRho = logSlope.RequiresGradient;
            ReadOnlySpan<T> gx = e.Output.Gradients;
            ReadOnlySpan<T> gl = e.Output1!.Gradients;
            ReadOnlySpan<T> tv = e.Saved!.Values;
            ReadOnlySpan<T> rho = logSlope.Values;
            Span<T> gz = needZ ? z.Gradients : default;
            Span<T> grho = needRho ? logSlope.Gradients : default;
            T two = T.CreateTruncating(2);
            int d = z.Columns;
            for (int i = 0; i < z.Rows; i++)
            {
                for (int j = 0; j < d; j++)
                {
                    int k = (i * d) + j;
                    T slope = T.Exp(rho[j]);
                    T a = T.ExpM1(rho[j]);
                    T t = tv[k];
                    T u = T.One - (t * t);
                    T derivative = T.One + (a * u);
                    if (needZ)
                    {
                        gz[k] += (gx[k] * derivative) - (gl[i] * two * a * t * u / derivative);
                    }

                    if (needRho)
                    {
                        grho[j] += (gx[k] * slope * t) + (gl[i] * slope * u / derivative);
                    }
                }
            }
        }
    }

    private static class InverseBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // gx += gz / D + gℓ·2a·t·u / D²;  gρ −= gz·exp(ρ)·t / D + gℓ·(exp(ρ)·u / D + 2a·exp(ρ)·t²·u / D²).
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> x = e.Input0;
            Node<T> logSlope = e.Input1!;
            bool needX = x.RequiresGradient;
            bool needRho = logSlope.RequiresGradient;
            ReadOnlySpan<T> gz = e.Output.Gradients;
            ReadOnlySpan<T> gl = e.Output1!.Gradients;
            ReadOnlySpan<T> tv = e.Saved!.Values;
            ReadOnlySpan<T> rho = logSlope.Values;
            Span<T> gx = needX ? x.Gradients : default;
            Span<T> grho = needRho ? logSlope.Gradients : default;
            T two = T.CreateTruncating(2);
            int d = x.Columns;
            for (int i = 0; i < x.Rows; i++)
            {
                for (int j = 0; j < d; j++)
                {
                    int k = (i * d) + j;
                    T slope = T.Exp(rho[j]);
                    T a = T.ExpM1(rho[j]);
                    T t = tv[k];
                    T u = T.One - (t * t);
                    T derivative = T.One + (a * u);
                    T logDetSlope = two * a * t * u / (derivative * derivative); // ∂ℓ/∂z · ∂z/∂x, also reused for ρ
                    if (needX)
                    {
                        gx[k] += (gz[k] / derivative) + (gl[i] * logDetSlope);
                    }

                    if (needRho)
                    {
                        T dzdrho = -slope * t / derivative;
                        grho[j] += (gz[k] * dzdrho) + (gl[i] * ((-slope * u / derivative) + (logDetSlope * derivative * dzdrho)));
                    }
                }
            }
        }
    }
}
