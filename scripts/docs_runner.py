"""Run the shell blocks of a markdown file against a real localnet (issue 21: executable docs).

    .venv/bin/python scripts/docs_runner.py README.md docs/credit.md docs/wallet.md

Conventions in the markdown
---------------------------
* **What runs.** Every fenced block whose info string is ``sh`` (```` ```sh ````),
  in the order of the file. Other blocks (``json``, ``python``, ``toml``, a
  bare ```` ``` ````) are never run: use them for outputs, files and templates.
* **Skipping a block.** An HTML comment on the line before the fence (blank
  lines between are allowed), which must say why::

      <!-- docs-runner: skip: long-running, it is the network the other blocks use -->

  A skip without a reason is an error. Use it for what cannot run in a test
  (``make run``, ``make image-test``, a validator under ``/srv``).
* **Stopping the network first.** ``<!-- docs-runner: stop-localnet -->``
  before a block stops the localnet (SIGTERM, as Ctrl-C on ``make run``)
  before the block runs: for the auditor's commands, which need it stopped.
* **Commands.** A command is one line, or the lines a shell reads as one
  (``\\`` continuations, ``for ... done`` over several lines). Blank lines and
  lines that are only a comment are not commands. All commands of a file run
  in one ``bash`` process, as typed in one terminal: variables, ``export``
  and ``cd`` carry over. stdin is ``/dev/null``, so a command that would
  prompt fails: write ``--yes`` and ``export CREDICHAIN_PASSPHRASE=...``.
  Every command must exit 0, except as below.
* **Checked outputs.** A trailing comment ``# => TEXT`` on a command (on its
  last line when it spans several) means: its output (stdout and stderr)
  contains TEXT. ``# => A; B`` checks A and B (each anywhere). Table borders
  (``│ ┃ ─``...) and runs of spaces are read as one space on both sides, so
  ``# => status active`` matches the row ``│ status │ active │``.
  ``# =>! TEXT`` means the command must fail (exit status not 0) with TEXT in
  its output. A plain ``# comment`` is for people and checks nothing.

What the runner provides
------------------------
A fresh working directory (files a doc makes with ``echo ... > budget.pdf``
land there), with ``.venv`` and ``scripts`` linked to this checkout so that
``.venv/bin/credichain`` works as in a checkout and ``credichain`` is on
``PATH``; a localnet of real validator processes in ``./localnet`` (node
homes ``localnet/node0``...) on free ports; ``CREDICHAIN_RPC`` pointing at
node0 and ``CREDICHAIN_KEYSTORE`` at an empty keystore in the working
directory. Every other ``CREDICHAIN_*`` variable is removed, and ``HOME`` is
the working directory. Nothing in the commands is rewritten.

The report names the first failing command by file and line, with its exit
status, what was expected and the output.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from node.cli.localnet import free_ports, prepare_localnet
from node.testing.procs import NodeProcess, stop_all

REPO = Path(__file__).resolve().parent.parent
SKIP = re.compile(r"^<!--\s*docs-runner:\s*skip\b:?\s*(?P<reason>.*?)\s*-->\s*$")
STOP = re.compile(r"^<!--\s*docs-runner:\s*stop-localnet\s*-->\s*$")
DIRECTIVE = re.compile(r"^<!--\s*docs-runner:")
FENCE = re.compile(r"^(?P<fence>```+|~~~+)\s*(?P<info>[^`]*)$")
EXPECT = re.compile(r"\s#\s*=>(?P<fail>!?)\s?(?P<text>.*)$")
BORDERS = re.compile(r"[\u2500-\u257f]+")
SPACES = re.compile(r"\s+")
DEFAULT_TIMEOUT = 150.0
# Localnets started from several threads pick their free ports one at a time:
# a range is free until its nodes bind it, which start() waits for.
_STARTING = threading.Lock()


class DocsError(Exception):
    """The markdown breaks the runner's conventions (a skip without a reason...)."""


@dataclass(frozen=True, slots=True)
class Command:
    path: Path
    line: int  # 1-based line of the command's first line in the markdown
    text: str
    expect: tuple[str, ...]  # fragments the output must contain
    must_fail: bool

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class Block:
    path: Path
    line: int  # the fence's line
    info: str
    body: tuple[tuple[int, str], ...]  # (line number, text)
    skip: str | None  # the reason, when skipped
    stop_localnet: bool


@dataclass
class Report:
    path: Path
    blocks_run: int = 0
    blocks_skipped: list[tuple[int, str]] = field(default_factory=list)
    commands: int = 0
    checks: int = 0
    failure: str | None = None

    def summary(self) -> str:
        text = (
            f"{self.path}: {self.blocks_run} blocks, {self.commands} commands, "
            f"{self.checks} checked outputs, {len(self.blocks_skipped)} blocks skipped"
        )
        return text + (f"\nFAILED {self.failure}" if self.failure else ", all passed")


# ------------------------------------------------------------- reading the markdown


def extract_blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path`` in order, with its skip/stop directives."""
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    pending: list[str] = []  # directive lines seen since the last non-blank line
    index = 0
    while index < len(lines):
        line = lines[index]
        opened = FENCE.match(line)
        if opened is None:
            if DIRECTIVE.match(line.strip()):
                pending.append(line.strip())
            elif line.strip():
                pending = []
            index += 1
            continue
        fence, info, start = opened["fence"], opened["info"].strip(), index + 1
        body: list[tuple[int, str]] = []
        index += 1
        while index < len(lines) and not lines[index].startswith(fence):
            body.append((index + 1, lines[index]))
            index += 1
        index += 1  # the closing fence
        skip: str | None = None
        stop = False
        for directive in pending:
            if (found := SKIP.match(directive)) is not None:
                if not found["reason"]:
                    raise DocsError(f"{path}:{start}: a docs-runner skip must say why")
                skip = found["reason"]
            elif STOP.match(directive):
                stop = True
            else:
                raise DocsError(f"{path}:{start}: unknown directive {directive!r}")
        pending = []
        blocks.append(Block(path, start, info, tuple(body), skip, stop))
    return blocks


def is_shell(block: Block) -> bool:
    return block.info.split()[0:1] == ["sh"]


def complete(text: str) -> bool:
    """Whether bash reads ``text`` as whole commands (no open loop, quote or ``\\``)."""
    if text.endswith("\\"):
        return False
    checked = subprocess.run(
        ["bash", "-n", "-c", text], capture_output=True, text=True, check=False
    )
    return checked.returncode == 0


def commands(block: Block) -> list[Command]:
    """The commands of a shell block, each with the outputs its comments expect."""
    found: list[Command] = []
    pending: list[tuple[int, str]] = []
    for number, line in block.body:
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue  # a blank line or a comment for people
        pending.append((number, line))
        text = "\n".join(part for _, part in pending)
        if not complete(text):
            continue
        expect: list[str] = []
        must_fail = False
        for _, part in pending:
            if (match := EXPECT.search(part)) is not None:
                must_fail = must_fail or match["fail"] == "!"
                expect.extend(f.strip() for f in match["text"].split(";") if f.strip())
        found.append(Command(block.path, pending[0][0], text, tuple(expect), must_fail))
        pending = []
    if pending:
        raise DocsError(f"{block.path}:{pending[0][0]}: the command never ends (bash -n)")
    return found


def normalize(text: str) -> str:
    return SPACES.sub(" ", BORDERS.sub(" ", text)).strip()


# ------------------------------------------------------------- one terminal


class Shell:
    """One ``bash`` process that runs commands in turn, like one terminal."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self._state = Path(tempfile.mkdtemp(prefix="docs-runner-"))
        self._count = 0
        self.proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=workdir,
            env=env,
            text=True,
            start_new_session=True,
        )

    def run(self, text: str, timeout: float) -> tuple[int | None, str]:
        """Exit status (None on a timeout) and the combined output of ``text``."""
        self._count += 1
        output = self._state / f"{self._count}.out"
        status = self._state / f"{self._count}.rc"
        script = (
            f"{{\n{text}\n}} > {shlex.quote(str(output))} 2>&1 < /dev/null\n"
            f"echo $? > {shlex.quote(str(status))}.tmp && "
            f"mv {shlex.quote(str(status))}.tmp {shlex.quote(str(status))}\n"
        )
        assert self.proc.stdin is not None
        self.proc.stdin.write(script)
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while not status.exists():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                return None, output.read_text(errors="replace") if output.exists() else ""
            time.sleep(0.05)
        return int(status.read_text()), output.read_text(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        shutil.rmtree(self._state, ignore_errors=True)


# ------------------------------------------------------------- the localnet


class Localnet:
    """A fresh localnet of real validator processes in ``directory`` (as ``make run``)."""

    def __init__(self, directory: Path, validators: int = 4) -> None:
        self.ports = free_ports(validators)
        self.homes = prepare_localnet(directory, validators, self.ports)
        self.nodes = [NodeProcess(home) for home in self.homes]

    @property
    def rpc(self) -> str:
        return f"http://127.0.0.1:{self.ports.rpc}"

    def start(self, min_height: int = 2, timeout: float = 90) -> None:
        for node in self.nodes:
            node.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            heights = [_height(self.ports.rpc + i) for i in range(len(self.nodes))]
            if all(h is not None and h >= min_height for h in heights):
                return
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"the localnet did not reach height {min_height} in {timeout:g} s")

    def stop(self) -> None:
        stop_all(self.nodes)

    def logs(self) -> str:
        return "\n".join(f"--- node{i}\n{n.log_tail(4)}" for i, n in enumerate(self.nodes))


def _height(port: int) -> int | None:
    body = b'{"jsonrpc": "2.0", "id": 1, "method": "chain_getHeader", "params": []}'
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            header = json.loads(response.read()).get("result")
    except (OSError, ValueError):
        return None
    return int(header["number"]) if isinstance(header, dict) else None


def environment(workdir: Path, rpc: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDICHAIN_")}
    env.pop("VIRTUAL_ENV", None)
    venv_bin = REPO / ".venv" / "bin"
    env.update(
        PATH=f"{venv_bin}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
        HOME=str(workdir),
        CREDICHAIN_RPC=rpc,
        CREDICHAIN_KEYSTORE=str(workdir / "keystore"),
    )
    return env


@contextlib.contextmanager
def workspace(parent: Path | None = None) -> Iterator[Path]:
    """A working directory that looks like a checkout for the commands of the docs."""
    with tempfile.TemporaryDirectory(prefix="docs-", dir=parent) as raw:
        workdir = Path(raw)
        for name in (".venv", "scripts", "deploy"):
            (workdir / name).symlink_to(REPO / name)
        yield workdir


# ------------------------------------------------------------- running a file


def run_file(path: Path, workdir: Path, timeout: float = DEFAULT_TIMEOUT) -> Report:
    """Start a localnet in ``workdir/localnet`` and run ``path``'s shell blocks against it."""
    report = Report(path)
    blocks = [b for b in extract_blocks(path) if is_shell(b)]
    planned = [(b, [] if b.skip else commands(b)) for b in blocks]  # parse errors first
    with _STARTING:
        net = Localnet(workdir / "localnet")
        net.start()
    shell = Shell(workdir, environment(workdir, net.rpc))
    try:
        for block, todo in planned:
            if block.skip is not None:
                report.blocks_skipped.append((block.line, block.skip))
                continue
            if block.stop_localnet:
                net.stop()
            report.blocks_run += 1
            for command in todo:
                report.commands += 1
                report.failure = check(command, *shell.run(command.text, timeout), timeout)
                if report.failure is not None:
                    if any(n.running for n in net.nodes):
                        report.failure += f"\nlocalnet logs:\n{net.logs()}"
                    return report
                report.checks += len(command.expect)
    finally:
        shell.close()
        net.stop()
    return report


def check(command: Command, status: int | None, output: str, timeout: float) -> str | None:
    """``None`` if the command did as the doc says, else what went wrong."""
    problem = None
    if status is None:
        problem = f"did not finish within {timeout:g} s"
    elif command.must_fail and status == 0:
        problem = "exit status 0, but the doc says it fails (# =>!)"
    elif not command.must_fail and status != 0:
        problem = f"exit status {status}"
    else:
        seen = normalize(output)
        missing = [f for f in command.expect if normalize(f) not in seen]
        if missing:
            problem = f"output lacks {missing[0]!r}"
    if problem is None:
        return None
    return f"{command.where}: {problem}\n$ {command.text}\n{output.rstrip()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="per command, s")
    args = parser.parse_args(argv)
    failed = False
    for path in args.files:
        with workspace() as workdir:
            report = run_file(path, workdir, args.timeout)
        print(report.summary(), flush=True)
        failed = failed or report.failure is not None
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
