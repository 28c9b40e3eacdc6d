"""jira connector."""
