"""Asserting a revert: the decoded exception class from `contracts.errors` and its decoded arguments."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from web3 import Web3

from contracts.errors import ContractRevert

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def normalise(value: Any) -> Any:
    """Addresses compare checksummed (the decoder returns them in lower case), enums as ints."""
    if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
        return Web3.to_checksum_address(value)
    if isinstance(value, (list, tuple)):
        return tuple(normalise(v) for v in value)
    if isinstance(value, int):
        return int(value)
    return value


@contextmanager
def reverts(error: type[ContractRevert], *args: Any) -> Iterator[pytest.ExceptionInfo[ContractRevert]]:
    """Expects exactly `error` (not a subclass or sibling) decoded with exactly `args`."""
    with pytest.raises(ContractRevert) as info:
        yield info
    assert type(info.value) is error, f"expected {error.__name__}, got {info.value!r}"
    assert info.value.name == error.__name__
    assert normalise(info.value.error_args) == normalise(args)
