using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Aot.Generator.Diagnostics;
using Aot.Generator.IR;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace Aot.Generator.Frontend;

/// <summary>
/// Turns the body of <c>Forward</c> into IR by evaluating it at build time over Roslyn's IOperation tree:
/// tensor expressions become graph nodes, everything else (loop counters, shapes, axes, scalars) must be a
/// compile-time constant. <c>for</c> loops with constant bounds are unrolled, <c>if</c> on constants picks a branch,
/// and calls to other methods of the model are inlined. Anything else is reported as a diagnostic at its location;
/// after an error the offending expression evaluates to Poison, so one mistake yields one diagnostic.
/// </summary>
internal sealed class ForwardLowering
{
    /// <summary>Unrolling budget: statements executed while lowering one model.</summary>
    private const int MaxSteps = 200_000;
    private const int MaxInlineDepth = 64;

    private readonly Compilation _compilation;
    private readonly INamedTypeSymbol _modelType;
    private readonly IReadOnlyDictionary<ISymbol, int> _weights;
    private readonly GraphBuilder _graph;
    private readonly List<DiagnosticInfo> _diagnostics;
    private readonly CancellationToken _ct;
    private readonly Stack<IMethodSymbol> _callStack = new();
    private readonly DslCalls _dsl;
    private readonly Dictionary<SyntaxTree, SemanticModel> _semanticModels = new();
    private readonly Dictionary<MethodDeclarationSyntax, (SemanticModel Model, IMethodBodyOperation? Body)> _bodies = new();
    private int _steps;

    public ForwardLowering(
        Compilation compilation,
        INamedTypeSymbol modelType,
        IReadOnlyDictionary<ISymbol, int> weights,
        GraphBuilder graph,
        List<DiagnosticInfo> diagnostics,
        CancellationToken ct)
    {
        _compilation = compilation;
        _modelType = modelType;
        _weights = weights;
        _graph = graph;
        _diagnostics = diagnostics;
        _ct = ct;
        _dsl = new DslCalls(graph, this);
    }

    /// <summary>Lowers a method body with its parameters bound; returns the value of its return statement.</summary>
    public FrontendValue LowerMethod(IMethodSymbol method, Dictionary<ISymbol, FrontendValue> arguments, Location callSite)
    {
        if (_callStack.Any(m => SymbolEqualityComparer.Default.Equals(m, method)))
        {
            return Report(DiagnosticDescriptors.UnboundedLoopOrRecursion, callSite,
                $"'{method.Name}' calls itself (directly or through other methods); a model's computation must be a finite graph");
        }

        if (_callStack.Count >= MaxInlineDepth)
        {
            return Report(DiagnosticDescriptors.UnboundedLoopOrRecursion, callSite, $"calls nest deeper than {MaxInlineDepth} methods");
        }

        var syntax = method.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(_ct) as MethodDeclarationSyntax;
        if (syntax is null || (syntax.Body is null && syntax.ExpressionBody is null))
        {
            return Report(DiagnosticDescriptors.UnsupportedConstruct, callSite, $"'{method.Name}' has no body in source to compile");
        }

        // A helper called once per layer is bound once: semantic models and operation trees are cached per method.
        if (!_bodies.TryGetValue(syntax, out var bound))
        {
            if (!_semanticModels.TryGetValue(syntax.SyntaxTree, out var treeModel))
            {
                treeModel = _compilation.GetSemanticModel(syntax.SyntaxTree);
                _semanticModels[syntax.SyntaxTree] = treeModel;
            }

            bound = (treeModel, treeModel.GetOperation(syntax, _ct) as IMethodBodyOperation);
            _bodies[syntax] = bound;
        }

        var (model, body) = bound;
        if (body is null)
        {
            return Report(DiagnosticDescriptors.UnsupportedConstruct, syntax.Identifier.GetLocation(), $"'{method.Name}' could not be analyzed (does it compile?)");
        }

        _callStack.Push(method);
        try
        {
            var frame = new Frame(model, arguments);
            if (body.BlockBody is { } block)
            {
                var flow = ExecuteStatements(block.Operations, frame);
                if (flow == Flow.Normal && !frame.Failed)
                {
                    return Report(DiagnosticDescriptors.UnsupportedConstruct, syntax.Identifier.GetLocation(), $"'{method.Name}' ends without returning a value");
                }

                return frame.Failed ? FrontendValue.Poison : frame.ReturnValue;
            }

            var exprBody = body.ExpressionBody!.Operations.Single();
            return exprBody is IReturnOperation ret && ret.ReturnedValue is { } returned ? Eval(returned, frame) : Eval(exprBody, frame);
        }
        finally
        {
            _callStack.Pop();
        }
    }

    // ---------------------------------------------------------------- statements

    private enum Flow
    {
        Normal,
        Return,
    }

    private sealed class Frame
    {
        public Frame(SemanticModel model, Dictionary<ISymbol, FrontendValue> locals)
        {
            Model = model;
            Locals = locals;
        }

        public SemanticModel Model { get; }

        public Dictionary<ISymbol, FrontendValue> Locals { get; }

        public FrontendValue ReturnValue { get; set; } = FrontendValue.Poison;

        /// <summary>Set once a statement failed; lowering goes on (Poison values report nothing more) so independent
        /// mistakes are all reported, but the method's result is Poison.</summary>
        public bool Failed { get; set; }
    }

    private Flow ExecuteStatements(IEnumerable<IOperation> statements, Frame frame)
    {
        foreach (var statement in statements)
        {
            if (Execute(statement, frame) == Flow.Return) return Flow.Return;
        }

        return Flow.Normal;
    }

    private Flow Execute(IOperation statement, Frame frame)
    {
        _ct.ThrowIfCancellationRequested();
        if (++_steps > MaxSteps)
        {
            Fail(frame, DiagnosticDescriptors.UnboundedLoopOrRecursion, statement.Syntax.GetLocation(),
                $"unrolling this model executes more than {MaxSteps} statements; loops must have small compile-time bounds");
            return Flow.Return;
        }

        switch (statement)
        {
            case IBlockOperation block:
                return ExecuteStatements(block.Operations, frame);

            case IVariableDeclarationGroupOperation group:
                foreach (var declaration in group.Declarations)
                {
                    foreach (var declarator in declaration.Declarators)
                    {
                        var initializer = declarator.Initializer ?? declaration.Initializer;
                        if (initializer is null)
                        {
                            Fail(frame, DiagnosticDescriptors.UnsupportedConstruct, declarator.Syntax.GetLocation(),
                                $"local '{declarator.Symbol.Name}' must be initialized where it is declared");
                            return Flow.Return;
                        }

                        frame.Locals[declarator.Symbol] = Check(Eval(initializer.Value, frame), frame);
                    }
                }

                return Flow.Normal;

            case IExpressionStatementOperation expression:
                Check(Eval(expression.Operation, frame), frame);
                return Flow.Normal;

            case IReturnOperation ret:
                frame.ReturnValue = ret.ReturnedValue is null ? FrontendValue.Poison : Check(Eval(ret.ReturnedValue, frame), frame);
                return Flow.Return;

            case IForLoopOperation loop:
                return ExecuteFor(loop, frame);

            case IConditionalOperation conditional:
                var condition = Check(Eval(conditional.Condition, frame), frame);
                if (frame.Failed) return Flow.Return;
                if (condition.Kind != FrontendValueKind.Bool)
                {
                    Fail(frame, DiagnosticDescriptors.UnsupportedConstruct, conditional.Condition.Syntax.GetLocation(),
                        "an if condition in a model must be a compile-time constant (data-dependent branches are not supported)");
                    return Flow.Return;
                }

                var branch = condition.Bool ? conditional.WhenTrue : conditional.WhenFalse;
                return branch is null ? Flow.Normal : Execute(branch, frame);

            case IEmptyOperation:
                return Flow.Normal;

            case IWhileLoopOperation or IForEachLoopOperation or IForToLoopOperation:
                Fail(frame, DiagnosticDescriptors.UnboundedLoopOrRecursion, LoopKeyword(statement),
                    "only for loops with compile-time bounds are supported in a model (they are unrolled)");
                return Flow.Return;

            default:
                Fail(frame, DiagnosticDescriptors.UnsupportedConstruct, statement.Syntax.GetLocation(),
                    $"this statement ({Describe(statement)}) is not supported in a model");
                return Flow.Return;
        }
    }

    private Flow ExecuteFor(IForLoopOperation loop, Frame frame)
    {
        foreach (var before in loop.Before)
        {
            if (Execute(before, frame) == Flow.Return || frame.Failed) return Flow.Return;
        }

        while (true)
        {
            if (loop.Condition is null)
            {
                Fail(frame, DiagnosticDescriptors.UnboundedLoopOrRecursion, LoopKeyword(loop), "a for loop in a model needs a condition with a compile-time bound");
                return Flow.Return;
            }

            var condition = Eval(loop.Condition, frame);
            if (condition.IsPoison)
            {
                frame.Failed = true;
                return Flow.Return;
            }

            if (condition.Kind != FrontendValueKind.Bool)
            {
                Fail(frame, DiagnosticDescriptors.UnboundedLoopOrRecursion, loop.Condition.Syntax.GetLocation(),
                    "the loop condition is not a compile-time constant; model loops must have constant bounds");
                return Flow.Return;
            }

            if (!condition.Bool) return Flow.Normal;
            if (Execute(loop.Body, frame) == Flow.Return || frame.Failed) return Flow.Return;
            foreach (var step in loop.AtLoopBottom)
            {
                if (Execute(step, frame) == Flow.Return || frame.Failed) return Flow.Return;
            }
        }
    }

    private static Location LoopKeyword(IOperation loop) =>
        loop.Syntax is StatementSyntax s ? s.GetFirstToken().GetLocation() : loop.Syntax.GetLocation();

    // ---------------------------------------------------------------- expressions

    /// <summary>Evaluates an expression at build time; tensor operations append nodes to the graph.</summary>
    private FrontendValue Eval(IOperation op, Frame frame)
    {
        _ct.ThrowIfCancellationRequested();
        if (op.ConstantValue.HasValue && FromConstant(op.ConstantValue.Value) is { } constant) return constant;

        switch (op)
        {
            case ILocalReferenceOperation local:
                return Lookup(local.Local, op, frame);
            case IParameterReferenceOperation parameter:
                return Lookup(parameter.Parameter, op, frame);
            case IFieldReferenceOperation field:
                return Member(field.Field, field.Instance, op, frame);
            case IPropertyReferenceOperation property when property.Property.IsIndexer:
                return Indexer(property, frame);
            case IPropertyReferenceOperation property:
                return Member(property.Property, property.Instance, op, frame);
            case IInvocationOperation invocation:
                return Invoke(invocation, frame);
            case IBinaryOperation binary:
                return Binary(binary, frame);
            case IUnaryOperation unary:
                return Unary(unary, frame);
            case IConversionOperation conversion:
                return Convert(conversion, frame);
            case IArrayCreationOperation array when array.Initializer is not null:
                return Elements(array.Initializer.ElementValues, op, frame);
            case IArrayCreationOperation array when array.DimensionSizes.All(d => d.ConstantValue.Value is 0):
                return FrontendValue.Ints(System.Array.Empty<int>()); // an empty params array
            case IArrayCreationOperation:
                return Report(DiagnosticDescriptors.UnsupportedConstruct, op.Syntax.GetLocation(), "arrays in a model must be written with their elements");
            case IDefaultValueOperation:
                return FrontendValue.Null;
            case ILiteralOperation when op.ConstantValue.HasValue && op.ConstantValue.Value is null:
                return FrontendValue.Null;
            case ISimpleAssignmentOperation assignment:
                return Assign(assignment.Target, Eval(assignment.Value, frame), op, frame);
            case ICompoundAssignmentOperation compound:
                return Assign(compound.Target, Arithmetic(compound.OperatorKind, compound.OperatorMethod, Eval(compound.Target, frame), Eval(compound.Value, frame), op), op, frame);
            case IIncrementOrDecrementOperation increment:
                var before = Eval(increment.Target, frame);
                var after = Arithmetic(increment.Kind == OperationKind.Increment ? BinaryOperatorKind.Add : BinaryOperatorKind.Subtract, null, before, FrontendValue.OfInt(1), op);
                Assign(increment.Target, after, op, frame);
                return increment.IsPostfix ? before : after;
            case IConditionalOperation conditional when conditional.WhenFalse is not null:
                var condition = Eval(conditional.Condition, frame);
                if (condition.IsPoison) return condition;
                return condition.Kind == FrontendValueKind.Bool
                    ? Eval(condition.Bool ? conditional.WhenTrue : conditional.WhenFalse, frame)
                    : Report(DiagnosticDescriptors.UnsupportedConstruct, conditional.Condition.Syntax.GetLocation(), "a conditional expression in a model must have a compile-time constant condition");
            case IArgumentOperation argument:
                return Eval(argument.Value, frame);
            case IParenthesizedOperation parenthesized:
                return Eval(parenthesized.Operand, frame);
        }

        // Roslyn 4.8 exposes C# 12 collection expressions ([a, b]) only as syntax.
        if (op.Syntax is CollectionExpressionSyntax collection)
        {
            var elements = new List<IOperation>();
            foreach (var element in collection.Elements)
            {
                if (element is not ExpressionElementSyntax e || frame.Model.GetOperation(e.Expression, _ct) is not { } elementOp)
                {
                    return Report(DiagnosticDescriptors.UnsupportedConstruct, element.GetLocation(), "only plain elements are supported in a collection expression in a model");
                }

                elements.Add(elementOp);
            }

            return Elements(elements, op, frame);
        }

        return Report(DiagnosticDescriptors.UnsupportedConstruct, op.Syntax.GetLocation(), $"this expression ({Describe(op)}) is not supported in a model");
    }

    private static FrontendValue? FromConstant(object? value) => value switch
    {
        int i => FrontendValue.OfInt(i),
        long l => FrontendValue.OfInt(l),
        short s => FrontendValue.OfInt(s),
        byte b => FrontendValue.OfInt(b),
        float f => FrontendValue.OfFloat(f),
        double d => FrontendValue.OfFloat(d),
        bool b => FrontendValue.OfBool(b),
        _ => null,
    };

    private FrontendValue Lookup(ISymbol symbol, IOperation op, Frame frame) =>
        frame.Locals.TryGetValue(symbol, out var value)
            ? value
            : Report(DiagnosticDescriptors.UnsupportedConstruct, op.Syntax.GetLocation(), $"'{symbol.Name}' has no value known at build time here");

    /// <summary>The dimensions of <c>t</c> when <paramref name="op"/> is <c>t.Shape</c> (t a tensor), else null.</summary>
    private FrontendValue? TensorShape(IOperation op, Frame frame)
    {
        if (op is not IPropertyReferenceOperation { Property.Name: "Shape", Instance: { } tensor } property || !DslCalls.IsTensor(property.Property.ContainingType)) return null;
        var value = Eval(tensor, frame);
        if (value.IsPoison) return value;
        return value.Kind == FrontendValueKind.Tensor
            ? FrontendValue.Ints(_graph.TypeOf(value.TensorId).ShapeArray())
            : Report(DiagnosticDescriptors.UnsupportedConstruct, op.Syntax.GetLocation(), "Shape is known at build time only for a tensor of the model");
    }

    private FrontendValue Member(ISymbol member, IOperation? instance, IOperation op, Frame frame)
    {
        if (member.Name == "Length" && instance is not null && TensorShape(instance, frame) is { } shape)
        {
            return shape.IsPoison ? shape : FrontendValue.OfInt(shape.Array!.Length); // t.Shape.Length: the rank
        }

        if (_weights.TryGetValue(member, out int id) && (instance is null or IInstanceReferenceOperation))
        {
            return FrontendValue.Tensor(id);
        }

        return Report(DiagnosticDescriptors.UnsupportedConstruct, op.Syntax.GetLocation(),
            $"'{member.Name}' is not a weight of this model or a compile-time constant; a model reads only its [Weight] members, its inputs and constants");
    }

    private FrontendValue Indexer(IPropertyReferenceOperation property, Frame frame)
    {
        if (property.Instance is { } shapeOf && TensorShape(shapeOf, frame) is { } shape && property.Arguments.Length == 1)
        {
            // t.Shape[i]: a size known at build time (for a dynamic axis, the size the model is being lowered at).
            if (shape.IsPoison) return shape;
            var axis = Eval(property.Arguments[0].Value, frame);
            if (axis.IsPoison) return axis;
            if (axis.Kind != FrontendValueKind.Int || axis.Int < 0 || axis.Int >= shape.Array!.Length)
            {
                return Report(DiagnosticDescriptors.InvalidArgument, property.Syntax.GetLocation(), $"Shape[{(axis.Kind == FrontendValueKind.Int ? axis.Int.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?")}] needs a compile-time axis from 0 to {shape.Array!.Length - 1}");
            }

            return FrontendValue.OfInt(shape.Array[(int)axis.Int]);
        }

        if (!DslCalls.IsTensor(property.Property.ContainingType) || property.Instance is null || property.Arguments.Length != 1)
        {
            return Report(DiagnosticDescriptors.UnsupportedConstruct, property.Syntax.GetLocation(), "only a tensor indexed by a compile-time integer (t[i]) is supported in a model");
        }

        var target = Eval(property.Instance, frame);
        var index = Eval(property.Arguments[0].Value, frame);
        return _dsl.Select(target, index, property.Syntax.GetLocation());
    }

    private FrontendValue Elements(IEnumerable<IOperation> elements, IOperation op, Frame frame)
    {
        var values = elements.Select(e => Eval(e, frame)).ToArray();
        if (values.Any(v => v.IsPoison)) return FrontendValue.Poison;
        if (values.All(v => v.Kind == FrontendValueKind.Int)) return FrontendValue.Ints(values.Select(v => checked((int)v.Int)).ToArray());
        if (values.All(v => v.Kind == FrontendValueKind.Tensor)) return FrontendValue.Tensors(values.Select(v => v.TensorId).ToArray());
        return Report(DiagnosticDescriptors.UnsupportedConstruct, op.Syntax.GetLocation(), "arrays in a model hold either compile-time integers or tensors");
    }

    private FrontendValue Assign(IOperation target, FrontendValue value, IOperation op, Frame frame)
    {
        if (value.IsPoison) return value;
        ISymbol? symbol = target switch
        {
            ILocalReferenceOperation l => l.Local,
            IParameterReferenceOperation p => p.Parameter,
            _ => null,
        };
        if (symbol is null)
        {
            return Report(DiagnosticDescriptors.UnsupportedConstruct, op.Syntax.GetLocation(), "a model may assign only to its local variables");
        }

        frame.Locals[symbol] = value;
        return value;
    }

    private FrontendValue Invoke(IInvocationOperation invocation, Frame frame)
    {
        var method = invocation.TargetMethod;
        if (DslCalls.IsOps(method.ContainingType))
        {
            var args = new Dictionary<string, FrontendValue>();
            foreach (var argument in invocation.Arguments)
            {
                var value = Eval(argument.Value, frame);
                if (value.IsPoison) return value;
                args[argument.Parameter!.Name] = value;
            }

            return _dsl.Lower(method.Name, args, invocation.Syntax.GetLocation());
        }

        if (IsMathCall(method))
        {
            return ConstantMath(invocation, frame);
        }

        if (SymbolEqualityComparer.Default.Equals(method.ContainingType?.OriginalDefinition, _modelType))
        {
            if (!method.IsStatic && invocation.Instance is not (null or IInstanceReferenceOperation))
            {
                return Report(DiagnosticDescriptors.UnsupportedConstruct, invocation.Syntax.GetLocation(), "a model may call its own methods only on itself");
            }

            var bound = new Dictionary<ISymbol, FrontendValue>(SymbolEqualityComparer.Default);
            foreach (var argument in invocation.Arguments)
            {
                var value = Eval(argument.Value, frame);
                if (value.IsPoison) return value;
                bound[argument.Parameter!] = value;
            }

            return LowerMethod(method, bound, invocation.Syntax.GetLocation());
        }

        return Report(DiagnosticDescriptors.UnsupportedConstruct, invocation.Syntax.GetLocation(),
            $"calling '{method.ContainingType?.Name}.{method.Name}' is not supported in a model; use the DSL's Ops or methods of the model");
    }

    private static bool IsMathCall(IMethodSymbol method) =>
        method.ContainingType?.ContainingNamespace?.ToDisplayString() == "System" && method.ContainingType.Name is "Math" or "MathF";

    /// <summary>Math.Sqrt(64) and friends on compile-time numbers (e.g. an attention scale).</summary>
    private FrontendValue ConstantMath(IInvocationOperation invocation, Frame frame)
    {
        var args = invocation.Arguments.Select(a => Eval(a.Value, frame)).ToArray();
        if (args.Any(a => a.IsPoison)) return FrontendValue.Poison;
        if (!args.All(a => a.IsNumber))
        {
            return Report(DiagnosticDescriptors.UnsupportedConstruct, invocation.Syntax.GetLocation(), $"{invocation.TargetMethod.ContainingType.Name}.{invocation.TargetMethod.Name} works on compile-time numbers only; use the DSL's Ops on tensors");
        }

        double x = args.Length > 0 ? args[0].AsDouble : 0;
        double? result = invocation.TargetMethod.Name switch
        {
            "Sqrt" => Math.Sqrt(x),
            "Exp" => Math.Exp(x),
            "Log" when args.Length == 1 => Math.Log(x),
            "Pow" when args.Length == 2 => Math.Pow(x, args[1].AsDouble),
            "Abs" => Math.Abs(x),
            "Max" when args.Length == 2 => Math.Max(x, args[1].AsDouble),
            "Min" when args.Length == 2 => Math.Min(x, args[1].AsDouble),
            _ => null,
        };
        if (result is null)
        {
            return Report(DiagnosticDescriptors.UnsupportedConstruct, invocation.Syntax.GetLocation(), $"{invocation.TargetMethod.ContainingType.Name}.{invocation.TargetMethod.Name} is not supported in a model");
        }

        bool integral = invocation.TargetMethod.ReturnType.SpecialType is SpecialType.System_Int32 or SpecialType.System_Int64;
        return integral ? FrontendValue.OfInt((long)result.Value) : FrontendValue.OfFloat(invocation.TargetMethod.ReturnType.SpecialType == SpecialType.System_Single ? (float)result.Value : result.Value);
    }

    private FrontendValue Binary(IBinaryOperation binary, Frame frame)
    {
        var left = Eval(binary.LeftOperand, frame);
        if (binary.OperatorKind is BinaryOperatorKind.ConditionalAnd or BinaryOperatorKind.ConditionalOr && left.Kind == FrontendValueKind.Bool)
        {
            if (left.Bool == (binary.OperatorKind == BinaryOperatorKind.ConditionalOr)) return left;
        }

        var right = Eval(binary.RightOperand, frame);
        return Arithmetic(binary.OperatorKind, binary.OperatorMethod, left, right, binary);
    }

    private FrontendValue Arithmetic(BinaryOperatorKind kind, IMethodSymbol? operatorMethod, FrontendValue left, FrontendValue right, IOperation op)
    {
        if (left.IsPoison || right.IsPoison) return FrontendValue.Poison;
        var location = op.Syntax.GetLocation();
        if (left.Kind == FrontendValueKind.Tensor || right.Kind == FrontendValueKind.Tensor)
        {
            string? name = kind switch
            {
                BinaryOperatorKind.Add => "Add",
                BinaryOperatorKind.Subtract => "Sub",
                BinaryOperatorKind.Multiply => "Mul",
                BinaryOperatorKind.Divide => "Div",
                _ => null,
            };
            if (name is null || (operatorMethod is not null && !DslCalls.IsTensor(operatorMethod.ContainingType)))
            {
                return Report(DiagnosticDescriptors.UnsupportedConstruct, location, $"operator {kind} is not defined on tensors");
            }

            return _dsl.Lower(name, new Dictionary<string, FrontendValue> { ["a"] = _dsl.AsTensor(left, location), ["b"] = _dsl.AsTensor(right, location) }, location);
        }

        if (left.Kind == FrontendValueKind.Bool && right.Kind == FrontendValueKind.Bool)
        {
            bool? b = kind switch
            {
                BinaryOperatorKind.And or BinaryOperatorKind.ConditionalAnd => left.Bool && right.Bool,
                BinaryOperatorKind.Or or BinaryOperatorKind.ConditionalOr => left.Bool || right.Bool,
                BinaryOperatorKind.Equals => left.Bool == right.Bool,
                BinaryOperatorKind.NotEquals => left.Bool != right.Bool,
                _ => null,
            };
            return b is { } value ? FrontendValue.OfBool(value) : Report(DiagnosticDescriptors.UnsupportedConstruct, location, $"operator {kind} is not supported on booleans");
        }

        if (!left.IsNumber || !right.IsNumber)
        {
            return Report(DiagnosticDescriptors.UnsupportedConstruct, location, $"operator {kind} needs numbers or tensors here");
        }

        if (left.Kind == FrontendValueKind.Int && right.Kind == FrontendValueKind.Int)
        {
            long a = left.Int, b = right.Int;
            if (kind is BinaryOperatorKind.Divide or BinaryOperatorKind.Remainder && b == 0)
            {
                return Report(DiagnosticDescriptors.InvalidArgument, location, "integer division by zero in a compile-time expression");
            }

            return kind switch
            {
                BinaryOperatorKind.Add => FrontendValue.OfInt(a + b),
                BinaryOperatorKind.Subtract => FrontendValue.OfInt(a - b),
                BinaryOperatorKind.Multiply => FrontendValue.OfInt(a * b),
                BinaryOperatorKind.Divide => FrontendValue.OfInt(a / b),
                BinaryOperatorKind.Remainder => FrontendValue.OfInt(a % b),
                BinaryOperatorKind.LessThan => FrontendValue.OfBool(a < b),
                BinaryOperatorKind.LessThanOrEqual => FrontendValue.OfBool(a <= b),
                BinaryOperatorKind.GreaterThan => FrontendValue.OfBool(a > b),
                BinaryOperatorKind.GreaterThanOrEqual => FrontendValue.OfBool(a >= b),
                BinaryOperatorKind.Equals => FrontendValue.OfBool(a == b),
                BinaryOperatorKind.NotEquals => FrontendValue.OfBool(a != b),
                _ => Report(DiagnosticDescriptors.UnsupportedConstruct, location, $"operator {kind} is not supported on integers in a model"),
            };
        }

        double x = left.AsDouble, y = right.AsDouble;
        return kind switch
        {
            BinaryOperatorKind.Add => FrontendValue.OfFloat(x + y),
            BinaryOperatorKind.Subtract => FrontendValue.OfFloat(x - y),
            BinaryOperatorKind.Multiply => FrontendValue.OfFloat(x * y),
            BinaryOperatorKind.Divide => FrontendValue.OfFloat(x / y),
            BinaryOperatorKind.LessThan => FrontendValue.OfBool(x < y),
            BinaryOperatorKind.LessThanOrEqual => FrontendValue.OfBool(x <= y),
            BinaryOperatorKind.GreaterThan => FrontendValue.OfBool(x > y),
            BinaryOperatorKind.GreaterThanOrEqual => FrontendValue.OfBool(x >= y),
            BinaryOperatorKind.Equals => FrontendValue.OfBool(x == y),
            BinaryOperatorKind.NotEquals => FrontendValue.OfBool(x != y),
            _ => Report(DiagnosticDescriptors.UnsupportedConstruct, location, $"operator {kind} is not supported on numbers in a model"),
        };
    }

    private FrontendValue Unary(IUnaryOperation unary, Frame frame)
    {
        var operand = Eval(unary.Operand, frame);
        if (operand.IsPoison) return operand;
        var location = unary.Syntax.GetLocation();
        return (unary.OperatorKind, operand.Kind) switch
        {
            (UnaryOperatorKind.Minus, FrontendValueKind.Tensor) => _dsl.Lower("Neg", new Dictionary<string, FrontendValue> { ["x"] = operand }, location),
            (UnaryOperatorKind.Minus, FrontendValueKind.Int) => FrontendValue.OfInt(-operand.Int),
            (UnaryOperatorKind.Minus, FrontendValueKind.Float) => FrontendValue.OfFloat(-operand.Float),
            (UnaryOperatorKind.Plus, _) when operand.IsNumber || operand.Kind == FrontendValueKind.Tensor => operand,
            (UnaryOperatorKind.Not, FrontendValueKind.Bool) => FrontendValue.OfBool(!operand.Bool),
            _ => Report(DiagnosticDescriptors.UnsupportedConstruct, location, $"unary operator {unary.OperatorKind} is not supported here"),
        };
    }

    private FrontendValue Convert(IConversionOperation conversion, Frame frame)
    {
        var operand = Eval(conversion.Operand, frame);
        if (operand.IsPoison) return operand;
        var target = conversion.Type;
        if (target is not null && DslCalls.IsTensor(target))
        {
            return operand.IsNumber ? _dsl.AsTensor(operand, conversion.Syntax.GetLocation()) : operand;
        }

        if (operand.IsNumber)
        {
            switch (target?.SpecialType)
            {
                case SpecialType.System_Int32 or SpecialType.System_Int64 or SpecialType.System_Int16 or SpecialType.System_Byte:
                    return FrontendValue.OfInt(operand.Kind == FrontendValueKind.Int ? operand.Int : (long)operand.Float);
                case SpecialType.System_Single:
                    return FrontendValue.OfFloat((float)operand.AsDouble);
                case SpecialType.System_Double:
                    return FrontendValue.OfFloat(operand.AsDouble);
            }
        }

        // Identity, nullable and reference conversions keep the value (e.g. Tensor to Tensor?, int[] to params).
        return operand;
    }

    // ---------------------------------------------------------------- diagnostics

    public FrontendValue Report(DiagnosticDescriptor descriptor, Location location, string message, IEnumerable<DiagnosticProperty>? properties = null)
    {
        _diagnostics.Add(DiagnosticInfo.Create(descriptor, location, message, properties));
        return FrontendValue.Poison;
    }

    private void Fail(Frame frame, DiagnosticDescriptor descriptor, Location location, string message)
    {
        Report(descriptor, location, message);
        frame.Failed = true;
    }

    /// <summary>Marks the frame failed when a statement's value is Poison (its diagnostic is already reported).</summary>
    private static FrontendValue Check(FrontendValue value, Frame frame)
    {
        if (value.IsPoison) frame.Failed = true;
        return value;
    }

    private static string Describe(IOperation op) => op.Kind switch
    {
        OperationKind.None => op.Syntax.Kind().ToString(),
        _ => op.Kind.ToString(),
    };
}
