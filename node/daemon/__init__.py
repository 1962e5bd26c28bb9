"""The running validator: config, service, consensus host adapter, chain,
mempool, WAL, signer guard, RPC backend, metrics."""
