using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Flows.Numerics;

/// <summary>The per-step constants of an Adam update, computed once per step by the optimizer.</summary>
/// <param name="Beta1">β₁.</param>
/// <param name="OneMinusBeta1">1 − β₁.</param>
/// <param name="Beta2">β₂.</param>
/// <param name="OneMinusBeta2">1 − β₂.</param>
/// <param name="StepSize">α/(1 − β₁ᵗ).</param>
/// <param name="InverseSqrtCorrection2">1/√(1 − β₂ᵗ).</param>
/// <param name="Epsilon">ε.</param>
/// <param name="Decay">αλ, the decoupled weight decay per step.</param>
internal readonly record struct AdamCoefficients<T>(T Beta1, T OneMinusBeta1, T Beta2, T OneMinusBeta2, T StepSize,
    T InverseSqrtCorrection2, T Epsilon, T Decay) where T : unmanaged, IFloatingPointIeee754<T>;

internal static partial class Kernels
{
    /// <summary>
    /// One fused Adam update in place: <c>m ← β₁m + (1 − β₁)g</c>, <c>v ← β₂v + (1 − β₂)g²</c>,
    /// <c>θ ← θ − (α̂ m / (√v · c₂ + ε) + αλθ)</c>, in one pass over the four arrays.
    /// </summary>
    /// <remarks>Only correctly rounded operations (no fused multiply-add), in the same order in the vector bodies (512 or
    /// 256 bits) and the scalar remainder, so every element gets the same bits whichever path it takes.</remarks>
    /// <returns>Whether every updated θ is finite: the check rides on the pass (θ − θ is 0 unless θ is NaN or ±∞), so a
    /// training loop needs no second pass over the parameters to catch a step that overflowed.</returns>
    public static bool AdamUpdate<T>(Span<T> theta, ReadOnlySpan<T> g, Span<T> m, Span<T> v, in AdamCoefficients<T> c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(g.Length == theta.Length && m.Length == theta.Length && v.Length == theta.Length);
        bool finite = true;
        int i = VectorWidth.Current == 512 && Vector512<T>.IsSupported
            ? AdamUpdateVectors<Lanes512<T>, T>(theta, g, m, v, c, ref finite)
            : Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported ? AdamUpdateVectors<Lanes256<T>, T>(theta, g, m, v, c, ref finite) : 0;
        for (; i < theta.Length; i++)
        {
            T gi = g[i];
            T mi = (c.Beta1 * m[i]) + (c.OneMinusBeta1 * gi);
            T vi = (c.Beta2 * v[i]) + (c.OneMinusBeta2 * gi * gi);
            m[i] = mi;
            v[i] = vi;
            theta[i] -= (c.StepSize * mi / ((T.Sqrt(vi) * c.InverseSqrtCorrection2) + c.Epsilon)) + (c.Decay * theta[i]);
            finite &= T.IsFinite(theta[i]);
        }

        return finite;
    }

    // The vector body at one width; returns how many leading elements it updated (whole vectors), and clears finite when
    // one of them is not.
    private static int AdamUpdateVectors<TV, T>(Span<T> theta, ReadOnlySpan<T> g, Span<T> m, Span<T> v, in AdamCoefficients<T> c,
        ref bool finite)
        where TV : unmanaged, ISimdLanes<TV, T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        TV b1 = TV.Create(c.Beta1);
        TV oneMinusB1 = TV.Create(c.OneMinusBeta1);
        TV b2 = TV.Create(c.Beta2);
        TV oneMinusB2 = TV.Create(c.OneMinusBeta2);
        TV stepSize = TV.Create(c.StepSize);
        TV inverseSqrtCorrection2 = TV.Create(c.InverseSqrtCorrection2);
        TV epsilon = TV.Create(c.Epsilon);
        TV decay = TV.Create(c.Decay);
        ref T tr = ref MemoryMarshal.GetReference(theta);
        ref T gr = ref MemoryMarshal.GetReference(g);
        ref T mr = ref MemoryMarshal.GetReference(m);
        ref T vr = ref MemoryMarshal.GetReference(v);
        // Stays zero while every θ is finite: θ − θ is NaN for NaN or ±∞, and NaN sticks.
        TV nonFinite = TV.Zero;
        int i = 0;
        for (; i <= theta.Length - TV.Count; i += TV.Count)
        {
            nuint k = (nuint)i;
            TV gi = TV.Load(ref gr, k);
            TV mi = (b1 * TV.Load(ref mr, k)) + (oneMinusB1 * gi);
            TV vi = (b2 * TV.Load(ref vr, k)) + (oneMinusB2 * gi * gi);
            TV ti = TV.Load(ref tr, k);
            mi.Store(ref mr, k);
            vi.Store(ref vr, k);
            ti -= (stepSize * mi / ((TV.Sqrt(vi) * inverseSqrtCorrection2) + epsilon)) + (decay * ti);
            ti.Store(ref tr, k);
            nonFinite += ti - ti;
        }

        finite &= T.IsFinite(nonFinite.Sum());
        return i;
    }
}
