"""Auditing a chain: replay every block from genesis, export and import."""
