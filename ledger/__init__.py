"""credichain ledger package."""
