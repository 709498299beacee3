"""Many prosumer processes from one preloaded parent (`python -m prosumer fleet --count N`).

Each prosumer stays its own OS process with its own account, chain connection and HTTP client, but
what every one of them needs is loaded once, in the parent, before it forks:

- the imports (web3, httpx, pydantic, numpy, the domain models and the prosumer itself);
- the population entries and the yearly PV and load profiles (read from the `.npz` cache, computed
  there on a miss), so the children share the profile arrays instead of each loading its own copy;
- then `gc.collect()` and `gc.freeze()`: the collector never walks (and so never writes to) the
  parent's objects in a child, which keeps their memory pages shared copy-on-write.

Each child builds its DER from the shared profiles and opens its connections after the fork (no
socket is shared). The parent forwards SIGTERM / SIGINT to its children, reaps them, and exits 0
when they all stopped cleanly. Keys: one key file per prosumer in `state_dir` (created on first use),
so PROSUMER_KEY and PROSUMER_KEY_FILE must be unset.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import time
from types import FrameType

from domain.der import make_der
from domain.population import PopulationEntry, sample_entry
from domain.profiles import Profiles
from flexsim.errors import ConfigError, FlexsimError
from prosumer.agent import Agent
from prosumer.settings import ProsumerSettings

log = logging.getLogger(__name__)

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def preload(settings: ProsumerSettings, indices: list[int]) -> tuple[Profiles, dict[int, PopulationEntry]]:
    """The population entries and their profiles, loaded into one shared `Profiles` memo."""
    profiles = Profiles(settings.profile_cache_dir)
    entries = {i: sample_entry(settings.seed, i) for i in indices}
    for entry in entries.values():
        make_der(entry, profiles)  # reads (or computes) every profile this DER needs, once
    return profiles, entries


def run_fleet(settings: ProsumerSettings, indices: list[int], stagger_s: float = 0.02) -> int:
    """Forks one prosumer process per index; returns 0 when every child stopped cleanly."""
    if settings.key is not None or settings.key_file is not None:
        raise ConfigError(
            "a fleet needs one key per prosumer: unset PROSUMER_KEY and PROSUMER_KEY_FILE (each prosumer "
            "keeps its key in PROSUMER_STATE_DIR/prosumer-<seed>-<index>.key)"
        )
    if not indices:
        raise ConfigError("a fleet needs at least one prosumer (--count >= 1)")
    started = time.monotonic()
    profiles, entries = preload(settings, indices)
    log.info("preloaded %d prosumers in %.1f s; forking", len(indices), time.monotonic() - started)
    gc.collect()
    gc.freeze()
    children: dict[int, int] = {}
    stopping = False

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            _kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for i in indices:
        if stopping:
            break
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # no forward() between fork and record
        pid = os.fork()
        if pid == 0:
            os._exit(_child(settings, i, profiles, entries[i]))
        children[pid] = i
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        time.sleep(stagger_s)
    failed, forked = 0, len(children)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        index = children.pop(pid, None)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            failed += 1
            log.warning("prosumer %s (pid %d) exited with %d", index, pid, code)
    log.info("fleet stopped (%d of %d children failed)", failed, forked)
    return 0 if failed == 0 else 1


def _child(settings: ProsumerSettings, index: int, profiles: Profiles, entry: PopulationEntry) -> int:
    from prosumer.__main__ import configure_logging

    code = 1
    try:
        configure_logging(f"prosumer-{index}")
        agent = Agent(settings.model_copy(update={"index": index}), profiles=profiles, entry=entry)
        agent.install_signals()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # a stop sent meanwhile arrives now
        code = agent.run()
    except FlexsimError as exc:
        log.error("prosumer %d: %s", index, exc)
    except BaseException:
        log.exception("prosumer %d stopped with an error", index)
    finally:
        logging.shutdown()
    return code


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
