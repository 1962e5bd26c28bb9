"""How large a record from the wire may be before it is decoded.

Kept apart from the records so that an extrinsic, a commit and a block can
each name the limits they are decoded under without importing each other.
"""

from __future__ import annotations

from typing import Final

from ledger.codec import DecodeLimits

# An extrinsic is small; its decode limits are tighter than the defaults.
EXTRINSIC_LIMITS: Final = DecodeLimits(
    max_size=64 * 1024, max_depth=8, max_container_len=1024, max_bytes_len=32 * 1024
)
BLOCK_LIMITS: Final = DecodeLimits(
    max_size=16 << 20, max_depth=12, max_container_len=100_000, max_bytes_len=64 * 1024
)
