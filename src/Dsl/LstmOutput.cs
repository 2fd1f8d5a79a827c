namespace Aot.Dsl;

/// <summary>Which result of <see cref="Ops.Lstm"/> the call returns (ONNX LSTM's outputs Y, Y_h, Y_c).</summary>
public enum LstmOutput
{
    /// <summary>Y [seq, 1, batch, hidden]: the hidden state after every step.</summary>
    Sequence = 0,

    /// <summary>Y_h [1, batch, hidden]: the hidden state after the last step.</summary>
    LastHidden = 1,

    /// <summary>Y_c [1, batch, hidden]: the cell state after the last step.</summary>
    LastCell = 2,
}
