using Aot.Dsl;
using static Aot.Dsl.Ops;

namespace Samples.Mlp;

/// <summary>An MNIST-shaped classifier: 784 -> 512 -> 512 -> 10 with ReLU and a softmax over the classes.
/// Weights use PyTorch's nn.Linear layout ([out, in]) so a state dict exported to safetensors loads as is.</summary>
[Model]
public partial class MnistMlp
{
    [Weight(512, 784, Name = "fc1.weight")] public Tensor? W1 { get; set; }
    [Weight(512, Name = "fc1.bias")] public Tensor? B1 { get; set; }
    [Weight(512, 512, Name = "fc2.weight")] public Tensor? W2 { get; set; }
    [Weight(512, Name = "fc2.bias")] public Tensor? B2 { get; set; }
    [Weight(10, 512, Name = "fc3.weight")] public Tensor? W3 { get; set; }
    [Weight(10, Name = "fc3.bias")] public Tensor? B3 { get; set; }

    public Tensor Forward([Input(1, 784)] Tensor image)
    {
        var h = Relu(Linear(image, W1!, B1));
        h = Relu(Linear(h, W2!, B2));
        return Softmax(Linear(h, W3!, B3), axis: -1);
    }
}
