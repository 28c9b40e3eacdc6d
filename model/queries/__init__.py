"""The read side shared by the API and the reports."""
