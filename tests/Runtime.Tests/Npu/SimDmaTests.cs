using Aot.Npu;
using Aot.Runtime.Npu;
using static Runtime.Tests.Npu.SimProgramBuilder;

namespace Runtime.Tests.Npu;

/// <summary>DMA data movement: strided rows both ways, zero pad rows on load, gaps between rows untouched, and a
/// WORKSPACE round trip.</summary>
public class SimDmaTests
{
    [Fact]
    public void StridedLoadWithPadRowsAndStridedStore()
    {
        const int rows = 5, rowBytes = 40, dramStride = 100, localStride = 64, padBefore = 1, padAfter = 2;
        const uint local = 0x2000;
        var input = new byte[1024];
        new Random(3).NextBytes(input);
        var p = new SimProgramBuilder { InputBytes = input.Length, OutputBytes = 2048, WorkspaceBytes = 1024 };
        // Fill the destination with 0xFF words first, so pad rows (zero) and gaps (untouched) are visible.
        p.Add(Instruction.Vector(Opcode.VFill, 0, 8, 1, local, 128, flags: InstructionFlags.VInt, imm: 0xFFFFFFFF).WithSignal(0));
        p.Add(Load(0, Region.Input, 7, dramStride, local, localStride, rows, rowBytes, padBefore, padAfter).WithWait(0, 1).WithSignal(1));
        // Store the data rows to OUTPUT with a different stride, and through WORKSPACE back into the scratchpad.
        p.Add(Store(1, Region.Output, 3, 200, local + padBefore * localStride, localStride, rows, rowBytes).WithWait(1, 1).WithSignal(2));
        p.Add(Store(2, Region.Workspace, 0, rowBytes, local + padBefore * localStride, localStride, rows, rowBytes).WithWait(1, 1).WithSignal(3));
        p.Add(Load(3, Region.Workspace, 0, rowBytes * rows, 0x3000, 0, 1, rowBytes * rows).WithWait(3, 1));
        byte[] scratch = Array.Empty<byte>(), output = Array.Empty<byte>();
        var report = SimCheck.Run(p.BuildLoaded(), input, after: sim =>
        {
            scratch = sim.Local.ToArray();
            output = sim.Output.ToArray();
        });
        Assert.Equal(0, report.RaceCount);

        for (int r = 0; r < padBefore + rows + padAfter; r++)
        {
            int row = (int)local + r * localStride;
            bool pad = r < padBefore || r >= padBefore + rows;
            for (int b = 0; b < rowBytes; b++)
                Assert.Equal(pad ? 0 : input[7 + (r - padBefore) * dramStride + b], scratch[row + b]);
            for (int b = rowBytes; b < localStride; b++) Assert.Equal(0xFF, scratch[row + b]); // gap untouched
        }

        for (int r = 0; r < rows; r++)
        {
            for (int b = 0; b < 200; b++)
            {
                byte expected = b < rowBytes ? input[7 + r * dramStride + b] : (byte)0;
                Assert.Equal(expected, output[3 + r * 200 + b]);
            }

            for (int b = 0; b < rowBytes; b++) Assert.Equal(input[7 + r * dramStride + b], scratch[0x3000 + r * rowBytes + b]);
        }

        Assert.Equal(rows * rowBytes, report.Dram[(int)Region.Input].BytesRead);
        Assert.Equal(rows * rowBytes, report.Dram[(int)Region.Output].BytesWritten);
        Assert.Equal(rows * rowBytes, report.Dram[(int)Region.Workspace].BytesWritten);
        Assert.Equal(rows * rowBytes, report.Dram[(int)Region.Workspace].BytesRead);
        Assert.True(report.BurstEfficiency < 1);
    }
}
