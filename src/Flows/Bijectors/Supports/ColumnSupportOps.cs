using System.Numerics;
using Flows.Autodiff;
using Flows.Numerics;

namespace Flows.Bijectors;

/// <summary>A <see cref="ColumnSupports{T}"/>'s columns in T, fixed at construction: what its fused op reads.</summary>
internal sealed class SupportLayout<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public SupportLayout(IReadOnlyList<Support> supports)
    {
        int d = supports.Count;
        Kinds = new SupportKind[d];
        Lower = new T[d];
        Upper = new T[d];
        Width = new T[d];
        LogWidth = new T[d];
        Lowest = new T[d];
        Highest = new T[d];
        Radians = new bool[d];
        TurnScale = new T[d];
        InverseTurnScale = new T[d];
        LogTurnScale = new T[d];
        for (int j = 0; j < d; j++)
        {
            Support s = supports[j];
            Kinds[j] = s.Kind;
            if (s.Kind == SupportKind.Real)
            {
                continue;
            }

            if (s.Kind == SupportKind.Angle)
            {
                Lower[j] = T.CreateTruncating(s.Lower);
                Upper[j] = T.CreateTruncating(s.Upper);
                Width[j] = Upper[j] - Lower[j];
                Radians[j] = Lower[j] == -T.Pi && Upper[j] == T.Pi;
                TurnScale[j] = Radians[j] ? T.One : Width[j] / T.Tau;
                InverseTurnScale[j] = Radians[j] ? T.One : T.Tau / Width[j];
                LogTurnScale[j] = Radians[j] ? T.Zero : T.Log(Width[j]) - T.Log(T.Tau);
                continue;
            }

            Lower[j] = T.CreateTruncating(s.Lower);
            Lowest[j] = T.BitIncrement(Lower[j]);
            if (s.Kind == SupportKind.Positive)
            {
                Highest[j] = T.BitDecrement(T.PositiveInfinity); // T's largest finite value
                continue;
            }

            Upper[j] = T.CreateTruncating(s.Upper);
            Width[j] = Upper[j] - Lower[j];
            LogWidth[j] = T.Log(Width[j]);
            Highest[j] = T.BitDecrement(Upper[j]);
        }
    }

    public SupportKind[] Kinds { get; }

    /// <summary>Angle columns on [−π, π) in T: the circle itself, so the map is the wrap alone, bit for bit.</summary>
    public bool[] Radians { get; }

    /// <summary>(upper − lower) / 2π of an angle column: data units per radian.</summary>
    public T[] TurnScale { get; }

    /// <summary>2π / (upper − lower) of an angle column.</summary>
    public T[] InverseTurnScale { get; }

    /// <summary>log((upper − lower) / 2π) of an angle column: its forward log-derivative.</summary>
    public T[] LogTurnScale { get; }

    public T[] Lower { get; }

    public T[] Upper { get; }

    /// <summary>upper − lower of an interval, in T.</summary>
    public T[] Width { get; }

    public T[] LogWidth { get; }

    /// <summary>The smallest sample of each column: the value of T just above its lower bound.</summary>
    public T[] Lowest { get; }

    /// <summary>The largest sample of each column: the value of T just below its upper bound, or T's largest.</summary>
    public T[] Highest { get; }

    /// <summary>Whether <paramref name="x"/> lies strictly inside column <paramref name="j"/>'s support, in T.</summary>
    public bool Contains(int j, T x) => Kinds[j] switch
    {
        SupportKind.Real or SupportKind.Angle => T.IsFinite(x),
        SupportKind.Positive => x > Lower[j] && T.IsFinite(x),
        _ => x > Lower[j] && x < Upper[j],
    };
}

internal static class ColumnSupportOps
{
    /// <summary>
    /// The per-column support map in one fused op. Forward, per column: Real <c>x = z</c> (log f′ = 0); Positive
    /// <c>x = a + exp(z)</c> (log f′ = z); Interval <c>x = a + w σ(z)</c>, w = b − a (log f′ = log w − softplus(−z) −
    /// softplus(z)), evaluated as <c>b − w σ(−z)</c> for z &gt; 0 so that values near b keep their digits. Forward outputs
    /// are clamped into [next value above a, next value below b] (T's largest for Positive), so that a sample never rounds
    /// onto or past a bound. Inverse: <c>z = log(x − a)</c> with log|det| = −log(x − a); <c>z = log(x − a) − log(b − x)</c>
    /// with log|det| = log w − log(x − a) − log(b − x), both exact near the bounds. An inverse input outside its column's
    /// support gives a zero output, a row log-determinant of −∞ and no gradient. Angle columns, turn [a, b) with
    /// c = (b − a)/2π: forward <c>x = a + c (wrap(θ) + π)</c>, an x that rounds onto b given as a (the same point), log f′
    /// = log c; inverse <c>θ = wrap((x − a)/c − π)</c> for any finite x; on [−π, π) itself both are the wrap alone.
    /// </summary>
    internal static (Node<T> Output, Node<T> LogDet) ColumnSupportMap<T>(this Tape<T> tape, Node<T> input, SupportLayout<T> layout, bool inverse)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = input.Columns;
        Node<T> output = tape.Allocate(input.Rows, d);
        Node<T> logDet = tape.Allocate(input.Rows, 1);
        ReadOnlySpan<T> xs = input.Values;
        Span<T> ys = output.Values;
        for (int i = 0; i < input.Rows; i++)
        {
            T sum = T.Zero;
            for (int j = 0; j < d; j++)
            {
                int k = (i * d) + j;
                T v = xs[k];
                SupportKind kind = layout.Kinds[j];
                if (kind == SupportKind.Real)
                {
                    ys[k] = v;
                }
                else if (kind == SupportKind.Angle && (!inverse || T.IsFinite(v)))
                {
                    (ys[k], T logDerivative) = Angle(layout, j, v, inverse);
                    sum += logDerivative;
                }
                else if (!inverse)
                {
                    T y;
                    if (kind == SupportKind.Positive)
                    {
                        y = layout.Lower[j] + T.Exp(v);
                        sum += v;
                    }
                    else
                    {
                        y = v <= T.Zero
                            ? layout.Lower[j] + (layout.Width[j] * Scalar.Sigmoid(v))
                            : layout.Upper[j] - (layout.Width[j] * Scalar.Sigmoid(-v));
                        sum += layout.LogWidth[j] - Scalar.Softplus(-v) - Scalar.Softplus(v);
                    }

                    // Clamp, rather than Math.Clamp, so that a NaN input stays NaN instead of becoming a bound.
                    ys[k] = y < layout.Lowest[j] ? layout.Lowest[j] : y > layout.Highest[j] ? layout.Highest[j] : y;
                }
                else if (layout.Contains(j, v))
                {
                    T p = T.Log(v - layout.Lower[j]);
                    if (kind == SupportKind.Positive)
                    {
                        ys[k] = p;
                        sum -= p;
                    }
                    else
                    {
                        T q = T.Log(layout.Upper[j] - v);
                        ys[k] = p - q;
                        sum += layout.LogWidth[j] - p - q;
                    }
                }
                else
                {
                    ys[k] = T.Zero;
                    sum = T.NegativeInfinity;
                }
            }

            logDet.Values[i] = sum;
        }

        tape.Record(ColumnSupportBackward<T>.Instance, output, input, output1: logDet, flag: inverse ? 1 : 0, state: layout);
        return (output, logDet);
    }

    // One angle value and its log-derivative: between the circle [−π, π) (base side) and the turn [a, b) (data side).
    private static (T Value, T LogDerivative) Angle<T>(SupportLayout<T> layout, int j, T v, bool inverse)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (layout.Radians[j])
        {
            return (CircularOps.Wrap(v), T.Zero);
        }

        if (inverse)
        {
            return (CircularOps.Wrap(((v - layout.Lower[j]) * layout.InverseTurnScale[j]) - T.Pi), -layout.LogTurnScale[j]);
        }

        // wrap(θ) + π lies in [0, 2π), so x ≥ a; rounding can carry it onto b, the same point of the circle as a.
        T x = layout.Lower[j] + (layout.TurnScale[j] * (CircularOps.Wrap(v) + T.Pi));
        return (x < layout.Upper[j] ? x : layout.Lower[j], layout.LogTurnScale[j]);
    }

    private static class ColumnSupportBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Backward<T> Instance = Run;

        // Forward: Positive dz += g eᶻ + g_ld; Interval (s = σ(z), t = σ(−z)) dz += g w s t + g_ld (t − s); Angle dθ += g c.
        // Inverse (p = x − a, q = b − x): Positive dx += (g − g_ld)/p; Interval dx += g (1/p + 1/q) + g_ld (1/q − 1/p);
        // Angle dx += g / c.
        // Verified against central differences by the shared property suite and ColumnSupportsTests.
        private static void Run(in TapeEntry<T> e)
        {
            Node<T> input = e.Input0;
            if (!input.RequiresGradient)
            {
                return;
            }

            var layout = (SupportLayout<T>)e.State!;
            bool inverse = e.Flag != 0;
            int d = input.Columns;
            ReadOnlySpan<T> xs = input.Values;
            ReadOnlySpan<T> g = e.Output.Gradients;
            ReadOnlySpan<T> gLogDet = e.Output1!.Gradients;
            Span<T> gx = input.Gradients;
            for (int i = 0; i < input.Rows; i++)
            {
                for (int j = 0; j < d; j++)
                {
                    int k = (i * d) + j;
                    T v = xs[k];
                    SupportKind kind = layout.Kinds[j];
                    if (kind == SupportKind.Real)
                    {
                        gx[k] += g[k];
                    }
                    else if (kind == SupportKind.Angle)
                    {
                        // The wrap subtracts a locally constant multiple of the period; the log-derivative is constant.
                        if (T.IsFinite(v))
                        {
                            gx[k] += g[k] * (inverse ? layout.InverseTurnScale[j] : layout.TurnScale[j]);
                        }
                    }
                    else if (!inverse)
                    {
                        if (kind == SupportKind.Positive)
                        {
                            gx[k] += (g[k] * T.Exp(v)) + gLogDet[i];
                        }
                        else
                        {
                            T s = Scalar.Sigmoid(v);
                            T t = Scalar.Sigmoid(-v);
                            gx[k] += (g[k] * layout.Width[j] * s * t) + (gLogDet[i] * (t - s));
                        }
                    }
                    else if (layout.Contains(j, v))
                    {
                        T inverseP = T.One / (v - layout.Lower[j]);
                        if (kind == SupportKind.Positive)
                        {
                            gx[k] += (g[k] - gLogDet[i]) * inverseP;
                        }
                        else
                        {
                            T inverseQ = T.One / (layout.Upper[j] - v);
                            gx[k] += (g[k] * (inverseP + inverseQ)) + (gLogDet[i] * (inverseQ - inverseP));
                        }
                    }
                }
            }
        }
    }
}
