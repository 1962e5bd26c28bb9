"""credichain rpc package."""
