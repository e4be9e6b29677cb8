using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>
/// A layer whose start comes from the data it first scores (<see cref="ActNorm{T}"/>, a
/// <see cref="LowerTriangularAffine{T}"/> built with <c>initializeFromData</c>). <c>Fit</c> initializes such layers
/// from its training data, and a flow's array-level <c>DensityLn</c> refuses to initialize one from a handful of rows.
/// </summary>
internal interface IInitializesFromData
{
    /// <summary>The layer's record of how it was initialized.</summary>
    DataInitialization Initialization { get; }
}

/// <summary>
/// When a data-initialized layer settles its parameters: once, from the first non-empty batch its inverse sees on a
/// training tape or an evaluation; by adoption (the current parameters) on a tape that records gradients outside
/// training, which differentiates something other than a fit to data (variational inference scores q's own samples).
/// </summary>
internal sealed class DataInitialization(bool isInitialized)
{
    /// <summary>Whether the parameters are settled; saved with the model.</summary>
    public bool IsInitialized { get; set; } = isInitialized;

    // True when the initialization came from an evaluation (a tape that neither records nor trains) rather than from a
    // fit, Initialize, a training loop or a file: Fit then initializes the layer again from its data. Not saved: a
    // loaded layer counts as initialized on purpose.
    public bool IsByEvaluation { get; private set; }

    /// <summary>Called by the forward direction, which never initializes from its input but adopts on a gradient tape
    /// outside training.</summary>
    public void OnForward<T>(Tape<T> tape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!IsInitialized && IsGradientFitWithoutData(tape))
        {
            IsInitialized = true;
        }
    }

    /// <summary>Called by the inverse direction: whether the layer must initialize from these <paramref name="rows"/>
    /// now (it then is initialized, recorded as by evaluation when the tape neither records nor trains).</summary>
    public bool OnInverse<T>(Tape<T> tape, int rows) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (IsInitialized)
        {
            return false;
        }

        if (IsGradientFitWithoutData(tape))
        {
            IsInitialized = true;
            return false;
        }

        if (rows == 0)
        {
            return false;
        }

        IsInitialized = true;
        IsByEvaluation = !tape.IsRecording && !tape.IsTraining;
        return true;
    }

    /// <summary>Makes a layer that an evaluation initialized uninitialized again, so that the next data it sees initializes it.</summary>
    public void ForgetIfByEvaluation()
    {
        if (IsByEvaluation)
        {
            IsInitialized = false;
            IsByEvaluation = false;
        }
    }

    /// <summary>Makes the layer uninitialized, however it was initialized, so that the next data it sees initializes it.</summary>
    public void Forget()
    {
        IsInitialized = false;
        IsByEvaluation = false;
    }

    /// <summary>Marks the current initialization as made on purpose, so that later fits keep it.</summary>
    public void Keep() => IsByEvaluation = false;

    private static bool IsGradientFitWithoutData<T>(Tape<T> tape) where T : unmanaged, IFloatingPointIeee754<T> => tape.IsRecording && !tape.IsTraining;
}
