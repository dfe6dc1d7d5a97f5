"""The Stellar-compatible Public API door at /connect/api/ (DRF) over the embedded store, with the same
keys, budgets, size limits, switches and audit as /mcp/."""
