using System.Text.Json;
using Aot.Npu;
using Aot.Runtime.Npu;

namespace Runtime.Tests.Npu;

/// <summary>The Chrome trace: valid JSON in Trace Event Format, a slice per instruction, slices on one track never
/// partially overlap (so viewers nest them correctly), flows pair up, counters for DRAM and semaphores, MARK spans.</summary>
public class SimTraceTests
{
    [Fact]
    public void TraceHasSlicesFlowsCountersAndMarks()
    {
        const int tiles = 6;
        var program = SimPipelines.DoubleBuffered(tiles, outputCredit: true, marks: true);
        var sim = new NpuSimulator(program);
        SimPipelines.RandomFloats(tiles * SimPipelines.TileBytes / 4, 3).CopyTo(sim.Input);
        var report = sim.Run();
        SimCheck.Invariants(report);
        var mark = Assert.Single(report.Marks);
        Assert.Equal(("tile", tiles, (long)tiles * 2 * SimPipelines.TileBytes), (mark.Name, mark.Count, mark.DramBytes));

        using var stream = new MemoryStream();
        report.WriteChromeTrace(stream);
        using var doc = JsonDocument.Parse(stream.ToArray());
        var events = doc.RootElement.GetProperty("traceEvents").EnumerateArray().ToList();

        var threads = events.Where(e => e.GetProperty("ph").GetString() == "M" && e.GetProperty("name").GetString() == "thread_name")
            .ToDictionary(e => e.GetProperty("tid").GetInt32(), e => e.GetProperty("args").GetProperty("name").GetString()!);
        Assert.Contains("Dispatcher", threads.Values);
        Assert.Contains("DMA0 slot 0", threads.Values);
        Assert.Contains("DMA1 slot 0", threads.Values);
        Assert.Contains("VPU", threads.Values);
        Assert.Contains("DRAM port", threads.Values);
        Assert.Contains("VPU queued waits", threads.Values);

        var slices = events.Where(e => e.GetProperty("ph").GetString() == "X").ToList();
        var perInstruction = slices.Where(e => e.TryGetProperty("cat", out _))
            .Select(e => e.GetProperty("args").GetProperty("index").GetInt32()).ToList();
        Assert.Equal(Enumerable.Range(0, program.Code.Length), perInstruction.Order());
        var marksBegin = events.Where(e => e.GetProperty("ph").GetString() == "b").ToList();
        var marksEnd = events.Where(e => e.GetProperty("ph").GetString() == "e").ToList();
        Assert.Equal(tiles, marksBegin.Count);
        Assert.All(marksBegin, e => Assert.Equal("tile", e.GetProperty("name").GetString()));
        Assert.Equal(marksBegin.Select(e => e.GetProperty("id").GetInt32()), marksEnd.Select(e => e.GetProperty("id").GetInt32()));

        foreach (var track in slices.GroupBy(e => e.GetProperty("tid").GetInt32()))
        {
            var spans = track.Select(e => (From: e.GetProperty("ts").GetInt64(), To: e.GetProperty("ts").GetInt64() + e.GetProperty("dur").GetInt64()))
                .OrderBy(s => s.From).ThenByDescending(s => s.To).ToList();
            var open = new Stack<long>();
            foreach (var (from, to) in spans)
            {
                while (open.Count > 0 && open.Peek() <= from) open.Pop();
                Assert.True(open.Count == 0 || to <= open.Peek(), $"track {threads[track.Key]}: [{from}, {to}) overlaps its enclosing slice");
                open.Push(to);
            }
        }

        var starts = events.Where(e => e.GetProperty("ph").GetString() == "s").Select(e => e.GetProperty("id").GetInt32()).ToList();
        var ends = events.Where(e => e.GetProperty("ph").GetString() == "f").Select(e => e.GetProperty("id").GetInt32()).ToList();
        Assert.NotEmpty(starts);
        Assert.Equal(starts, ends);

        var counters = events.Where(e => e.GetProperty("ph").GetString() == "C").Select(e => e.GetProperty("name").GetString()).Distinct().ToList();
        Assert.Contains("DRAM B/cycle", counters);
        Assert.Contains("s0", counters);
        Assert.Contains("s3", counters);
        Assert.Equal(report.TotalCycles, doc.RootElement.GetProperty("otherData").GetProperty("totalCycles").GetInt64());
    }

    [Fact]
    public void TraceNeedsRecording()
    {
        var p = new SimProgramBuilder();
        var report = new NpuSimulator(p.Build(), new NpuSimulatorOptions { RecordTrace = false }).Run();
        Assert.Throws<InvalidOperationException>(() => report.WriteChromeTrace(Stream.Null));
    }
}
