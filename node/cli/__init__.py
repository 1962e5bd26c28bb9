"""``credichain``: one module per command group; ``main`` mounts them."""
