"""confluence connector."""
