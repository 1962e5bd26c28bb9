"""credichain scripts package."""
