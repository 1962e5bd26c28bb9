"""credichain JSON-RPC: server (HTTP + WebSocket on hypercorn/trio), registry, client.

Entry points: ``rpc.server.serve(backend, RpcConfig(...), registry=...)`` for
the node's nursery; ``rpc.backend.RpcBackend`` for what the node provides;
``rpc.methods.standard_registry()`` plus ``rpc.queries.register_queries`` (the
pallets' declared queries) for the methods; ``rpc.client.RpcClient`` /
``WsClient`` for callers. See docs/rpc.md.
"""
