using Aot.Generator.Passes;
using Aot.Tests.Shared;
using Generator.Tests.Backend;

namespace Generator.Tests.Passes;

/// <summary>
/// The op test-suite (the shared op cases and the all-ops chain model) compiled through the whole pipeline with every
/// pass on, and with each pass switched off by name in turn (as <c>AotDisabledPasses</c> does): every configuration
/// must still match the eager reference, so no pass is needed for correctness and each can be bisected alone.
/// </summary>
public class PassSwitchTests
{
    public static TheoryData<string> Switches()
    {
        var data = new TheoryData<string> { "" };
        foreach (var name in PassPipeline.DefaultPasses.Concat(PassPipeline.CpuPasses).Select(p => p.Name).Distinct()) data.Add(name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Switches))]
    public void TheOpSuiteMatchesTheEagerReferenceWithThePassOff(string disabled)
    {
        var chain = ChainModel.Build();
        var cases = SharedCases.BinaryElementwise()
            .Concat(SharedCases.UnaryElementwise())
            .Concat(SharedCases.Selection())
            .Concat(SharedCases.Movement())
            .Concat(SharedCases.Gather())
            .Concat(SharedCases.Conv2d())
            .Concat(SharedCases.Pools())
            .Concat(SharedCases.Resize())
            .Concat(SharedCases.Lstm())
            .Append(new KernelCase("chain", chain.Graph, chain.Weights, new[] { chain.X, chain.Indices }, chain.Expected, Tolerance.Accumulation))
            .ToList();
        FuseEpilogueTests.CheckThroughPipeline(cases, disabled.Length == 0 ? Array.Empty<string>() : new[] { disabled });
    }
}
