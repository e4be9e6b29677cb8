using ScottPlot;
using SkiaSharp;

namespace Flows.Plotting;

/// <summary>
/// A finished figure: one or more ScottPlot panels laid out on a canvas of a fixed size, saved headless as PNG or SVG.
/// </summary>
/// <remarks>Every plot of <see cref="FlowPlots"/> returns one. Its panels are ordinary ScottPlot plots
/// (<see cref="Multiplot"/>): restyle them before saving if the defaults do not suit.</remarks>
public sealed class Figure
{
    /// <summary>Creates a figure of <paramref name="multiplot"/>'s panels at the given size.</summary>
    /// <param name="multiplot">The panels and their layout.</param>
    /// <param name="width">Width in pixels. Range: &gt; 0.</param>
    /// <param name="height">Height in pixels. Range: &gt; 0.</param>
    /// <exception cref="ArgumentNullException"><paramref name="multiplot"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public Figure(Multiplot multiplot, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(multiplot);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        Multiplot = multiplot;
        Width = width;
        Height = height;
    }

    /// <summary>The panels, for restyling before saving.</summary>
    public Multiplot Multiplot { get; }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Saves the figure as PNG or SVG, by the extension of <paramref name="path"/> (<c>.png</c> or <c>.svg</c>).</summary>
    /// <param name="path">The file to write.</param>
    /// <exception cref="ArgumentException">The extension is neither .png nor .svg.</exception>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string extension = Path.GetExtension(path).ToUpperInvariant();
        switch (extension)
        {
            case ".PNG":
                File.WriteAllBytes(path, ToPng());
                break;
            case ".SVG":
                File.WriteAllText(path, ToSvg());
                break;
            default:
                throw new ArgumentException($"The figure is saved as PNG or SVG, by the file's extension; \"{path}\" ends in \"{extension}\".", nameof(path));
        }
    }

    /// <summary>The figure as PNG bytes.</summary>
    public byte[] ToPng() => Multiplot.Render(Width, Height).GetImageBytes(ImageFormat.Png, 100);

    /// <summary>The figure as SVG text.</summary>
    public string ToSvg()
    {
        using var stream = new MemoryStream();
        using (var managed = new SKManagedWStream(stream))
        using (SKCanvas canvas = SKSvgCanvas.Create(SKRect.Create(Width, Height), managed))
        {
            Multiplot.Render(canvas, new PixelRect(0, Width, Height, 0));
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
