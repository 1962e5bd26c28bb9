"""ECVRF-EDWARDS25519-SHA512-TAI (ledger/vrf.py) against RFC 9381 and its own rules."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import nacl.bindings as sodium
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import vrf
from ledger.crypto import Keypair

L = 2**252 + 27742317777372353535851937790883648493
P = 2**255 - 19
IDENTITY = b"\x01" + bytes(31)
ORDER_2 = (P - 1).to_bytes(32, "little")  # (0, -1)


@dataclass(frozen=True)
class Vector:
    sk: str
    pk: str
    alpha: str
    x: str
    ctr: int
    h: str
    k_string: str
    u: str
    v: str
    pi: str
    beta: str


# RFC 9381 Appendix B.3, ECVRF-EDWARDS25519-SHA512-TAI, Examples 16, 17 and 18
# (SK and alpha are RFC 8032 §7.1's first three Ed25519 tests). Values only,
# with the intermediates the RFC lists: x, the counter at which
# try-and-increment succeeded, H, k (the 64-byte nonce string before reduction
# mod L), U = k*B and V = k*H.
VECTORS = [
    Vector(  # Example 16
        sk="9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        pk="d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        alpha="",
        x="307c83864f2833cb427a2ef1c00a013cfdff2768d980c0a3a520f006904de94f",
        ctr=0,
        h="91bbed02a99461df1ad4c6564a5f5d829d0b90cfc7903e7a5797bd658abf3318",
        k_string="7100f3d9eadb6dc4743b029736ff283f5be494128df128df2817106f345b8594"
        "b6d6da2d6fb0b4c0257eb337675d96eab49cf39e66cc2c9547c2bf8b2a6afae4",
        u="aef27c725be964c6a9bf4c45ca8e35df258c1878b838f37d9975523f09034071",
        v="5016572f71466c646c119443455d6cb9b952f07d060ec8286d678615d55f954f",
        pi="8657106690b5526245a92b003bb079ccd1a92130477671f6fc01ad16f26f723f"
        "26f8a57ccaed74ee1b190bed1f479d97"
        "27d2d0f9b005a6e456a35d4fb0daab1268a1b0db10836d9826a528ca76567805",
        beta="90cf1df3b703cce59e2a35b925d411164068269d7b2d29f3301c03dd757876ff"
        "66b71dda49d2de59d03450451af026798e8f81cd2e333de5cdf4f3e140fdd8ae",
    ),
    Vector(  # Example 17
        sk="4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        pk="3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        alpha="72",
        x="68bd9ed75882d52815a97585caf4790a7f6c6b3b7f821c5e259a24b02e502e51",
        ctr=1,
        h="5b659fc3d4e9263fd9a4ed1d022d75eaacc20df5e09f9ea937502396598dc551",
        k_string="42589bbf0c485c3c91c1621bb4bfe04aed7be76ee48f9b00793b2342acb9c167"
        "cab856f9f9d4febc311330c20b0a8afd3743d05433e8be8d32522ecdc16cc5ce",
        u="1dcb0a4821a2c48bf53548228b7f170962988f6d12f5439f31987ef41f034ab3",
        v="fd03c0bf498c752161bae4719105a074630a2aa5f200ff7b3995f7bfb1513423",
        pi="f3141cd382dc42909d19ec5110469e4feae18300e94f304590abdced48aed593"
        "3bf0864a62558b3ed7f2fea45c92a465"
        "301b3bbf5e3e54ddf2d935be3b67926da3ef39226bbc355bdc9850112c8f4b02",
        beta="eb4440665d3891d668e7e0fcaf587f1b4bd7fbfe99d0eb2211ccec90496310eb"
        "5e33821bc613efb94db5e5b54c70a848a0bef4553a41befc57663b56373a5031",
    ),
    Vector(  # Example 18
        sk="c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        pk="fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        alpha="af82",
        x="909a8b755ed902849023a55b15c23d11ba4d7f4ec5c2f51b1325a181991ea95c",
        ctr=0,
        h="bf4339376f5542811de615e3313d2b36f6f53c0acfebb482159711201192576a",
        k_string="38b868c335ccda94a088428cbf3ec8bc7955bfaffe1f3bd2aa2c59fc31a0febc"
        "59d0e1af3715773ce11b3bbdd7aba8e3505d4b9de6f7e4a96e67e0d6bb6d6c3a",
        u="2bae73e15a64042fcebf062abe7e432b2eca6744f3e8265bc38e009cd577ecd5",
        v="88cba1cb0d4f9b649d9a86026b69de076724a93a65c349c988954f0961c5d506",
        pi="9bc0f79119cc5604bf02d23b4caede71393cedfbb191434dd016d30177ccbf80"
        "96bb474e53895c362d8628ee9f9ea3c0"
        "e52c7a5c691b6c18c9979866568add7a2d41b00b05081ed0f58ee5e31b3a970e",
        beta="645427e5d00c62a23fb703732fa5d892940935942101e456ecca7bb217c61c45"
        "2118fec1219202a0edcf038bb6373241578be7217ba85a2687f7a0310b2df19f",
    ),
]
IDS = ["example16", "example17", "example18"]


def _hex(s: str) -> bytes:
    return bytes.fromhex(s)


def _int(b: bytes) -> int:
    return int.from_bytes(b, "little")


# ------------------------------------------------------------ RFC 9381 vectors


@pytest.mark.parametrize("vec", VECTORS, ids=IDS)
def test_rfc9381_vector_prove_verify_hash(vec: Vector) -> None:
    sk, pk, alpha = _hex(vec.sk), _hex(vec.pk), _hex(vec.alpha)
    assert vrf.public_key(sk) == pk
    pi = vrf.prove(sk, alpha)
    assert pi.hex() == vec.pi
    assert vrf.proof_to_hash(pi).hex() == vec.beta
    assert vrf.verify(pk, pi, alpha) == _hex(vec.beta)
    # the project's Keypair is the same key
    assert vrf.prove(Keypair.from_seed(sk), alpha) == pi


@pytest.mark.parametrize("vec", VECTORS, ids=IDS)
def test_rfc9381_vector_intermediates(vec: Vector) -> None:
    """x, H (and its counter), k, U and V: each stage pinned on its own."""
    sk, pk, alpha = _hex(vec.sk), _hex(vec.pk), _hex(vec.alpha)
    x, prefix, public = vrf._expand(sk)
    assert public == pk
    assert _int(x) == _int(_hex(vec.x)) % L
    h = vrf._encode_to_curve(pk, alpha)
    assert h.hex() == vec.h
    # the RFC's counter: earlier counters give no point, or a small-order one
    for ctr in range(vec.ctr + 1):
        digest = hashlib.sha512(b"\x03\x01" + pk + alpha + bytes((ctr,)) + b"\x00").digest()
        decoded = vrf._decode_times8(digest[:32])
        found = decoded is not None and decoded[1] != IDENTITY
        assert found == (ctr == vec.ctr)
    assert hashlib.sha512(prefix + h).hexdigest() == vec.k_string
    k = vrf._nonce(prefix, h)
    assert _int(k) == _int(_hex(vec.k_string)) % L
    assert vrf._mul_base(_int(k)).hex() == vec.u
    assert vrf._mul_subgroup(_int(k), h).hex() == vec.v


# ------------------------------------------------------------ refusals


def _proof(seed: bytes = b"\x11" * 32, alpha: bytes = b"height 7 round 0") -> tuple[bytes, bytes]:
    return vrf.public_key(seed), vrf.prove(seed, alpha)


def test_tampered_proof_fails() -> None:
    pk, pi = _proof()
    alpha = b"height 7 round 0"
    assert vrf.verify(pk, pi, alpha) is not None
    for i in range(len(pi)):
        for bit in (0x01, 0x80):
            bad = bytearray(pi)
            bad[i] ^= bit
            assert vrf.verify(pk, bytes(bad), alpha) is None, (i, bit)
    assert vrf.verify(pk, pi[:-1], alpha) is None
    assert vrf.verify(pk, pi + b"\x00", alpha) is None
    assert vrf.verify(pk, b"", alpha) is None


def test_tampered_alpha_fails() -> None:
    pk, pi = _proof()
    for alpha in (b"", b"height 7 round 1", b"height 7 round 0\x00", b"Height 7 round 0"):
        assert vrf.verify(pk, pi, alpha) is None


def test_other_or_malformed_public_key_fails() -> None:
    pk, pi = _proof()
    alpha = b"height 7 round 0"
    assert vrf.verify(vrf.public_key(b"\x22" * 32), pi, alpha) is None
    for i in range(32):
        bad = bytearray(pk)
        bad[i] ^= 0x01
        assert vrf.verify(bytes(bad), pi, alpha) is None
    assert vrf.verify(pk[:31], pi, alpha) is None
    assert vrf.verify(pk + b"\x00", pi, alpha) is None
    assert vrf.verify(b"\x02" + bytes(31), pi, alpha) is None  # y = 2: not on the curve


def _small_order_points() -> list[bytes]:
    """The eight points of order dividing 8, canonically encoded (multiples of one of order 8)."""
    # 8 * (a point with a torsion component) lies in the subgroup; find a generator
    # of the torsion instead: t = p - (8^-1 mod L) * 8p for p of full order 8L.
    for counter in range(256):
        candidate = hashlib.sha512(b"torsion" + bytes((counter,))).digest()[:32]
        decoded = vrf._decode_times8(candidate)
        if decoded is None:
            continue
        p = decoded[0]
        t = vrf._sub(p, vrf._mul_subgroup(vrf._INV8, vrf._times8(p)))
        t4 = vrf._add(vrf._add(t, t), vrf._add(t, t))
        if t4 != IDENTITY:  # t has order 8
            points = [IDENTITY]
            for _ in range(7):
                points.append(vrf._add(points[-1], t))
            assert vrf._add(points[-1], t) == IDENTITY
            return points
    raise AssertionError("no point of order 8L found")


def test_small_order_points_are_the_known_eight() -> None:
    points = _small_order_points()
    assert len(set(points)) == 8
    assert IDENTITY in points and ORDER_2 in points
    for point in points:
        assert vrf._times8(point) == IDENTITY
        assert not sodium.crypto_core_ed25519_is_valid_point(point)


def _forge_for_small_order_key(pk: bytes, alpha: bytes) -> bytes:
    """The proof that would pass without validate_key: Gamma = O, s = k, c over U = kB, V = kH.

    With Y of small order and c a multiple of its order, s*B - c*Y = k*B: the
    forger needs no secret, and beta is the same constant for every alpha.
    """
    h = vrf._encode_to_curve(pk, alpha)
    for n in range(1, 1000):
        k = n * 0x1234567 % L
        c = vrf._challenge(pk, h, IDENTITY, vrf._mul_base(k), vrf._mul_subgroup(k, h))
        order = 1 if pk == IDENTITY else 8
        if _int(c) % order == 0:
            return IDENTITY + c + k.to_bytes(32, "little")
    raise AssertionError("no forgery found")


def test_small_order_public_key_is_refused() -> None:
    alpha = b"height 9 round 0"
    for pk in _small_order_points():
        pi = _forge_for_small_order_key(pk, alpha)
        # the challenge equation alone would accept the forgery ...
        gamma, _, c, s = vrf._decode_proof(pi) or pytest.fail("forgery must decode")
        u = vrf._sub(vrf._mul_base(s), vrf._mul(_int(c), pk))
        v = vrf._sub(vrf._mul(s, vrf._encode_to_curve(pk, alpha)), vrf._mul(_int(c), gamma))
        assert vrf._challenge(pk, vrf._encode_to_curve(pk, alpha), gamma, u, v) == c
        # ... and validate_key (§5.4.5) is what refuses it
        assert vrf.verify(pk, pi, alpha) is None


def test_non_canonical_encodings_are_refused() -> None:
    pk, pi = _proof()
    alpha = b"height 7 round 0"
    # x = 0 with the sign bit set: the identity and (0, -1) spelled with a sign
    for point in (IDENTITY, ORDER_2):
        signed = point[:31] + bytes((point[31] | 0x80,))
        assert vrf._decode_times8(signed) is None
        assert vrf.verify(signed, pi, alpha) is None
    # y >= p: p + 1 would otherwise decode as y = 1
    assert vrf._decode_times8((P + 1).to_bytes(32, "little")) is None
    assert vrf._decode_times8((P).to_bytes(32, "little")) is None
    # s + L is the same scalar, a second spelling of the proof: refused (§5.4.4)
    s = _int(pi[48:])
    twin = pi[:48] + (s + L).to_bytes(32, "little")
    assert vrf.verify(pk, twin, alpha) is None
    with pytest.raises(ValueError):
        vrf.proof_to_hash(twin)
    with pytest.raises(ValueError):
        vrf.proof_to_hash(pi[:79])
    with pytest.raises(ValueError):
        vrf.proof_to_hash(b"\x02" + bytes(31) + pi[32:])


def test_gamma_with_torsion_component_is_refused() -> None:
    """Gamma + t (t of order 8) hashes to the same beta, so it must not verify."""
    pk, pi = _proof()
    alpha = b"height 7 round 0"
    for t in _small_order_points()[1:]:
        gamma = vrf._add(pi[:32], t)
        bad = gamma + pi[32:]
        assert vrf.proof_to_hash(bad) == vrf.proof_to_hash(pi)
        assert vrf.verify(pk, bad, alpha) is None


# ------------------------------------------------------------ arithmetic


def _double_and_add(n: int, point: bytes) -> bytes:
    """n * point by the group law alone (reference for vrf._mul)."""
    out = IDENTITY
    for bit in bin(n)[2:]:
        out = vrf._add(out, out)
        if bit == "1":
            out = vrf._add(out, point)
    return out


def test_mul_is_exact_on_points_with_torsion() -> None:
    honest = vrf.public_key(b"\x33" * 32)
    torsion = _small_order_points()
    scalars = [0, 1, 2, 7, 8, 9, L - 1, L, L + 3, 2**128 - 1, 0xDEADBEEF * 2**100 + 5]
    for t in torsion:
        point = vrf._add(honest, t)
        for n in scalars:
            assert vrf._mul(n, point) == _double_and_add(n, point), (t.hex(), n)
    for n in scalars:
        assert vrf._mul(n, honest) == _double_and_add(n, honest)


def test_key_with_torsion_component_is_verified_exactly() -> None:
    """Y' = x*B + t passes validate_key; the RFC's exact equations then accept a
    proof made with x only when c*t = O (here: c = 0 mod 8), and so must we."""
    seed = b"\x44" * 32
    x, prefix, public = vrf._expand(seed)
    t = _small_order_points()[1]  # order 8
    pk = vrf._add(public, t)
    assert vrf._times8(pk) != IDENTITY
    accepted = refused = 0
    for n in range(64):
        alpha = b"alpha %d" % n
        h = vrf._encode_to_curve(pk, alpha)
        gamma = vrf._mul_subgroup(_int(x), h)
        k = vrf._nonce(prefix, h)
        c = vrf._challenge(pk, h, gamma, vrf._mul_base(_int(k)), vrf._mul_subgroup(_int(k), h))
        s = (_int(k) + _int(c) * _int(x)) % L
        beta = vrf.verify(pk, gamma + c + s.to_bytes(32, "little"), alpha)
        if _int(c) % 8 == 0:
            assert beta == vrf._hash_points(vrf._times8(gamma))
            accepted += 1
        else:
            assert beta is None
            refused += 1
        if accepted and refused > 3:
            break
    assert accepted and refused


# ------------------------------------------------------------ keys and properties


def test_keypair_and_seed_are_the_same_key() -> None:
    key = Keypair.dev("alice")
    assert vrf.public_key(key) == key.public == vrf.public_key(key.seed)
    assert vrf.prove(key, b"a") == vrf.prove(key.seed, b"a")


def test_bad_secret_keys_are_refused() -> None:
    with pytest.raises(vrf.VrfKeyError):
        vrf.prove(b"\x00" * 31, b"a")
    with pytest.raises(vrf.VrfKeyError):
        vrf.prove(b"\x00" * 64, b"a")
    mismatched = Keypair(seed=b"\x01" * 32, public=Keypair.dev("bob").public)
    with pytest.raises(vrf.VrfKeyError):
        vrf.prove(mismatched, b"a")


def test_outputs_are_unique_per_key_and_alpha() -> None:
    seen = set()
    for seed in (b"\x01" * 32, b"\x02" * 32):
        for alpha in (b"", b"a", b"b", b"a\x00"):
            pi = vrf.prove(seed, alpha)
            assert vrf.prove(seed, alpha) == pi  # deterministic
            seen.add(vrf.proof_to_hash(pi))
    assert len(seen) == 8


@settings(max_examples=40, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), alpha=st.binary(max_size=96))
def test_verify_of_prove_is_proof_to_hash(seed: bytes, alpha: bytes) -> None:
    pi = vrf.prove(seed, alpha)
    assert len(pi) == vrf.PROOF_LEN
    beta = vrf.verify(vrf.public_key(seed), pi, alpha)
    assert beta is not None and len(beta) == vrf.OUTPUT_LEN
    assert beta == vrf.proof_to_hash(pi)
    assert vrf.verify(vrf.public_key(seed), pi, alpha + b"!") is None
