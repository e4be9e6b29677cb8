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
    public static void AdamUpdate<T>(Span<T> theta, ReadOnlySpan<T> g, Span<T> m, Span<T> v, in AdamCoefficients<T> c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Debug.Assert(g.Length == theta.Length && m.Length == theta.Length && v.Length == theta.Length);
        int i = 0;
        if (VectorWidth.Current == 512 && Vector512<T>.IsSupported)
        {
            Vector512<T> b1 = Vector512.Create(c.Beta1);
            Vector512<T> oneMinusB1 = Vector512.Create(c.OneMinusBeta1);
            Vector512<T> b2 = Vector512.Create(c.Beta2);
            Vector512<T> oneMinusB2 = Vector512.Create(c.OneMinusBeta2);
            Vector512<T> stepSize = Vector512.Create(c.StepSize);
            Vector512<T> inverseSqrtCorrection2 = Vector512.Create(c.InverseSqrtCorrection2);
            Vector512<T> epsilon = Vector512.Create(c.Epsilon);
            Vector512<T> decay = Vector512.Create(c.Decay);
            ref T tr = ref MemoryMarshal.GetReference(theta);
            ref T gr = ref MemoryMarshal.GetReference(g);
            ref T mr = ref MemoryMarshal.GetReference(m);
            ref T vr = ref MemoryMarshal.GetReference(v);
            for (; i <= theta.Length - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                nuint k = (nuint)i;
                Vector512<T> gi = Vector512.LoadUnsafe(ref gr, k);
                Vector512<T> mi = (b1 * Vector512.LoadUnsafe(ref mr, k)) + (oneMinusB1 * gi);
                Vector512<T> vi = (b2 * Vector512.LoadUnsafe(ref vr, k)) + (oneMinusB2 * gi * gi);
                Vector512<T> ti = Vector512.LoadUnsafe(ref tr, k);
                mi.StoreUnsafe(ref mr, k);
                vi.StoreUnsafe(ref vr, k);
                ti -= (stepSize * mi / ((Vector512.Sqrt(vi) * inverseSqrtCorrection2) + epsilon)) + (decay * ti);
                ti.StoreUnsafe(ref tr, k);
            }
        }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            Vector256<T> b1 = Vector256.Create(c.Beta1);
            Vector256<T> oneMinusB1 = Vector256.Create(c.OneMinusBeta1);
            Vector256<T> b2 = Vector256.Create(c.Beta2);
            Vector256<T> oneMinusB2 = Vector256.Create(c.OneMinusBeta2);
            Vector256<T> stepSize = Vector256.Create(c.StepSize);
            Vector256<T> inverseSqrtCorrection2 = Vector256.Create(c.InverseSqrtCorrection2);
            Vector256<T> epsilon = Vector256.Create(c.Epsilon);
            Vector256<T> decay = Vector256.Create(c.Decay);
            ref T tr = ref MemoryMarshal.GetReference(theta);
            ref T gr = ref MemoryMarshal.GetReference(g);
            ref T mr = ref MemoryMarshal.GetReference(m);
            ref T vr = ref MemoryMarshal.GetReference(v);
            for (; i <= theta.Length - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                nuint k = (nuint)i;
                Vector256<T> gi = Vector256.LoadUnsafe(ref gr, k);
                Vector256<T> mi = (b1 * Vector256.LoadUnsafe(ref mr, k)) + (oneMinusB1 * gi);
                Vector256<T> vi = (b2 * Vector256.LoadUnsafe(ref vr, k)) + (oneMinusB2 * gi * gi);
                Vector256<T> ti = Vector256.LoadUnsafe(ref tr, k);
                mi.StoreUnsafe(ref mr, k);
                vi.StoreUnsafe(ref vr, k);
                ti -= (stepSize * mi / ((Vector256.Sqrt(vi) * inverseSqrtCorrection2) + epsilon)) + (decay * ti);
                ti.StoreUnsafe(ref tr, k);
            }
        }

        for (; i < theta.Length; i++)
        {
            T gi = g[i];
            T mi = (c.Beta1 * m[i]) + (c.OneMinusBeta1 * gi);
            T vi = (c.Beta2 * v[i]) + (c.OneMinusBeta2 * gi * gi);
            m[i] = mi;
            v[i] = vi;
            theta[i] -= (c.StepSize * mi / ((T.Sqrt(vi) * c.InverseSqrtCorrection2) + c.Epsilon)) + (c.Decay * theta[i]);
        }
    }
}
