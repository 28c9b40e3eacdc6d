"""exchange connector."""
