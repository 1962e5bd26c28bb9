"""Executable docs (issue 21): the walkthroughs of README.md and docs/*.md run as
written against a fresh real localnet each.

``scripts/docs_runner.py`` extracts every ```` ```sh ```` block of a file (but those
marked ``<!-- docs-runner: skip: why -->``), runs its commands in order in one
shell with ``credichain`` from this checkout's .venv and ``CREDICHAIN_RPC`` at
the localnet, and checks each ``# => TEXT`` comment against the output. A
command that fails or an output that drifted fails the test, naming the line.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from scripts.docs_runner import (
    REPO,
    Report,
    Shell,
    check,
    commands,
    extract_blocks,
    is_shell,
    run_file,
    workspace,
)

WALKTHROUGHS = (
    "README.md",
    "docs/credit.md",
    "docs/wallet.md",
    "docs/governance.md",
    "docs/health.md",
    "docs/audit.md",
)
# Localnets at once: three keep a 2-core machine's blocks on time for the
# walkthroughs that must vote within a 20 s governance round (README, governance).
AT_ONCE = 3
# Every markdown file with a shell block is a walkthrough or says why it is not.
NOT_WALKTHROUGHS = {
    "docs/operations.md": "deployment with docker, compose and kubectl on real hosts; "
    "make image-test builds and runs the image",
    "docs/explorer.md": "developer set-up (npm ci, the build, the browser test), "
    "which make install and make test run themselves",
    "docs/indexer.md": "needs a PostgreSQL server; tests/e2e/test_indexer_postgres.py starts "
    "one, runs credichain index against a live localnet and the page's two queries",
    "docs/rpc.md": "credichain query examples naming a fund and a request that exist after "
    "docs/credit.md's walkthrough; tests/node/test_query_cli.py runs the same commands",
}


def _run(name: str, parent: Path) -> Report:
    parent.mkdir()
    with workspace(parent) as workdir:
        return run_file(REPO / name, workdir)


def test_walkthroughs_run_as_written(tmp_path: Path) -> None:
    """Each file on its own localnet, three at a time (about 4 minutes, not 8)."""
    with ThreadPoolExecutor(AT_ONCE) as pool:
        reports = list(
            pool.map(lambda name: _run(name, tmp_path / name.replace("/", "-")), WALKTHROUGHS)
        )
    failed = [report.summary() for report in reports if report.failure is not None]
    assert not failed, "\n\n".join(failed)
    for name, report in zip(WALKTHROUGHS, reports, strict=True):
        blocks = [b for b in extract_blocks(REPO / name) if is_shell(b) and b.skip is None]
        assert report.blocks_run == len(blocks), report.summary()
        assert report.commands == sum(len(commands(b)) for b in blocks), report.summary()
        assert report.checks >= 8, f"too few checked outputs: {report.summary()}"


def test_every_shell_block_is_run_or_says_why_not() -> None:
    """Each ```sh block of the tested files runs, or is skipped with a reason."""
    for name in WALKTHROUGHS:
        for block in filter(is_shell, extract_blocks(REPO / name)):
            if block.skip is None:
                assert commands(block), f"{name}:{block.line}: a shell block with no command"
            else:
                assert len(block.skip) > 20, f"{name}:{block.line}: say why it is skipped"


SAMPLE = """# A doc

<!-- docs-runner: skip: runs until Ctrl-C -->
```sh
make run
```

```sh
export GREETING=hello     # a comment for people
cd sub && echo "│ status  │ $GREETING │"   # => status hello
for n in a b; do
    echo "item $n"
done                      # => item a; item b
echo nope                 # => yes
```
"""


def test_runner_conventions_and_first_failure(tmp_path: Path) -> None:
    """The runner's own rules, on a sample doc, without a localnet."""
    doc = tmp_path / "sample.md"
    doc.write_text(SAMPLE)
    (tmp_path / "sub").mkdir()
    blocks = extract_blocks(doc)
    assert [b.skip for b in blocks] == ["runs until Ctrl-C", None]
    found = commands(blocks[1])
    assert [(c.line, c.expect) for c in found] == [
        (9, ()),
        (10, ("status hello",)),
        (11, ("item a", "item b")),
        (14, ("yes",)),
    ]
    shell = Shell(tmp_path, {"PATH": "/usr/bin:/bin"})
    try:
        results = [check(c, *shell.run(c.text, 10), 10) for c in found]
    finally:
        shell.close()
    assert results[:3] == [None, None, None]  # export and cd carried over; borders ignored
    assert results[3] is not None and results[3].startswith(f"{doc}:14: output lacks 'yes'")


def test_every_doc_with_shell_blocks_is_run_or_named() -> None:
    """A new page with commands to type joins WALKTHROUGHS (or says here why not)."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    with_shell = {
        str(page.relative_to(REPO))
        for page in pages
        if any(is_shell(block) for block in extract_blocks(page))
    }
    assert with_shell <= set(WALKTHROUGHS) | set(NOT_WALKTHROUGHS)
    assert set(WALKTHROUGHS) <= with_shell
