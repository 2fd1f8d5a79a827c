using Aot.Dsl;
using Aot.Generator.IR;
using static Aot.Tests.Shared.CaseKit;
using static Generator.Tests.Backend.Kernel;

namespace Generator.Tests.Backend;

public class ConvKernelTests
{
    [Fact]
    public void Conv2d_matches_the_reference_for_strides_padding_dilation_and_groups()
    {
        Check(SharedCases.Conv2d());
    }

    [Fact]
    public void ConvTranspose2d_matches_the_reference_for_strides_padding_output_padding_dilation_and_groups()
    {
        Check(SharedCases.ConvTranspose2d());
    }

    [Fact]
    public void Pools_match_the_reference_with_padding_and_both_count_include_pad_modes()
    {
        Check(SharedCases.Pools());
    }

    [Fact]
    public void Resize_matches_the_reference_in_every_mode()
    {
        Check(SharedCases.Resize());
    }
}
