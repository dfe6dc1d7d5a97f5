"""The MCP door at /mcp/: the Streamable HTTP endpoint, both protocol eras' JSON-RPC methods, and the
eight tools, each declared once for its schema, its validation and its audit endpoint."""
