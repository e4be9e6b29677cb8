namespace EnergyFunctions;

/// <summary>
/// The four 2-D energy functions U1–U4 of Rezende &amp; Mohamed (2015, Table 1), targets p̃(z) = exp(−U(z)), with
/// their gradients written out by hand.
/// </summary>
/// <remarks>
/// U2–U4 depend on z₁ only through bounded functions, so exp(−U) has infinite mass along z₁ and no log Z. As the paper
/// only ever looks at the box [−4, 4]², we add a soft wall outside it, ½((|z₁| − 4)₊ / 0.2)², which leaves the density
/// untouched inside the box and makes log Z finite (and computable by quadrature, to check the importance-sampling estimate).
/// </remarks>
internal sealed record Energy(string Name, Func<double, double, (double U, double D1, double D2)> Evaluate)
{
    private const double WallStart = 4.0;
    private const double WallWidth = 0.2;

    public static IReadOnlyList<Energy> All { get; } =
    [
        new("U1", U1),
        new("U2", (z1, z2) => WithWall(U2(z1, z2), z1)),
        new("U3", (z1, z2) => WithWall(U3(z1, z2), z1)),
        new("U4", (z1, z2) => WithWall(U4(z1, z2), z1)),
    ];

    /// <summary>log p̃ = −U and ∇log p̃ = −∇U for a batch, in the shape the variational fit wants.</summary>
    public void LogDensity(ReadOnlySpan<double> z, Span<double> logDensity, Span<double> gradient)
    {
        for (int i = 0; i < logDensity.Length; i++)
        {
            (double u, double d1, double d2) = Evaluate(z[2 * i], z[(2 * i) + 1]);
            logDensity[i] = -u;
            gradient[2 * i] = -d1;
            gradient[(2 * i) + 1] = -d2;
        }
    }

    // U1 = ½((‖z‖ − 2)/0.4)² − ln(exp(−½((z₁ − 2)/0.6)²) + exp(−½((z₁ + 2)/0.6)²)): a ring split in two.
    private static (double, double, double) U1(double z1, double z2)
    {
        double r = Math.Sqrt((z1 * z1) + (z2 * z2));
        double ring = (r - 2) / 0.4;
        double a = -0.5 * Square((z1 - 2) / 0.6);
        double b = -0.5 * Square((z1 + 2) / 0.6);
        (double lse, double pa, double pb) = LogSumExp(a, b);
        double u = (0.5 * ring * ring) - lse;
        // d‖z‖/dz = z/‖z‖, undefined at the origin alone, where we take 0.
        double radial = r > 1e-12 ? ring / 0.4 / r : 0;
        double d1 = (radial * z1) - ((pa * -(z1 - 2) / 0.36) + (pb * -(z1 + 2) / 0.36));
        double d2 = radial * z2;
        return (u, d1, d2);
    }

    // U2 = ½((z₂ − w₁(z))/0.4)².
    private static (double, double, double) U2(double z1, double z2)
    {
        (double w1, double dw1) = W1(z1);
        double t = (z2 - w1) / 0.4;
        return (0.5 * t * t, -t / 0.4 * dw1, t / 0.4);
    }

    // U3 = −ln(exp(−½((z₂ − w₁)/0.35)²) + exp(−½((z₂ − w₁ + w₂)/0.35)²)).
    private static (double, double, double) U3(double z1, double z2)
    {
        (double w1, double dw1) = W1(z1);
        double w2 = 3 * Math.Exp(-0.5 * Square((z1 - 1) / 0.6));
        double dw2 = -w2 * (z1 - 1) / 0.36;
        return TwoBranches(z2 - w1, 0.35, -dw1, z2 - w1 + w2, 0.35, -dw1 + dw2);
    }

    // U4 = −ln(exp(−½((z₂ − w₁)/0.4)²) + exp(−½((z₂ − w₁ + w₃)/0.35)²)).
    private static (double, double, double) U4(double z1, double z2)
    {
        (double w1, double dw1) = W1(z1);
        double s = 1 / (1 + Math.Exp(-(z1 - 1) / 0.3));
        double w3 = 3 * s;
        double dw3 = 3 * s * (1 - s) / 0.3;
        return TwoBranches(z2 - w1, 0.4, -dw1, z2 - w1 + w3, 0.35, -dw1 + dw3);
    }

    // −ln(exp(−½(t₁/s₁)²) + exp(−½(t₂/s₂)²)) with ∂tₖ/∂z₂ = 1 and ∂tₖ/∂z₁ = dtₖ.
    private static (double, double, double) TwoBranches(double t1, double s1, double dt1, double t2, double s2, double dt2)
    {
        (double lse, double p1, double p2) = LogSumExp(-0.5 * Square(t1 / s1), -0.5 * Square(t2 / s2));
        double g1 = p1 * t1 / (s1 * s1);
        double g2 = p2 * t2 / (s2 * s2);
        return (-lse, (g1 * dt1) + (g2 * dt2), g1 + g2);
    }

    // w₁(z) = sin(2πz₁/4) and its derivative.
    private static (double, double) W1(double z1) => (Math.Sin(Math.PI * z1 / 2), Math.PI / 2 * Math.Cos(Math.PI * z1 / 2));

    private static (double, double, double) WithWall((double U, double D1, double D2) energy, double z1)
    {
        double excess = Math.Max(Math.Abs(z1) - WallStart, 0) / WallWidth;
        return (energy.U + (0.5 * excess * excess), energy.D1 + (Math.Sign(z1) * excess / WallWidth), energy.D2);
    }

    // log(eᵃ + eᵇ) and the softmax weights, stable for any a, b.
    private static (double, double, double) LogSumExp(double a, double b)
    {
        double m = Math.Max(a, b);
        double ea = Math.Exp(a - m);
        double eb = Math.Exp(b - m);
        double sum = ea + eb;
        return (m + Math.Log(sum), ea / sum, eb / sum);
    }

    private static double Square(double x) => x * x;
}
