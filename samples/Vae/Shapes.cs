// The binary data set of the sample: 8 × 8 images of one shape (a square, an ellipse or a cross) with a random centre,
// size and rotation, each pixel on when its centre lies inside the shape, then flipped with probability 0.02. Five
// latent factors (shape, x, y, size, angle) and pixel noise; a square's fourfold symmetry makes its angle, and so the
// true posterior, multimodal. Generated from a seed, so every run and every machine sees the same rows.
internal static class Shapes
{
    public const int Side = 8;
    public const int Pixels = Side * Side;
    private const double FlipProbability = 0.02;

    public static double[,] Generate(int rows, int seed)
    {
        var random = new Random(seed);
        var images = new double[rows, Pixels];
        for (int n = 0; n < rows; n++)
        {
            int shape = random.Next(3);
            double cx = 2.5 + (3 * random.NextDouble());
            double cy = 2.5 + (3 * random.NextDouble());
            double size = 1.3 + (1.4 * random.NextDouble());
            double angle = 2 * Math.PI * random.NextDouble();
            double cos = Math.Cos(angle);
            double sin = Math.Sin(angle);
            for (int i = 0; i < Side; i++)
            {
                for (int j = 0; j < Side; j++)
                {
                    // The pixel centre in the shape's own frame: translate, rotate back, scale.
                    double px = j + 0.5 - cx;
                    double py = i + 0.5 - cy;
                    double u = ((cos * px) + (sin * py)) / size;
                    double v = ((-sin * px) + (cos * py)) / size;
                    bool inside = shape switch
                    {
                        0 => Math.Max(Math.Abs(u), Math.Abs(v)) <= 0.8,
                        1 => (u * u) + (v * v / 0.3) <= 1,
                        _ => (Math.Abs(u) <= 1 && Math.Abs(v) <= 0.35) || (Math.Abs(v) <= 1 && Math.Abs(u) <= 0.35),
                    };
                    bool flip = random.NextDouble() < FlipProbability;
                    images[n, (i * Side) + j] = inside ^ flip ? 1 : 0;
                }
            }
        }

        return images;
    }
}
