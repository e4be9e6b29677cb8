namespace Flows.Cli;

/// <summary>Bad input to the tool: the message names the file, and where it applies the row and the column.</summary>
internal sealed class CliInputException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CliInputException()
    {
    }

    /// <summary>Creates the exception with its one-line message.</summary>
    /// <param name="message">What is wrong, and where.</param>
    public CliInputException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with its message and cause.</summary>
    /// <param name="message">What is wrong, and where.</param>
    /// <param name="innerException">The cause.</param>
    public CliInputException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
