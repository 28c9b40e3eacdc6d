"""Local stand-ins for Jira, GitHub, Exchange (EWS) and Confluence, speaking their wire
formats, with a shared fault model; see sandbox/README.md."""
