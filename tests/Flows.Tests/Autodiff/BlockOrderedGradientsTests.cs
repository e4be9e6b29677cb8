using Flows.Autodiff;

namespace Flows.Tests.Autodiff;

/// <summary>
/// The running sum of a data-parallel step's block gradients: whatever order the blocks finish in, the parameter's
/// gradient is ((g₀ + g₁) + g₂) + g₃, the reduction's order. The gradients are chosen so that any other order gives
/// other bits: 1e16 + 1 rounds to 1e16, so g₀ + g₁ + g₂ + g₃ in order is 0 and every other order of additions that
/// starts from a different pair is not.
/// </summary>
public sealed class BlockOrderedGradientsTests
{
    private static readonly double[] BlockGradients = [1e16, 1, 1, -1e16];

    private static (Parameter<double> Parameter, Tape<double>[] Tapes, BlockOrderedGradients<double> Sum) Step()
    {
        var parameter = new Parameter<double>("w", 1, 1);
        var tapes = new Tape<double>[BlockGradients.Length];
        for (int b = 0; b < tapes.Length; b++)
        {
            tapes[b] = new Tape<double>() { Block = b };
            if (b > 0)
            {
                tapes[b].KeepOwnParameterGradients();
            }
        }

        var sum = new BlockOrderedGradients<double>([parameter]);
        sum.Start(tapes, tapes.Length);
        return (parameter, tapes, sum);
    }

    // A block's weight gradient as the linear op's backward pass forms it: straight into the sum when its turn has come,
    // else into its tape's own buffer, left for the block whose turn comes next.
    private static void Finish(Parameter<double> parameter, Tape<double>[] tapes, BlockOrderedGradients<double> sum, int block)
    {
        Assert.True(sum.TryFind(tapes[block].Use(parameter), out int slot));
        if (sum.TryClaim(block, slot))
        {
            sum.Target(slot)[0] += BlockGradients[block];
            sum.EndAdding(block, slot, staleOutside: null);
        }
        else
        {
            tapes[block].Use(parameter).Gradients[0] += BlockGradients[block];
            sum.Leave(block, slot);
        }
    }

    [Theory]
    [InlineData(0, 1, 2, 3)]
    [InlineData(3, 2, 1, 0)]
    [InlineData(2, 1, 0, 3)]
    [InlineData(1, 3, 0, 2)]
    [InlineData(2, 0, 3, 1)]
    public void BlocksFinishingInAnyOrder_AreSummedInBlockOrder(int first, int second, int third, int fourth)
    {
        (Parameter<double> parameter, Tape<double>[] tapes, BlockOrderedGradients<double> sum) = Step();
        foreach (int block in new[] { first, second, third, fourth })
        {
            Finish(parameter, tapes, sum, block);
        }

        Assert.Equal(0.0, parameter.Gradients[0]);
        Assert.Equal(4, sum.Summed(0)); // every block is in: the reduction has nothing left to add
    }

    // Blocks finishing on four threads at once: a block that leaves its gradient just as the turn reaches it is added
    // exactly once, by itself or by the block before it, never by both or by neither.
    [Fact]
    public void BlocksFinishingAtOnceOnFourThreads_AreSummedInBlockOrder()
    {
        for (int round = 0; round < 200; round++)
        {
            (Parameter<double> parameter, Tape<double>[] tapes, BlockOrderedGradients<double> sum) = Step();
            var start = new Barrier(tapes.Length);
            var threads = new Thread[tapes.Length];
            for (int b = 0; b < tapes.Length; b++)
            {
                int block = b;
                threads[b] = new Thread(() =>
                {
                    start.SignalAndWait();
                    Finish(parameter, tapes, sum, block);
                });
                threads[b].Start();
            }

            foreach (Thread thread in threads)
            {
                thread.Join();
            }

            Assert.Equal(0.0, parameter.Gradients[0]);
            Assert.Equal(4, sum.Summed(0));
        }
    }

    // Blocks that finish while the turn is elsewhere wait for it: with block 1 not finished, blocks 2 and 3 stay in
    // their own buffers for the reduction, which starts at Summed.
    [Fact]
    public void BlocksAfterAMissingOne_WaitInTheirOwnBuffers()
    {
        (Parameter<double> parameter, Tape<double>[] tapes, BlockOrderedGradients<double> sum) = Step();
        Finish(parameter, tapes, sum, 0);
        Finish(parameter, tapes, sum, 3);
        Finish(parameter, tapes, sum, 2);

        Assert.Equal(1, sum.Summed(0));
        Assert.Equal(1e16, parameter.Gradients[0]);
        Assert.Equal(1.0, tapes[2].OwnGradients(parameter, out _)[0]);
        Assert.Equal(-1e16, tapes[3].OwnGradients(parameter, out _)[0]);
    }
}
