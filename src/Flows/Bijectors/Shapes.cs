using System.Numerics;
using Flows.Autodiff;

namespace Flows.Bijectors;

/// <summary>O(1) shape checks shared by bijectors and distributions.</summary>
internal static class Shapes
{
    public static void CheckBatch<T>(Node<T> input, int dimension, Node<T>? context, int contextDimension, string name)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(input, name);
        if (input.Columns != dimension)
        {
            throw new ArgumentException($"{name} has {input.Columns} columns but the bijector has Dimension {dimension}.", name);
        }

        if (contextDimension == 0)
        {
            if (context is not null && context.Columns != 0)
            {
                throw new ArgumentException($"context has {context.Columns} columns but this bijector takes no context.", nameof(context));
            }

            return;
        }

        if (context is null)
        {
            throw new ArgumentException($"This bijector needs a context with {contextDimension} columns, but none was given.", nameof(context));
        }

        if (context.Columns != contextDimension || context.Rows != input.Rows)
        {
            throw new ArgumentException(
                $"context is {context.Rows} × {context.Columns} but {name} has {input.Rows} rows and the bijector has ContextDimension {contextDimension}.",
                nameof(context));
        }
    }
}
