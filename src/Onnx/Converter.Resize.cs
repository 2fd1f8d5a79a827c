using System;
using System.Collections.Generic;
using System.Linq;

namespace Aot.Onnx;

// Resize (opsets 10 to 19) and the older Upsample (7 to 9) of the H and W axes of NCHW tensors, as the DSL's Resize.
internal sealed partial class Converter
{
    private static readonly Dictionary<string, string> ResizeCoordinateModes = new(StringComparer.Ordinal)
    {
        ["half_pixel"] = "HalfPixel", ["pytorch_half_pixel"] = "PytorchHalfPixel", ["align_corners"] = "AlignCorners",
        ["asymmetric"] = "Asymmetric", ["tf_half_pixel_for_nn"] = "TfHalfPixelForNn", ["half_pixel_symmetric"] = "HalfPixelSymmetric",
    };

    private static readonly Dictionary<string, string> ResizeNearestModes = new(StringComparer.Ordinal)
    {
        ["round_prefer_floor"] = "RoundPreferFloor", ["round_prefer_ceil"] = "RoundPreferCeil", ["floor"] = "Floor", ["ceil"] = "Ceil",
    };

    private static void Resize(NodeContext n)
    {
        // Opset 10 (and Upsample): inputs X, scales; asymmetric coordinates; nearest floors when enlarging, ceils when
        // shrinking (ONNX Runtime's rule). From 11: X, roi, scales, sizes and the mode attributes.
        bool legacy = n.Node.OpType == "Upsample" || n.Opset < 11;
        var x = n.In(0);
        if (x.Shape.Length != 4) throw n.Unsupported($"input '{x.OnnxName}' has shape {Format(x.Shape)}; only 4-D NCHW tensors are resized");
        string mode = n.String("mode") ?? "nearest";
        if (mode is not ("nearest" or "linear" or "bilinear")) throw n.Unsupported($"mode '{mode}' is not supported (nearest, linear)");
        if (mode == "bilinear" && !legacy) throw n.Malformed("mode 'bilinear' exists only for Upsample");
        float[] scales;
        int[]? sizes = null;
        if (legacy)
        {
            if (n.Node.OpType == "Upsample" && n.Opset < 9)
            {
                n.RequireInputs(1, 1);
                scales = n.Floats("scales") ?? throw n.Malformed("attribute 'scales' is missing");
            }
            else
            {
                n.RequireInputs(2, 2);
                scales = ConstFloats(n, n.In(1), "scales");
            }
        }
        else
        {
            n.RequireInputs(1, 4);
            if (n.OptionalIn(2) is { } s) scales = ConstFloats(n, s, "scales");
            else scales = Array.Empty<float>();
            if (n.OptionalIn(3) is { } z) sizes = n.ConstInts(z, "sizes").Select(d => d is > 0 and <= int.MaxValue ? (int)d : throw n.Malformed($"sizes has the dimension {d}")).ToArray();
            if ((scales.Length > 0) == (sizes is not null)) throw n.Malformed("exactly one of scales and sizes must be given");
            n.Ignore("cubic_coeff_a", "extrapolation_value"); // used only by the cubic and tf_crop_and_resize modes, which are errors
            if (n.Int("exclude_outside", 0) != 0) throw n.Unsupported("exclude_outside 1 is not supported");
            if (n.Int("antialias", 0) != 0 && mode == "linear" && (sizes is null ? scales.Any(f => f < 1f) : sizes.Select((d, i) => d < x.Shape[i]).Any(b => b)))
            {
                throw n.Unsupported("antialias 1 when shrinking is not supported");
            }

            if ((n.String("keep_aspect_ratio_policy") ?? "stretch") is var policy && policy != "stretch" && sizes is not null)
            {
                throw n.Unsupported($"keep_aspect_ratio_policy '{policy}' is not supported (stretch only)");
            }

            if (n.Ints("axes") is { } axes)
            {
                var normalized = axes.Select(a => Axis(n, a, 4)).ToArray();
                if (normalized.Distinct().Count() != normalized.Length) throw n.Malformed($"axes [{string.Join(", ", axes)}] repeat an axis");
                int given = sizes?.Length ?? scales.Length;
                if (given != normalized.Length) throw n.Malformed($"{(sizes is null ? "scales" : "sizes")} has {given} values for {normalized.Length} axes");
                var fullScales = new[] { 1f, 1f, 1f, 1f };
                var fullSizes = x.Shape.ToArray();
                for (int i = 0; i < normalized.Length; i++)
                {
                    if (sizes is null) fullScales[normalized[i]] = scales[i];
                    else fullSizes[normalized[i]] = sizes[i];
                }

                if (sizes is null) scales = fullScales;
                else sizes = fullSizes;
            }
        }

        if (sizes is null && scales.Length != 4) throw n.Malformed($"scales has {scales.Length} values for a rank-4 input");
        if (sizes is not null && sizes.Length != 4) throw n.Malformed($"sizes has {sizes.Length} values for a rank-4 input");
        if (sizes is null && scales.Any(f => !(f > 0f) || float.IsInfinity(f))) throw n.Malformed($"scales [{string.Join(", ", scales)}] must be positive and finite");

        // ONNX Runtime: an output dimension is (long)(scale * input); with sizes the scale is size / input.
        var shape = sizes ?? x.Shape.Select((d, i) => (int)(scales[i] * d)).ToArray();
        if (shape[0] != x.Shape[0] || shape[1] != x.Shape[1]) throw n.Unsupported($"resizing the N or C axis ({Format(x.Shape)} -> {Format(shape)}) is not supported (H and W only)");
        if (shape[2] < 1 || shape[3] < 1) throw n.Unsupported($"the output {Format(shape)} is empty");
        if (shape.SequenceEqual(x.Shape) && (sizes is not null || scales.All(f => f == 1f)))
        {
            n.Ignore("coordinate_transformation_mode", "nearest_mode");
            n.Alias(x);
            return;
        }

        var args = new List<string> { n.Operand(x), shape[2].ToString(System.Globalization.CultureInfo.InvariantCulture), shape[3].ToString(System.Globalization.CultureInfo.InvariantCulture) };
        args.Add(mode == "nearest" ? "ResizeMode.Nearest" : "ResizeMode.Linear");
        if (legacy)
        {
            args.Add("ResizeCoordinates.Asymmetric");
            if (mode == "nearest")
            {
                bool enlargeH = scales[2] >= 1f, enlargeW = scales[3] >= 1f;
                if (enlargeH != enlargeW) throw n.Unsupported($"nearest resize that enlarges one axis and shrinks the other (scales [{string.Join(", ", scales)}]) is not supported before opset 11");
                args.Add(enlargeH ? "ResizeNearest.Floor" : "ResizeNearest.Ceil");
            }
        }
        else
        {
            string coordinates = n.String("coordinate_transformation_mode") ?? "half_pixel";
            if (!ResizeCoordinateModes.TryGetValue(coordinates, out var c)) throw n.Unsupported($"coordinate_transformation_mode '{coordinates}' is not supported ({string.Join(", ", ResizeCoordinateModes.Keys)})");
            args.Add("ResizeCoordinates." + c);
            string nearest = n.String("nearest_mode") ?? "round_prefer_floor";
            if (!ResizeNearestModes.TryGetValue(nearest, out var r)) throw n.Unsupported($"nearest_mode '{nearest}' is not supported");
            if (mode == "nearest") args.Add("ResizeNearest." + r);
        }

        if (sizes is null)
        {
            args.Add("scaleHeight: " + Literal(scales[2]));
            args.Add("scaleWidth: " + Literal(scales[3]));
        }

        n.Emit($"Resize({string.Join(", ", args)})", shape);
    }

    /// <summary>A constant float input (scales): its values.</summary>
    private static float[] ConstFloats(NodeContext n, Value v, string role)
    {
        if (v.Const is { Floats: { } floats }) return floats;
        if (v.Const is not null) throw n.Malformed($"{role} '{v.OnnxName}' is an integer tensor; floats expected");
        throw n.Unsupported($"{role} '{v.OnnxName}' is computed at run time; it must be a constant (static shapes only)");
    }
}
