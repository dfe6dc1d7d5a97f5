"""Stellar Cyber MCP Server: the Django project."""

__version__ = "0.1.0"
