"""credichain pallets package."""
