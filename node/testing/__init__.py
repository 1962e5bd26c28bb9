"""Helpers for tests and benchmarks, like ``trio.testing``: chain builders
that drive a real ``Chain`` and helpers that start real node processes."""
