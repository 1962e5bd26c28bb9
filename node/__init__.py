"""credichain node: assembly of the packages into a running validator process."""

__version__ = "0.1.0"
