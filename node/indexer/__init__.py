"""A follower that streams a chain into PostgreSQL (``credichain index``; docs/indexer.md).

``fetch`` reads blocks and what the indexer needs of them from a node's
JSON-RPC, ``rows`` turns them into rows of ``schema.sql``, ``sink`` writes a
block and the high-water mark in one transaction, ``follower`` is the loop.
It is a client of the node, as the CLI is: the node never imports it.
"""
