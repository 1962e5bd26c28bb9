"""Running the declared pallets: validation, dispatch with fees, block
execution, genesis, the registry and the invariant checks.

The node imports ``pallets.construct`` (the assembled runtime) and
``pallets.executive.executor`` (``Runtime``, ``BlockEnv``, ``BlockResult``,
``InvalidBlock``); the mempool imports ``pallets.executive.validate``.
See docs/runtime.md.
"""
