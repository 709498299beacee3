"""Many prosumer processes from one preloaded parent (`python -m prosumer fleet --count N`).

Each prosumer stays its own OS process with its own account, chain connection and HTTP client, but
what every one of them needs is loaded once, in the parent, before it forks:

- the imports (web3, httpx, pydantic, numpy, the domain models and the prosumer itself, and what a
  prosumer would import lazily: `warm_imports`), and the one TLS context its HTTP clients share;
- the population entries and the yearly PV and load profiles (read from the `.npz` cache, computed
  there on a miss), so the children share the profile arrays instead of each loading its own copy;
- the contracts bound once, the `CHAIN_*` settings read once, and the prosumer's setup paths run once
  against the chain and the aggregator with a throwaway account (`prosumer.warm`), its chain requests
  on the uplink's keep-alive socket (`Chain.use_plain_http`); its sockets are closed before any fork;
- then `gc.collect()` and `gc.freeze()`: the collector never walks (and so never writes to) the
  parent's objects in a child, which keeps their memory pages shared copy-on-write.

A child's private memory is mostly the shared pages it writes to (reference counts of every object
the code it runs touches), so the less distinct code a child runs, the less it costs; each child logs
its private memory after the fork, once set up and after 60 readings (`prosumer.memory`).

Each child builds its DER from the shared profiles and opens its connections after the fork (no
socket is shared). The parent forwards SIGTERM / SIGINT to its children, reaps them, and exits 0
when they all stopped cleanly. A child gets SIGTERM when the parent dies (Linux `PR_SET_PDEATHSIG`),
so a killed parent leaves no prosumer behind.

Two ways to start the children:

- at once (default): every prosumer of `--first .. --first+count-1`, `--stagger-ms` apart;
- on command (`--on-command`): the parent forks only when a line `start I J K` arrives on its
  standard input (the prosumers I, J, K of that range, `--stagger-ms` apart), preloading their
  entries and profiles first (so each ramp step pays only for its own prosumers); the end
  of its input (the process that drove it is gone) stops every child. `flexsim run` ramps its
  population this way (R13). A line `clock EPOCH` sets the real Unix time of the simulated clock's
  start for the children forked after it (`flexsim run` fixes it once its services are up).

Keys: one key file per prosumer in `state_dir` (created on first use), or `--keys-file`: a JSON list
of hex keys where entry I is prosumer I's key. PROSUMER_KEY and PROSUMER_KEY_FILE must be unset.
`--pid-map FILE` keeps a JSON map `{index: {"pid": P, "exit": code or null}}` up to date (written
atomically after every fork and reap): how a driver signals one prosumer (SIGUSR1: remove its DER).
`--log-dir DIR` sends each child's output to `DIR/prosumer-<index:04d>.log` instead of the parent's.

Setup queue: at most `--setup-slots K` children set up at once (default 4 per CPU; `prosumer.setup_gate`):
a child forked while K others set up waits, idle, for its slot before it builds its DER, checks its
funds, asks the aggregator's consent and registers; it frees the slot once set up, before it streams.
Without it a thousand children setting up together time each other out and fill the aggregator's
allowance of pending login challenges for their shared address (docs/scale.md).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import select
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType

from pydantic import SecretStr

from base.errors import ConfigError, FlexsimError
from base.signals import die_with
from contracts.deployment import Deployment
from contracts.settings import ChainSettings
from domain.der import make_der
from domain.errors import ParameterError
from domain.population import PopulationEntry, entry_of_kind, sample_entry
from domain.profiles import Profiles
from domain.vocabulary import SourceKind
from prosumer.agent import Agent
from prosumer.identity import parse_key
from prosumer.logs import rename_logging
from prosumer.memory import private_kb
from prosumer.profiling import profiled
from prosumer.settings import ProsumerSettings
from prosumer.setup_gate import SetupGate

log = logging.getLogger(__name__)

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
FORK_MASK = STOP_SIGNALS | {signal.SIGUSR1}  # held from fork until the agent handles them
POLL_S = 0.2


@dataclass
class FleetOptions:
    """How a fleet starts its children (see the module docstring)."""

    stagger_s: float = 0.02
    on_command: bool = False
    keys_file: Path | None = None
    pid_map: Path | None = None
    log_dir: Path | None = None
    setup_slots: int = 0  # prosumers setting up at once at most; 0: no bound
    slots_dir: Path | None = None  # where the slots' lock files are (run_fleet makes a temporary one)


def default_setup_slots() -> int:
    """4 per CPU: enough to keep the cores busy while some of those setting up wait for the chain."""
    return 4 * (os.cpu_count() or 1)


def warm_imports() -> None:
    """What every child would otherwise import, or build, after the fork (each its own copy): the
    modules a prosumer loads lazily (its enrolment client, the WebSocket client, web3's HTTP provider
    and request machinery), the TLS context its HTTP clients share (`prosumer.net`) and libc's `prctl`."""
    import websockets.sync.client  # noqa: F401  (events pushed over a WebSocket)

    import prosumer.enrolment  # noqa: F401  (ChainSide.connect imports it)
    from base.signals import prctl_function
    from prosumer.net import tls_context

    tls_context()
    prctl_function()  # what `die_with` calls first thing in each child


def preload_deployment(settings: ProsumerSettings, chain_settings: ChainSettings) -> Deployment | None:
    """The contracts bound once, in the parent (web3 builds a class per ABI entry: a few MB each
    child would otherwise build for itself), and the market's event decoder. The parent's connection
    is closed before any fork; each child opens its own. None (each child loads its own) when the
    chain cannot be reached now."""
    from prosumer.events import market_decoder

    try:
        d = Deployment.load(settings.manifest, chain_settings, rpc_url=settings.rpc_url)
    except FlexsimError as exc:
        log.warning("contracts not preloaded (%s): each prosumer binds its own", exc)
        return None
    market_decoder(d.market)
    d.chain.use_plain_http()  # raw JSON-RPC on the uplink's socket code: less code touched in each child
    from prosumer.warm import warm_chain

    started = time.monotonic()
    done = warm_chain(d, settings.aggregator_url)
    log.info("setup paths warmed in the parent (%d steps, %.1f s)", done, time.monotonic() - started)
    d.chain.disconnect()  # nothing of the parent's connection goes to the children
    return d


def preload(
    settings: ProsumerSettings, indices: list[int], profiles: Profiles | None = None
) -> tuple[Profiles, dict[int, PopulationEntry]]:
    """The population entries and their profiles, loaded into one shared `Profiles` memo."""
    profiles = profiles or Profiles(settings.profile_cache_dir)
    entries = {i: sample_entry(settings.seed, i, settings.population()) for i in indices}
    for entry in entries.values():
        make_der(entry, profiles)  # reads (or computes) every profile this DER needs, once
    return profiles, entries


def load_keys(path: Path, indices: list[int]) -> dict[int, str]:
    """Entry I of the JSON list in `path` is prosumer I's key; every index must have one."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the fleet's keys file {path}: {exc}") from None
    if not isinstance(raw, list) or not all(isinstance(k, str) for k in raw):
        raise ConfigError(f"the keys file {path} must hold a JSON list of hex keys (entry I for prosumer I)")
    missing = [i for i in indices if i >= len(raw)]
    if missing:
        raise ConfigError(
            f"the keys file {path} has {len(raw)} keys; prosumer {missing[0]} needs entry {missing[0]}: "
            "write one key per prosumer of the fleet"
        )
    return {i: parse_key(raw[i], f"{path}[{i}]") for i in indices}


def parse_clock(line: str) -> float | None:
    """`clock EPOCH` -> the real Unix time the simulated clock starts at; None for any other line."""
    words = line.split()
    if len(words) != 2 or words[0] != "clock":
        return None
    try:
        return float(words[1])
    except ValueError:
        raise ConfigError(f"fleet command {line.strip()!r}: expected 'clock EPOCH'") from None


def parse_command(line: str, known: set[int]) -> list[int]:
    """`start I J K` -> [I, J, K]; anything else is a ConfigError naming the line."""
    words = line.split()
    if not words or words[0] != "start" or not all(w.isdigit() for w in words[1:]):
        raise ConfigError(f"fleet command {line.strip()!r}: expected 'start I [J ...]'")
    indices = [int(w) for w in words[1:]]
    unknown = [i for i in indices if i not in known]
    if unknown:
        raise ConfigError(f"fleet command {line.strip()!r}: prosumer {unknown[0]} is outside --first/--count")
    return indices


@dataclass(frozen=True)
class AddCommand:
    index: int
    kind: SourceKind
    capacity_w: float
    flex: dict[str, int]  # flex_up_w / flex_down_w given instead of sampled


def parse_add(line: str, started: set[int]) -> AddCommand:
    """`add I KIND CAPACITY_W [flex_up_w=N] [flex_down_w=N]`; a ConfigError naming the line otherwise."""
    words = line.split()
    try:
        if len(words) < 4 or words[0] != "add" or not words[1].isdigit():
            raise ValueError("expected 'add I KIND CAPACITY_W [flex_up_w=N] [flex_down_w=N]'")
        flex: dict[str, int] = {}
        for word in words[4:]:
            name, _, value = word.partition("=")
            if name not in ("flex_up_w", "flex_down_w") or not value.isdigit():
                raise ValueError(f"unknown term {word!r} (flex_up_w=N or flex_down_w=N)")
            flex[name] = int(value)
        command = AddCommand(int(words[1]), SourceKind.parse(words[2]), float(words[3]), flex)
    except (ValueError, FlexsimError) as exc:
        raise ConfigError(f"fleet command {line.strip()!r}: {exc}") from None
    if command.index in started:
        raise ConfigError(f"fleet command {line.strip()!r}: prosumer {command.index} was started already")
    return command


@dataclass
class _Fleet:
    settings: ProsumerSettings
    opts: FleetOptions
    profiles: Profiles
    entries: dict[int, PopulationEntry]
    keys: dict[int, str]
    allowed: set[int]
    children: dict[int, int] = field(default_factory=dict)  # pid -> index
    record: dict[int, dict[str, int | None]] = field(default_factory=dict)  # index -> pid, exit
    stopping: bool = False
    failed: int = 0
    deployment: Deployment | None = None
    chain_settings: ChainSettings | None = None

    def __repr__(self) -> str:
        """Short on purpose: `fleet.stop` is the SIGTERM handler each child inherits, and a child's
        `signal.signal` formats the handler it replaces (an enum lookup that fails), i.e. this repr. The
        dataclass's own (every entry, every key) cost each child 1.3 MB of private memory at 6
        prosumers, more with more entries."""
        return f"_Fleet({len(self.entries)} entries, {len(self.children)} children)"

    def stop(self, signum: int = signal.SIGTERM, frame: FrameType | None = None) -> None:
        self.stopping = True
        for pid in list(self.children):
            _kill(pid, signal.SIGTERM)

    def load(self, indices: list[int]) -> None:
        """Preloads the entries and profiles of `indices` not loaded yet, then freezes the heap again
        (a fleet on command loads each ramp step's prosumers when it is asked to start them)."""
        todo = [i for i in indices if i not in self.entries]
        if not todo:
            return
        started = time.monotonic()
        _, entries = preload(self.settings, todo, self.profiles)
        self.entries.update(entries)
        gc.collect()
        gc.freeze()
        log.info("preloaded %d prosumers in %.1f s", len(todo), time.monotonic() - started)

    def fork(self, indices: list[int]) -> None:
        self.load(indices)
        for n, i in enumerate(indices):
            if self.stopping:
                break
            if i in self.record:
                log.warning("prosumer %d was started already; not starting it again", i)
                continue
            if n:
                time.sleep(self.opts.stagger_s)
            signal.pthread_sigmask(signal.SIG_BLOCK, FORK_MASK)  # no stop() between fork and record
            pid = os.fork()
            if pid == 0:
                os._exit(
                    _child(
                        self.settings, i, self.profiles, self.entries[i], self.keys.get(i), self.opts,
                        self.deployment, self.chain_settings,
                    )
                )  # fmt: skip
            self.children[pid] = i
            self.record[i] = {"pid": pid, "exit": None}
            signal.pthread_sigmask(signal.SIG_UNBLOCK, FORK_MASK)
        self.write_map()

    def add(self, line: str) -> None:
        """`add I KIND CAPACITY_W`: one prosumer of a chosen kind and size, with key I of the keys file."""
        c = parse_add(line, set(self.record))
        index = c.index
        if self.opts.keys_file is None:
            raise ConfigError("`add` needs --keys-file (entry I is the new prosumer's key)")
        self.keys.update(load_keys(self.opts.keys_file, [index]))
        entry = entry_of_kind(self.settings.seed, index, c.kind, c.capacity_w)
        if c.flex:
            entry = replace(entry, terms=replace(entry.terms, **c.flex).check())  # type: ignore[arg-type]
        self.entries[index] = entry
        make_der(entry, self.profiles)  # loads its profiles in the parent, once
        self.allowed.add(index)
        self.fork([index])

    def reap(self) -> None:
        changed = False
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            index = self.children.pop(pid, None)
            code = os.waitstatus_to_exitcode(status)
            if index is not None:
                self.record[index]["exit"] = code
                changed = True
            if code != 0:
                self.failed += 1
                log.warning("prosumer %s (pid %d) exited with %d", index, pid, code)
        if changed:
            self.write_map()

    def write_map(self) -> None:
        path = self.opts.pid_map
        if path is None:
            return
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump({str(i): r for i, r in sorted(self.record.items())}, f)
        os.replace(tmp, path)


def run_fleet(settings: ProsumerSettings, indices: list[int], opts: FleetOptions | None = None) -> int:
    """Forks one prosumer process per index (at once, or on command); 0 when every child stopped
    cleanly."""
    opts = opts or FleetOptions()
    if settings.key is not None or settings.key_file is not None:
        raise ConfigError(
            "a fleet needs one key per prosumer: unset PROSUMER_KEY and PROSUMER_KEY_FILE (each prosumer "
            "keeps its key in PROSUMER_STATE_DIR/prosumer-<seed>-<index>.key, or give --keys-file)"
        )
    if not indices:
        raise ConfigError("a fleet needs at least one prosumer (--count >= 1)")
    keys = load_keys(opts.keys_file, indices) if opts.keys_file else {}
    if opts.setup_slots < 0:
        raise ConfigError("--setup-slots must be 0 (no bound) or more")
    if opts.setup_slots and opts.slots_dir is None:
        opts = replace(opts, slots_dir=Path(tempfile.mkdtemp(prefix="flexsim-setup-slots-")))
    try:
        return _run_fleet(settings, indices, opts, keys)
    finally:
        if opts.slots_dir is not None and opts.slots_dir.name.startswith("flexsim-setup-slots-"):
            shutil.rmtree(opts.slots_dir, ignore_errors=True)


def _run_fleet(
    settings: ProsumerSettings, indices: list[int], opts: FleetOptions, keys: dict[int, str]
) -> int:
    warm_imports()
    fleet = _Fleet(settings, opts, Profiles(settings.profile_cache_dir), {}, keys, set(indices))
    fleet.chain_settings = ChainSettings()  # read once here: each child shares them
    fleet.deployment = preload_deployment(settings, fleet.chain_settings)
    fleet.load([] if opts.on_command else indices)  # on command: each step loads its own prosumers
    signal.signal(signal.SIGTERM, fleet.stop)
    signal.signal(signal.SIGINT, fleet.stop)
    fleet.write_map()
    if not opts.on_command:
        fleet.fork(indices)
    pending = b""
    listening = opts.on_command
    while fleet.children or (listening and not fleet.stopping):
        fleet.reap()
        if not listening or fleet.stopping:
            time.sleep(POLL_S)
            continue
        ready, _, _ = select.select([0], [], [], POLL_S)
        if not ready:
            continue
        chunk = os.read(0, 4096)
        if not chunk:  # whoever drove the fleet is gone: stop
            log.info("end of commands: stopping %d prosumers", len(fleet.children))
            listening = False
            fleet.stop()
            continue
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            text = line.decode(errors="replace")
            try:
                clock = parse_clock(text)
                if clock is not None:  # the run's clock, fixed once its services are up
                    fleet.settings = fleet.settings.model_copy(update={"sim_real_start_epoch": clock})
                    continue
                if text.split()[0] == "add":
                    fleet.add(text)
                else:
                    fleet.fork(parse_command(text, fleet.allowed))
            except (
                ConfigError,
                ParameterError,
            ) as exc:  # a bad line is the driver's bug: say so, keep the others running
                log.error("%s", exc)
    fleet.reap()
    log.info("fleet stopped (%d of %d children failed)", fleet.failed, len(fleet.record))
    return 0 if fleet.failed == 0 else 1


def _child(
    settings: ProsumerSettings,
    index: int,
    profiles: Profiles,
    entry: PopulationEntry,
    key: str | None,
    opts: FleetOptions,
    deployment: Deployment | None = None,
    chain_settings: ChainSettings | None = None,
) -> int:
    code = 1
    forked_kb = private_kb()
    try:
        die_with(os.getppid())
        if opts.on_command:  # the parent's command pipe is not the child's to read
            _replace_fd(0, os.devnull, os.O_RDONLY)
        if opts.log_dir is not None:
            path = opts.log_dir / f"prosumer-{index:04d}.log"
            _replace_fd(1, str(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            _replace_fd(2, str(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        rename_logging(f"prosumer-{index}")
        log.info("memory: %s kB private after the fork", forked_kb)
        update: dict[str, object] = {"index": index}
        if key is not None:
            update["key"] = SecretStr(key)
        gate = (
            SetupGate(opts.slots_dir, opts.setup_slots, index)
            if opts.setup_slots and opts.slots_dir is not None
            else None
        )
        agent = Agent(
            settings.model_copy(update=update),
            profiles=profiles,
            entry=entry,
            deployment=deployment,
            chain_settings=chain_settings,
            gate=gate,
        )
        agent.install_signals()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, FORK_MASK)  # a signal sent meanwhile arrives now
        code = profiled(index, agent.run)
    except FlexsimError as exc:
        log.error("prosumer %d: %s", index, exc)
    except BaseException:
        log.exception("prosumer %d stopped with an error", index)
    finally:
        logging.shutdown()
    return code


def _replace_fd(target: int, path: str, flags: int) -> None:
    fd = os.open(path, flags, 0o644)
    os.dup2(fd, target)
    os.close(fd)


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
