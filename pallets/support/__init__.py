"""What a pallet is written with: declaring calls, queries, storage, events,
errors and parameters, argument types, and the call context.

Layering: support < system < pallets < executive. Nothing here imports a
pallet or the executive; pallet authors import from ``declare``,
``argtypes``, ``storage``, ``context``, ``params`` and ``genesis_config``.
See docs/runtime.md.
"""
