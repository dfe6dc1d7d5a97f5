"""The operator's switches (the MCP server, AI summaries): one row, read on every request by every door,
so a change applies at once on every worker and host."""
