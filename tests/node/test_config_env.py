"""The node config's environment overrides: ``CREDICHAIN_<SECTION>__<KEY>`` only.

``CREDICHAIN_RPC`` is the clients' node URL (the wallet and docs tell people to
export it); a node started in the same shell must not read it as its ``[rpc]``
section (it was parsed as JSON and stopped ``node init`` with a traceback).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from node.daemon.config import load_config


def test_a_clients_node_url_is_not_a_config_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDICHAIN_RPC", "http://127.0.0.1:9944")
    monkeypatch.setenv("CREDICHAIN_METRICS", "not json either")
    config = load_config(tmp_path / "config.toml")  # absent: every default
    assert config.rpc.listen == "127.0.0.1:9944"


def test_a_section_key_still_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[rpc]\nlisten = "127.0.0.1:7000"\n')
    monkeypatch.setenv("CREDICHAIN_RPC", "http://127.0.0.1:9944")
    monkeypatch.setenv("CREDICHAIN_RPC__LISTEN", "127.0.0.1:7001")
    assert load_config(path).rpc.listen == "127.0.0.1:7001"
