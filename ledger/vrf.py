"""ECVRF-EDWARDS25519-SHA512-TAI: the verifiable random function of RFC 9381.

A validator proves ``pi = prove(key, alpha)``; anyone holding its public key
checks ``verify(public, pi, alpha)`` and gets the same 64-byte output
``beta`` the prover got from ``proof_to_hash(pi)``. For one key and one
``alpha`` there is exactly one ``beta`` that verifies, so a proposer cannot
grind the draw (RFC 9381 §3.1, full uniqueness).

Construction: RFC 9381 §5 with the ciphersuite of §5.5 whose suite_string is
0x03 (try-and-increment hash to curve, §5.4.1.1; RFC 8032 nonce, §5.4.2.2);
the byte-level description is docs/protocol/vrf.md. The key is an Ed25519 key
(RFC 8032 §5.1.5): a validator's signing seed (``ledger.crypto.Keypair``) is
its VRF key, and its account id is its VRF public key.

The group arithmetic is libsodium's (through PyNaCl's low-level bindings):
``crypto_core_ed25519_add/sub`` on the full curve group,
``crypto_scalarmult_ed25519[_base]_noclamp`` on the prime-order subgroup and
``crypto_core_ed25519_scalar_*`` mod L. libsodium's scalar multiplication
refuses points outside the prime-order subgroup; RFC 9381 verification must
still compute ``c*Y`` and ``c*Gamma`` exactly when an adversary supplies a
point with a torsion component, so ``_mul`` splits such a point into its
prime-order part and its torsion part (see there). The proof's points are
decoded strictly (RFC 8032 §5.1.3: no y >= p, no x = 0 with the sign bit set),
so no proof or key has a second byte spelling.

Not constant-time. The Python around libsodium branches on the secret
scalar's value (mod L, zero tests) and on the try-and-increment counter, and
Python integers and bytes are not wiped. This is acceptable here because the
VRF input ``alpha`` is public chain data (timing of the hash to curve reveals
nothing secret) and the proposer's key already signs blocks in this process;
libsodium's own multiplications are constant-time. Do not reuse this module
where the secret key must resist a local timing adversary.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

import nacl.bindings as sodium
import nacl.exceptions

from ledger.crypto import KEY_LEN, Keypair

SUITE_STRING: Final = b"\x03"  # RFC 9381 §5.5, ECVRF-EDWARDS25519-SHA512-TAI
PT_LEN: Final = 32  # ptLen: an encoded point (RFC 8032 §5.1.2)
C_LEN: Final = 16  # cLen: the challenge
Q_LEN: Final = 32  # qLen: a scalar mod L
PROOF_LEN: Final = PT_LEN + C_LEN + Q_LEN  # pi = Gamma || c || s, 80 bytes
OUTPUT_LEN: Final = 64  # beta, one SHA-512 digest

# the field prime and the order of the prime-order subgroup (RFC 8032 §5.1)
_P: Final = 2**255 - 19
_L: Final = 2**252 + 27742317777372353535851937790883648493
_INV8: Final = pow(8, -1, _L)
_IDENTITY: Final = b"\x01" + bytes(31)  # the neutral element, (x, y) = (0, 1)

# domain separators (RFC 9381 §5.4.1.1, §5.4.3, §5.2)
_ENCODE_FRONT: Final = b"\x01"
_CHALLENGE_FRONT: Final = b"\x02"
_PROOF_TO_HASH_FRONT: Final = b"\x03"
_BACK: Final = b"\x00"


class VrfKeyError(ValueError):
    """A secret key that is not a 32-byte Ed25519 seed (local misuse)."""


# ------------------------------------------------------------ encodings


def _canonical(s: bytes) -> bool:
    """The range checks of RFC 8032 §5.1.3: 32 bytes, y < p, no x = 0 with the sign bit."""
    if len(s) != PT_LEN:
        return False
    y = int.from_bytes(s, "little") & ((1 << 255) - 1)
    if y >= _P:
        return False  # non-canonical y
    return not (s[31] >> 7 and (y == 1 or y == _P - 1))  # x = 0 with the sign bit set


def _decode_times8(s: bytes) -> tuple[bytes, bytes] | None:
    """string_to_point (RFC 8032 §5.1.3, strict) and cofactor * point, or None.

    The range checks are ``_canonical``; whether x^2 = (y^2 - 1) / (d y^2 + 1)
    has a root (the point is on the curve) is libsodium's decoder, reached by
    the first doubling: ``crypto_core_ed25519_add`` decodes both operands and
    accepts any point of the curve (small order or torsion included), and
    fails for a y that is not on it.
    """
    if not _canonical(s):
        return None
    try:
        p2 = sodium.crypto_core_ed25519_add(s, s)
    except nacl.exceptions.RuntimeError:
        return None  # no square root: not a point of the curve
    p4 = _add(p2, p2)
    return bytes(s), _add(p4, p4)


def _scalar(n: int) -> bytes:
    """int_to_string(n mod L, 32): little-endian (RFC 9381 §5.5)."""
    return (n % _L).to_bytes(Q_LEN, "little")


# ------------------------------------------------------------ group arithmetic


def _add(p: bytes, q: bytes) -> bytes:
    return sodium.crypto_core_ed25519_add(p, q)


def _sub(p: bytes, q: bytes) -> bytes:
    return sodium.crypto_core_ed25519_sub(p, q)


def _times8(p: bytes) -> bytes:
    """cofactor * p, by three doublings (valid for any point of the curve)."""
    p2 = _add(p, p)
    p4 = _add(p2, p2)
    return _add(p4, p4)


def _mul_base(n: int) -> bytes:
    """n*B; libsodium refuses a zero scalar, whose product is the neutral element."""
    if n % _L == 0:
        return _IDENTITY
    return sodium.crypto_scalarmult_ed25519_base_noclamp(_scalar(n))


def _mul_subgroup(n: int, p: bytes) -> bytes:
    """n*p for p in the prime-order subgroup (the neutral element included)."""
    if n % _L == 0 or p == _IDENTITY:
        return _IDENTITY
    return sodium.crypto_scalarmult_ed25519_noclamp(_scalar(n), p)


def _mul(n: int, p: bytes) -> bytes:
    """n*p exactly, for any decoded point p of the curve.

    Honest points (public keys x*B, Gamma = x*H, H) lie in the prime-order
    subgroup and take libsodium's multiplication directly. libsodium refuses
    any other point, so an adversarial one is split as p = p1 + t with p1 of
    order L and t of order dividing 8: p1 = (8^-1 mod L) * (8p) and t = p - p1,
    then n*p = (n mod L)*p1 + (n mod 8)*t.
    """
    if n % _L != 0:
        try:
            return sodium.crypto_scalarmult_ed25519_noclamp(_scalar(n), p)
        except nacl.exceptions.RuntimeError:
            pass  # small order or a torsion component: the exact path below
    p1 = _mul_subgroup(_INV8, _times8(p))
    torsion = _sub(p, p1)
    out = _mul_subgroup(n, p1)
    for _ in range(n % 8):
        out = _add(out, torsion)
    return out


# ------------------------------------------------------------ keys


def _expand(key: Keypair | bytes) -> tuple[bytes, bytes, bytes]:
    """RFC 8032 §5.1.5: (x reduced mod L, nonce prefix, public key Y) from a seed."""
    seed = key.seed if isinstance(key, Keypair) else bytes(key)
    if len(seed) != KEY_LEN:
        raise VrfKeyError(f"a VRF secret key is a {KEY_LEN}-byte Ed25519 seed, got {len(seed)}")
    digest = hashlib.sha512(seed).digest()
    clamped = bytearray(digest[:32])
    clamped[0] &= 248
    clamped[31] &= 127
    clamped[31] |= 64
    public = sodium.crypto_scalarmult_ed25519_base_noclamp(bytes(clamped))
    if isinstance(key, Keypair) and key.public != public:
        raise VrfKeyError("the keypair's public key does not belong to its seed")
    x = sodium.crypto_core_ed25519_scalar_reduce(bytes(clamped) + bytes(32))
    return x, digest[32:], public


def public_key(key: Keypair | bytes) -> bytes:
    """The VRF public key of a seed: its Ed25519 public key (the account id)."""
    return _expand(key)[2]


# ------------------------------------------------------------ RFC 9381 §5.4


def _encode_to_curve(salt: bytes, alpha: bytes) -> bytes:
    """§5.4.1.1 try-and-increment; encode_to_curve_salt is PK_string (§5.5)."""
    prefix = SUITE_STRING + _ENCODE_FRONT + salt + alpha
    for ctr in range(256):
        hash_string = hashlib.sha512(prefix + bytes((ctr,)) + _BACK).digest()
        decoded = _decode_times8(hash_string[:PT_LEN])
        if decoded is not None and decoded[1] != _IDENTITY:
            return decoded[1]
    # about 2^-256 likely; unreachable in practice, a bug if ever seen
    raise RuntimeError("ECVRF try-and-increment found no point in 256 tries")


def _nonce(prefix: bytes, h_string: bytes) -> bytes:
    """§5.4.2.2: k = SHA-512(hashed_sk[32:64] || h_string) mod L, as 32 bytes."""
    return sodium.crypto_core_ed25519_scalar_reduce(hashlib.sha512(prefix + h_string).digest())


def _challenge(*points: bytes) -> bytes:
    """§5.4.3 over (Y, H, Gamma, U, V): the first cLen bytes of the digest."""
    data = SUITE_STRING + _CHALLENGE_FRONT + b"".join(points) + _BACK
    return hashlib.sha512(data).digest()[:C_LEN]


def _decode_proof(pi: bytes) -> tuple[bytes, bytes, bytes, int] | None:
    """§5.4.4: (Gamma, 8 * Gamma, c as 16 bytes, s) or None."""
    if len(pi) != PROOF_LEN:
        return None
    s = int.from_bytes(pi[PT_LEN + C_LEN :], "little")
    if s >= _L:
        return None
    decoded = _decode_times8(pi[:PT_LEN])
    if decoded is None:
        return None
    return decoded[0], decoded[1], pi[PT_LEN : PT_LEN + C_LEN], s


def _hash_points(gamma8: bytes) -> bytes:
    """§5.2: beta = SHA-512(suite || 0x03 || point_to_string(8 * Gamma) || 0x00)."""
    return hashlib.sha512(SUITE_STRING + _PROOF_TO_HASH_FRONT + gamma8 + _BACK).digest()


# ------------------------------------------------------------ the VRF


def prove(key: Keypair | bytes, alpha: bytes) -> bytes:
    """§5.1 ECVRF_prove: the 80-byte proof pi = Gamma || c || s of ``alpha``.

    ``key`` is a ``Keypair`` or its 32-byte Ed25519 seed. Deterministic.
    """
    x, prefix, public = _expand(key)
    h = _encode_to_curve(public, bytes(alpha))
    x_int = int.from_bytes(x, "little")
    gamma = _mul_subgroup(x_int, h)
    k = _nonce(prefix, h)
    k_int = int.from_bytes(k, "little")
    c = _challenge(public, h, gamma, _mul_base(k_int), _mul_subgroup(k_int, h))
    c_scalar = c + bytes(Q_LEN - C_LEN)
    s = sodium.crypto_core_ed25519_scalar_add(k, sodium.crypto_core_ed25519_scalar_mul(c_scalar, x))
    return gamma + c + s


def proof_to_hash(pi: bytes) -> bytes:
    """§5.2 ECVRF_proof_to_hash: the 64-byte output beta of a proof.

    It does not verify the proof: call it on proofs that ``verify`` accepted
    (or on one's own), or use the value ``verify`` returns. Raises
    ``ValueError`` when ``pi`` does not even decode (§5.4.4).
    """
    decoded = _decode_proof(bytes(pi))
    if decoded is None:
        raise ValueError("not an ECVRF proof: wrong length, Gamma not a point, or s >= L")
    return _hash_points(decoded[1])


def verify(public_key: bytes, pi: bytes, alpha: bytes) -> bytes | None:
    """§5.3 ECVRF_verify with validate_key: beta if ``pi`` proves ``alpha``, else None.

    None for any malformed input: a public key that is not a canonical point
    or has small order (§5.4.5), a proof that does not decode (§5.4.4), or a
    challenge that does not match.
    """
    public_key, pi, alpha = bytes(public_key), bytes(pi), bytes(alpha)
    key = _decode_times8(public_key)
    if key is None or key[1] == _IDENTITY:  # §5.4.5 validate_key: small order
        return None
    y = key[0]
    decoded = _decode_proof(pi)
    if decoded is None:
        return None
    gamma, gamma8, c, s = decoded
    c_int = int.from_bytes(c, "little")
    h = _encode_to_curve(y, alpha)
    u = _sub(_mul_base(s), _mul(c_int, y))
    v = _sub(_mul(s, h), _mul(c_int, gamma))
    if not hmac.compare_digest(_challenge(y, h, gamma, u, v), c):
        return None
    return _hash_points(gamma8)
