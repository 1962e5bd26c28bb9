"""credichain node package."""
