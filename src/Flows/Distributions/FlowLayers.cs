using System.Numerics;
using System.Numerics.Tensors;
using Flows.Autodiff;
using Flows.Bijectors;

namespace Flows.Distributions;

/// <summary>One layer of a flow as its checks and its fitting see it: where it sits, and in which direction densities run it.</summary>
/// <param name="Layer">A bijector that is not a <see cref="Chain{T}"/> or an <see cref="Inverted{T}"/>.</param>
/// <param name="Path">Where it sits, for messages: <c>Bijector.Parts[2]</c>, <c>BaseDistribution.Bijector.Inner</c>.</param>
/// <param name="Inverted">Whether an odd number of <see cref="Inverted{T}"/> wrap it, so that density evaluation runs its forward map.</param>
internal readonly record struct FlowLayer<T>(IBijector<T> Layer, string Path, bool Inverted) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>
/// The leaves of a flow (its bijectors through <see cref="Chain{T}"/>, <see cref="Inverted{T}"/>, the inner bijector of an
/// <see cref="EmbeddedContext{T}"/>, which is a layer itself too, and nested base flows, a <see cref="Mixture{T}"/> base's
/// component flows included)
/// and the owner of every parameter, found once when the flow is built, for the checks made once per call.
/// </summary>
internal sealed class FlowLayers<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // Each parameter with the layer or base distribution that holds it and where that sits; formatted only for a message.
    private readonly (Parameter<T> Parameter, object Owner, string Path)[] _owners;
    private readonly DataInitialization[] _allInitializations;
    // The flows with a defensive Gaussian, whose initialization counts only while their share is in use.
    private readonly List<TransformedDistribution<T>> _defended = [];

    public FlowLayers(TransformedDistribution<T> flow)
    {
        var layers = new List<FlowLayer<T>>();
        var owners = new List<(Parameter<T>, object, string)>();
        var flows = new List<TransformedDistribution<T>>();
        var bases = new List<(object, string, DataInitialization)>();
        Add(flow, "", layers, owners, flows, bases);
        _defended.AddRange(flows.Where(f => f.DefensiveComponent is not null));
        Layers = [.. layers];
        _owners = [.. owners];
        Flows = [.. flows];
        DataInitialized = [.. layers.Where(l => !l.Inverted && l.Layer is IInitializesFromData)
            .Select(l => ((object)l.Layer, l.Path, ((IInitializesFromData)l.Layer).Initialization)), .. bases];
        _allInitializations = [.. layers.Where(l => l.Layer is IInitializesFromData)
            .Select(l => ((IInitializesFromData)l.Layer).Initialization), .. bases.Select(b => b.Item3)];
        DataSupport = Outermost(flow.Bijector) as ColumnSupports<T> ?? SharedComponentSupport(flow);
        DrawsWhileEvaluating = layers.Any(l => l.Layer is InvertibleResidual<T> { IsLogDetExact: false } or ContinuousFlow<T> { IsTraceExact: false });
    }

    /// <summary>Whether a layer draws from its own random stream on every pass (an <see cref="InvertibleResidual{T}"/>
    /// with a Hutchinson log-det estimate): its results depend on the order of the passes, so the flow evaluates on one
    /// thread at a time, in row order, and trains on the whole batch at once.</summary>
    public bool DrawsWhileEvaluating { get; }

    /// <summary>Whether any data-initialized layer or base, in either direction, is still to initialize: the next
    /// evaluation then changes the flow, so it runs alone and in row order.</summary>
    public bool AnyUninitialized()
    {
        foreach (DataInitialization initialization in _allInitializations)
        {
            if (!initialization.IsInitialized)
            {
                return true;
            }
        }

        foreach (TransformedDistribution<T> flow in _defended)
        {
            if (flow.DefensiveWeight > 0 && flow.DefensiveComponent!.Layers.AnyUninitialized())
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The <see cref="ColumnSupports{T}"/> next to the data, whose supports the data must lie in, or null.</summary>
    public ColumnSupports<T>? DataSupport { get; }

    /// <summary>Every leaf: those of a nested base flow first, then the flow's own in chain order, so that in a flow of
    /// chains without <see cref="Inverted{T}"/> the last leaf is the layer next to the data.</summary>
    public IReadOnlyList<FlowLayer<T>> Layers { get; }

    /// <summary>The data-initialized layers (Standardization, ActNorm, a LowerTriangularAffine that initializes from data,
    /// an EmbeddedContext's context standardization) that density evaluation runs in their inverse direction, the one
    /// that initializes from data, then the data-initialized base distributions (a GaussianMixture), each with where it
    /// sits and its initialization record.</summary>
    public IReadOnlyList<(object Owner, string Path, DataInitialization Initialization)> DataInitialized { get; }

    /// <summary>The flow and the flows nested in it as base distributions, outermost first: the order their locks are taken in.</summary>
    public IReadOnlyList<TransformedDistribution<T>> Flows { get; }

    /// <summary>Throws when a parameter holds NaN or ±∞, naming the parameter, its owner and the index.</summary>
    /// <param name="what">What cannot be done with such a flow, for the message.</param>
    public void CheckParametersFinite(string what)
    {
        if (FirstNonFiniteParameter() is string where)
        {
            throw new InvalidOperationException(
                $"{where}; {what} of a flow with non-finite parameters would be meaningless. Was it left by a diverged custom training loop? " +
                "Refit it or load a saved copy.");
        }
    }

    /// <summary>The first parameter value that is NaN or ±∞, described by parameter, owner, path and index; null when all
    /// are finite. Allocates only when it finds one.</summary>
    public string? FirstNonFiniteParameter()
    {
        foreach ((Parameter<T> parameter, object owner, string path) in _owners)
        {
            // One vectorized sum per parameter: finite unless an element is NaN or ±∞ (or the finite values overflow,
            // which the exact scan below then clears).
            if (T.IsFinite(TensorPrimitives.Sum<T>(parameter.Values)))
            {
                continue;
            }

            T[] values = parameter.Values;
            for (int i = 0; i < values.Length; i++)
            {
                if (!T.IsFinite(values[i]))
                {
                    return $"Parameter '{parameter.Name}' of {owner} at {path} holds {values[i]} at index {i}";
                }
            }
        }

        return null;
    }

    // A mixture's door (its base the mixture, its bijector the identity permutation) takes the supports of its component
    // flows when they all have the same ones next to their data, so that data outside them get the named refusal rather
    // than density −∞ from every component. Components with different supports, or none, are not checked here.
    private static ColumnSupports<T>? SharedComponentSupport(TransformedDistribution<T> flow)
    {
        if (flow.BaseDistribution is not Mixture<T> mixture || flow.Bijector is not Permutation<T> permutation
            || !permutation.Order.Select((o, i) => o == i).All(same => same))
        {
            return null;
        }

        ColumnSupports<T>?[] supports = [.. mixture.Components.Select(c => (c as TransformedDistribution<T>)?.Layers.DataSupport)];
        return supports.Length > 0 && supports.All(s => s is not null && s.Supports.SequenceEqual(supports[0]!.Supports)) ? supports[0] : null;
    }

    // The layer next to the data: the last part of nested chains, through a context embedding (an Inverted one is not
    // looked into).
    internal static IBijector<T> Outermost(IBijector<T> bijector) => bijector switch
    {
        Chain<T> { Parts.Count: > 0 } chain => Outermost(chain.Parts[^1]),
        EmbeddedContext<T> embedded => Outermost(embedded.Inner),
        _ => bijector,
    };

    private static void Add(TransformedDistribution<T> flow, string prefix, List<FlowLayer<T>> layers, List<(Parameter<T>, object, string)> owners,
        List<TransformedDistribution<T>> flows, List<(object, string, DataInitialization)> bases)
    {
        flows.Add(flow);
        AddBase(flow.BaseDistribution, $"{prefix}BaseDistribution", layers, owners, flows, bases);
        Walk(flow.Bijector, $"{prefix}Bijector", inverted: false, layers, owners);
        if (flow.DefensiveComponent is { } defensive)
        {
            // The defensive Gaussian is locked, checked and data-initialized with the flow, but it is not one of the flow's
            // layers (the last of those stays the layer next to the data).
            flows.Add(defensive);
            Walk(defensive.Bijector, $"{prefix}DefensiveComponent.Bijector", inverted: false, [], owners);
        }
    }

    // A base distribution: a nested flow is walked as a flow; a mixture owns its logits and each component is walked as
    // a base (so the layers of component flows are checked, locked and initialized as a single flow's); any other base
    // owns its parameters, and is data-initialized when it says so (a GaussianMixture).
    private static void AddBase(IDistribution<T> distribution, string path, List<FlowLayer<T>> layers, List<(Parameter<T>, object, string)> owners,
        List<TransformedDistribution<T>> flows, List<(object, string, DataInitialization)> bases)
    {
        switch (distribution)
        {
            case TransformedDistribution<T> inner:
                Add(inner, $"{path}.", layers, owners, flows, bases);
                break;
            case Mixture<T> mixture:
                owners.Add((mixture.Logits, mixture, path));
                for (int k = 0; k < mixture.Components.Count; k++)
                {
                    AddBase(mixture.Components[k], $"{path}.Components[{k}]", layers, owners, flows, bases);
                }

                break;
            default:
                foreach (Parameter<T> parameter in distribution.Parameters)
                {
                    owners.Add((parameter, distribution, path));
                }

                if (distribution is IInitializesFromData initialized)
                {
                    bases.Add((distribution, path, initialized.Initialization));
                }

                break;
        }
    }

    private static void Walk(IBijector<T> bijector, string path, bool inverted, List<FlowLayer<T>> layers, List<(Parameter<T>, object, string)> owners)
    {
        switch (bijector)
        {
            case Chain<T> chain:
                for (int i = 0; i < chain.Parts.Count; i++)
                {
                    Walk(chain.Parts[i], $"{path}.Parts[{i}]", inverted, layers, owners);
                }

                break;
            case Inverted<T> wrapper:
                Walk(wrapper.Inner, $"{path}.Inner", !inverted, layers, owners);
                break;
            case EmbeddedContext<T> embedded:
                // A layer of its own (its context standardization is data-initialized; it owns the embedding's
                // parameters), then the layers it wraps, which initialize, check and own their parameters as anywhere else.
                layers.Add(new FlowLayer<T>(embedded, path, inverted));
                foreach (Parameter<T> parameter in embedded.Embedding.Parameters)
                {
                    owners.Add((parameter, embedded, path));
                }

                Walk(embedded.Inner, $"{path}.Inner", inverted, layers, owners);
                break;
            default:
                layers.Add(new FlowLayer<T>(bijector, path, inverted));
                foreach (Parameter<T> parameter in bijector.Parameters)
                {
                    owners.Add((parameter, bijector, path));
                }

                break;
        }
    }
}
