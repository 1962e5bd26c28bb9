"""The runtime framework: declaring pallets, dispatching calls, executing blocks.

Pallet authors import from ``pallets.runtime.declare`` (calls, errors,
events, hooks, origins), ``pallets.runtime.argtypes`` (argument types),
``pallets.runtime.storage`` (typed storage) and ``pallets.runtime.context``.
The node imports ``pallets.construct`` (the assembled runtime) and
``pallets.runtime.executor`` (``Runtime``, ``BlockEnv``, ``BlockResult``,
``InvalidBlock``); the mempool imports ``pallets.runtime.validate``.
See docs/runtime.md.
"""
