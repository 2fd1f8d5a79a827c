// Linked as source into the generator (which sets these properties on its diagnostics) and the code fixes (which
// read them): one definition of the Diagnostic.Properties keys the two share.
#if AOT_GENERATOR
namespace Aot.Generator.Diagnostics;
#else
namespace Aot.CodeFixes;
#endif

/// <summary>Keys of <c>Diagnostic.Properties</c> that the generator sets for code fixes.</summary>
internal static class DiagnosticProperties
{
    /// <summary>
    /// On AOT0001 from Linear or MatMul: the name of the [Weight] member (field or property of the model class)
    /// whose two dimensions, swapped, resolve the mismatch. Set only when swapping them does.
    /// </summary>
    public const string WeightMember = "WeightMember";
}
