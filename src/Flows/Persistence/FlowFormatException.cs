namespace Flows.Persistence;

/// <summary>
/// A saved flow could not be loaded: the file is truncated, corrupted, of an unsupported version, or describes
/// something this version of Flows cannot build. The message names the problem and where it is.
/// </summary>
public sealed class FlowFormatException : Exception
{
    /// <summary>Creates an exception with a message.</summary>
    public FlowFormatException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What is wrong and where.</param>
    public FlowFormatException(string message) : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the error that revealed the problem.</summary>
    /// <param name="message">What is wrong and where.</param>
    /// <param name="innerException">The underlying error.</param>
    public FlowFormatException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
