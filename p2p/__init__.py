"""credichain p2p package."""
