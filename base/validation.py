"""One way to say what is wrong with settings or a scenario that pydantic refused."""

from __future__ import annotations

from pydantic import ValidationError


def problems(exc: ValidationError, env_prefix: str | None = None, whole: str = "(whole)") -> str:
    """Every problem as `field: reason`, joined by "; ". With `env_prefix` a field is named by its
    environment variable (`AGGREGATOR_PORT`); without it by its dotted path (`population.count`), and
    a problem of the whole model by `whole`."""
    parts = []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err["loc"]]
        msg = err["msg"].removeprefix("Value error, ")
        if env_prefix is not None:
            # a problem of the whole settings names its variables itself
            parts.append(f"{env_prefix}{'_'.join(loc).upper()}: {msg}" if loc else msg)
        else:
            parts.append(f"{'.'.join(loc) or whole}: {msg}")
    return "; ".join(parts)
