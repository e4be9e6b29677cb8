using SkiaSharp;

namespace Flows.Cli.Tests;

/// <summary>Checks on rendered images.</summary>
internal static class PlotImages
{
    /// <summary>Distinct colours among the pixels (quantized to 4 bits per channel): a blank or one-colour image has 1.</summary>
    public static int DistinctColours(SKBitmap bitmap)
    {
        var colours = new HashSet<int>();
        for (int y = 0; y < bitmap.Height; y += 2)
        {
            for (int x = 0; x < bitmap.Width; x += 2)
            {
                SKColor c = bitmap.GetPixel(x, y);
                colours.Add((c.Red >> 4) << 8 | (c.Green >> 4) << 4 | (c.Blue >> 4));
            }
        }

        return colours.Count;
    }

    /// <summary>Share of pixels that are not (near) white.</summary>
    public static double InkedShare(SKBitmap bitmap)
    {
        long inked = 0;
        for (int y = 0; y < bitmap.Height; y++)
        {
            for (int x = 0; x < bitmap.Width; x++)
            {
                SKColor c = bitmap.GetPixel(x, y);
                if (c.Red < 240 || c.Green < 240 || c.Blue < 240)
                {
                    inked++;
                }
            }
        }

        return (double)inked / (bitmap.Width * (long)bitmap.Height);
    }

    /// <summary>Decodes PNG bytes, failing the test if they are not a PNG.</summary>
    public static SKBitmap Decode(byte[] png)
    {
        Assert.True(png.Length > 8 && png[1] == (byte)'P' && png[2] == (byte)'N' && png[3] == (byte)'G', "not a PNG");
        return SKBitmap.Decode(png) ?? throw new InvalidOperationException("the PNG does not decode");
    }
}
