using System.Diagnostics;
using Flows.Persistence;
using Flows.Tests.Testing;

namespace Flows.Tests.Persistence;

/// <summary>TESTING.md item 55: a process killed while saving leaves the old file or the new one, never a torn one.</summary>
public sealed class AtomicSaveTests
{
    private const int Kills = 14;

    // A child process (this test assembly's own Main, see ChildProcess) saves a large flow over an existing file in a
    // loop, alternating the new flow and the old one. The test kills it at a seeded random moment within four save
    // durations of the end of its first save, or at once if it sees the file in a state that is neither whole file (a
    // torn write lasts about a millisecond, so a random moment rarely hits it), and then requires the file to be, byte
    // for byte, one of the two. With the former in-place write (File.WriteAllBytes) the test failed in 5 of 6 runs on a
    // loaded 2-core machine, always with a 0-byte file.
    [Fact]
    public void Save_KilledAtRandomPoints_LeavesTheOldFileOrTheNewOne()
    {
        byte[] oldFile = Bytes(ChildProcess.LargeFlow(0));
        byte[] newFile = Bytes(ChildProcess.LargeFlow(1));
        DirectoryInfo folder = Directory.CreateTempSubdirectory("flows-atomic-save-");
        try
        {
            string path = Path.Combine(folder.FullName, "model.json");

            // How long one save takes here, to spread the kills over whole saves (the second save, after the JIT).
            var stopwatch = Stopwatch.StartNew();
            ChildProcess.LargeFlow(1).Save(path);
            stopwatch.Restart();
            ChildProcess.LargeFlow(1).Save(path);
            double saveMilliseconds = stopwatch.Elapsed.TotalMilliseconds;

            var random = new Random(55);
            int killedWhileSaving = 0;
            for (int kill = 0; kill < Kills; kill++)
            {
                File.WriteAllBytes(path, oldFile);
                (string lastLine, bool sawTornFile) = RunAndKill(path, delayMilliseconds: random.NextDouble() * 4 * saveMilliseconds, oldFile, newFile);
                killedWhileSaving += lastLine == ChildProcess.Saving ? 1 : 0;

                byte[] left = File.ReadAllBytes(path);
                Assert.True(
                    left.AsSpan().SequenceEqual(oldFile) || left.AsSpan().SequenceEqual(newFile),
                    $"Kill {kill} (child's last line '{lastLine}', torn file seen while running: {sawTornFile}): the file has {left.Length} bytes and is " +
                    $"neither the old file ({oldFile.Length} bytes) nor the new one ({newFile.Length} bytes).");
            }

            // Not vacuous: some kills must have landed inside a save rather than before the first or between two.
            Assert.True(killedWhileSaving > 0, $"None of {Kills} kills landed inside a save.");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Save_ReplacesTheFile_AndLeavesNoTemporaryFileBehind()
    {
        DirectoryInfo folder = Directory.CreateTempSubdirectory("flows-atomic-save-");
        try
        {
            string path = Path.Combine(folder.FullName, "model.json");
            File.WriteAllText(path, "an older, longer file that the new one must replace entirely, not overwrite in part ..........");
            var flow = new Flows.Distributions.TransformedDistribution<double>(
                new Flows.Distributions.StandardNormal<double>(2), new Flows.Bijectors.Affine<double>(2));

            flow.Save(path);

            Assert.Equal(Bytes(flow), File.ReadAllBytes(path));
            Assert.Equal(["model.json"], folder.GetFiles().Select(f => f.Name));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Save_OverAFolder_ThrowsIOException_AndLeavesNoTemporaryFileBehind()
    {
        DirectoryInfo folder = Directory.CreateTempSubdirectory("flows-atomic-save-");
        try
        {
            string path = Path.Combine(folder.FullName, "model.json");
            Directory.CreateDirectory(path);
            var flow = new Flows.Distributions.TransformedDistribution<double>(
                new Flows.Distributions.StandardNormal<double>(2), new Flows.Bijectors.Affine<double>(2));

            Assert.ThrowsAny<IOException>(() => flow.Save(path));

            Assert.Empty(folder.GetFiles());
            Assert.True(Directory.Exists(path));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static (string LastLine, bool SawTornFile) RunAndKill(string path, double delayMilliseconds, byte[] oldFile, byte[] newFile)
    {
        using Process child = ChildProcess.Start("save-loop", path);
        string lastLine = "";
        using var firstSaveDone = new ManualResetEventSlim();
        child.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                Volatile.Write(ref lastLine, line);
                if (line == ChildProcess.Saved)
                {
                    firstSaveDone.Set();
                }
            }
        };
        child.BeginOutputReadLine();
        bool sawTornFile = false;
        try
        {
            // From the end of the first save (which includes the JIT), so that the kills spread over warm saves.
            if (!firstSaveDone.Wait(TimeSpan.FromMinutes(1)) || child.HasExited)
            {
                Assert.Fail($"The child did not finish a save: exited {child.HasExited}, stderr '{(child.HasExited ? child.StandardError.ReadToEnd() : "")}'.");
            }

            // Watch the file until the random moment: whenever it is not one of the two whole files, kill at once.
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalMilliseconds < delayMilliseconds)
            {
                if (!LooksWhole(path, oldFile, newFile))
                {
                    sawTornFile = true;
                    break;
                }
            }
        }
        finally
        {
            // The child is one process; killing a tree would first walk /proc and delay the kill.
            child.Kill();
            child.WaitForExit();
        }

        return (Volatile.Read(ref lastLine), sawTornFile);
    }

    // A cheap look: the length of one of the two files and the last byte of a whole file. A torn in-place write has a
    // different length or (when the file is preallocated) zeros at its end.
    private static bool LooksWhole(string path, byte[] oldFile, byte[] newFile)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            long length = stream.Length;
            if (length != oldFile.Length && length != newFile.Length)
            {
                return false;
            }

            stream.Seek(-1, SeekOrigin.End);
            return stream.ReadByte() == oldFile[^1];
        }
        catch (FileNotFoundException)
        {
            return false;
        }
    }

    private static byte[] Bytes(Flows.Distributions.TransformedDistribution<double> flow)
    {
        using var stream = new MemoryStream();
        flow.Save(stream);
        return stream.ToArray();
    }
}
