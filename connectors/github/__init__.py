"""github connector."""
