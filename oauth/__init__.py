"""Sign-in for hosted MCP clients: the OAuth 2.1 authorization server (client registration by DCR or metadata
document, authorization code with PKCE, rotating refresh tokens, revocation) whose grants are API keys."""
