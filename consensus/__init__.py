"""credichain consensus package."""
