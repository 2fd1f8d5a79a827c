using System;
using System.Linq;

namespace Aot.Dsl;

/// <summary>
/// A dense, row-major tensor with a static shape. This is the value type of the DSL: a model's
/// <c>Forward</c> method computes on tensors, and the eager reference in <see cref="Ops"/> runs it directly.
/// Float32 tensors hold <c>float[]</c>, Int32 tensors hold <c>int[]</c>.
/// </summary>
public sealed class Tensor
{
    private readonly int[] _shape;
    private readonly Array _data;

    private Tensor(DType dtype, int[] shape, Array data)
    {
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"shape [{string.Join(", ", shape)}] has a negative dimension", nameof(shape));
        }

        long length = ElementCount(shape);
        if (data.Length != length)
        {
            throw new ArgumentException($"shape [{string.Join(", ", shape)}] needs {length} elements, the data has {data.Length}", nameof(data));
        }

        DType = dtype;
        _shape = shape;
        _data = data;
    }

    public DType DType { get; }

    /// <summary>The dimensions, outermost first.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    public int Rank => _shape.Length;

    /// <summary>The number of elements.</summary>
    public int Length => _data.Length;

    /// <summary>The shape as a new array.</summary>
    public int[] ShapeArray() => (int[])_shape.Clone();

    /// <summary>Float32 elements in row-major order.</summary>
    public Span<float> Floats => DType == DType.Float32
        ? (float[])_data
        : throw new InvalidOperationException($"tensor is {DType}, not Float32");

    /// <summary>Int32 elements in row-major order.</summary>
    public Span<int> Ints => DType == DType.Int32
        ? (int[])_data
        : throw new InvalidOperationException($"tensor is {DType}, not Int32");

    /// <summary>Wraps an existing array (no copy).</summary>
    public static Tensor FromArray(float[] data, params int[] shape) => new(DType.Float32, (int[])shape.Clone(), data);

    /// <summary>Wraps an existing array (no copy).</summary>
    public static Tensor FromArray(int[] data, params int[] shape) => new(DType.Int32, (int[])shape.Clone(), data);

    public static Tensor Zeros(params int[] shape) => Zeros(DType.Float32, shape);

    public static Tensor Zeros(DType dtype, params int[] shape)
    {
        long n = ElementCount(shape);
        Array data = dtype switch
        {
            DType.Float32 => new float[n],
            DType.Int32 => new int[n],
            _ => throw new NotSupportedException($"the eager reference stores Float32 and Int32 tensors; {dtype} is not supported yet"),
        };
        return new Tensor(dtype, (int[])shape.Clone(), data);
    }

    /// <summary>A scalar (rank 0) tensor.</summary>
    public static Tensor Scalar(float value) => new(DType.Float32, Array.Empty<int>(), new[] { value });

    /// <summary>Deterministic uniform values in [low, high), from a fixed-algorithm generator (same numbers on every platform).</summary>
    public static Tensor Random(int seed, float low, float high, params int[] shape)
    {
        var t = Zeros(shape);
        var rng = new SplitMix(seed);
        var span = t.Floats;
        for (int i = 0; i < span.Length; i++) span[i] = low + (high - low) * rng.NextFloat();
        return t;
    }

    /// <summary>Number of elements of a shape (1 for a scalar).</summary>
    public static long ElementCount(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        return n;
    }

    /// <summary>A float constant used where a tensor is expected becomes a scalar tensor that broadcasts.</summary>
    public static implicit operator Tensor(float value) => Scalar(value);

    public static Tensor operator +(Tensor a, Tensor b) => Ops.Add(a, b);
    public static Tensor operator -(Tensor a, Tensor b) => Ops.Sub(a, b);
    public static Tensor operator *(Tensor a, Tensor b) => Ops.Mul(a, b);
    public static Tensor operator /(Tensor a, Tensor b) => Ops.Div(a, b);
    public static Tensor operator -(Tensor a) => Ops.Neg(a);

    /// <summary>Selects index <paramref name="index"/> along the first axis, dropping that axis (a layer of a stacked weight).</summary>
    public Tensor this[int index] => Ops.Select(this, index);

    public override string ToString() => $"Tensor<{DType}>[{string.Join(", ", _shape)}]";

    /// <summary>SplitMix32-style generator: tiny, deterministic, good enough for test data.</summary>
    private struct SplitMix
    {
        private uint _state;

        public SplitMix(int seed) => _state = unchecked((uint)seed * 0x9E3779B9u + 0x7F4A7C15u);

        public float NextFloat()
        {
            uint z = _state += 0x9E3779B9u;
            z = (z ^ (z >> 16)) * 0x85EBCA6Bu;
            z = (z ^ (z >> 13)) * 0xC2B2AE35u;
            z ^= z >> 16;
            return (z >> 8) * (1f / (1 << 24));
        }
    }
}
