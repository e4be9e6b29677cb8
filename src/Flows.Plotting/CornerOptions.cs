namespace Flows.Plotting;

/// <summary>Settings of <see cref="FlowPlots.Corner{T}(T[,], T[,], IReadOnlyList{string}, CornerOptions)"/>, with documented defaults.</summary>
public sealed record CornerOptions
{
    /// <summary>The features to show, by column index, in this order. Default null: the first <see cref="MaxFeatures"/>.</summary>
    public IReadOnlyList<int>? Features { get; init; }

    /// <summary>Most features shown when <see cref="Features"/> is null: beyond about 8 the panels are too small to read.
    /// Default 8. Range: &gt; 0.</summary>
    public int MaxFeatures { get; init; } = 8;

    /// <summary>Side of each panel in pixels. Default 220. Range: &gt; 0.</summary>
    public int PanelSize { get; init; } = 220;

    /// <summary>Bins of each marginal histogram. Default 30. Range: &gt; 0.</summary>
    public int BinCount { get; init; } = 30;

    /// <summary>Most points drawn per set in each scatter panel (rows are taken at an even stride). Default 2,000. Range: &gt; 0.</summary>
    public int MaxPoints { get; init; } = 2000;

    /// <summary>The legend's name of the first set. Default "data".</summary>
    public string DataLabel { get; init; } = "data";

    /// <summary>The legend's name of the second set. Default "samples".</summary>
    public string SamplesLabel { get; init; } = "samples";

    /// <summary>The title above the figure; null for none. Default null.</summary>
    public string? Title { get; init; }
}
