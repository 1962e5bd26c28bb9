"""credichain genesis package."""
