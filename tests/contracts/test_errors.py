"""The Python face of the Solidity custom errors: one class per error, and the revert decoder.

No chain needed: the ABIs come from the (cached) compiler output.
"""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak

from base.errors import FlexsimError
from contracts import errors
from contracts.deployment import CONTRACTS
from contracts.errors import ChainError, ContractRevert, RevertDecoder, UnknownRevert, known_error_names

ADDRESS = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def abi_errors(artifacts) -> dict[str, set[str]]:
    """Error name -> signatures, over the three contracts' ABIs."""
    found: dict[str, set[str]] = {}
    for name in CONTRACTS:
        for item in artifacts[name].abi:
            if item["type"] == "error":
                types = ",".join(i["type"] for i in item["inputs"])
                found.setdefault(item["name"], set()).add(f"{item['name']}({types})")
    return found


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def test_every_abi_error_has_a_python_class_and_back(artifacts):
    in_abis = set(abi_errors(artifacts))
    assert len(in_abis) > 30
    assert in_abis - known_error_names() == set(), "ABI errors without a Python class"
    assert known_error_names() - in_abis == set(), "Python classes for errors no contract declares"


def test_an_error_name_means_one_signature(artifacts):
    """Shared names (NotMarket, AlreadyConnected, ...) must be one error, or decoding is ambiguous."""
    assert {n: s for n, s in abi_errors(artifacts).items() if len(s) > 1} == {}


@pytest.mark.parametrize("name", sorted(known_error_names()))
def test_each_class_is_a_contract_revert(name):
    cls = getattr(errors, name)
    assert issubclass(cls, ContractRevert) and issubclass(cls, ChainError) and issubclass(cls, FlexsimError)
    assert errors.error_class(name) is cls
    assert cls.__doc__, f"{name} needs a docstring that says what went wrong"


def test_decode_a_custom_error_with_arguments(decoder):
    data = selector("RegisteredAfterOpen(address,uint256,uint256)") + encode(
        ["address", "uint256", "uint256"], [ADDRESS, 12, 7]
    )
    exc = decoder.decode("0x" + data.hex(), tx_hash="0xabc")
    assert type(exc) is errors.RegisteredAfterOpen
    assert exc.name == "RegisteredAfterOpen"
    assert exc.error_args == (ADDRESS, 12, 7)
    assert exc.tx_hash == "0xabc"
    assert "RegisteredAfterOpen" in str(exc) and "0xabc" in str(exc)


def test_decode_a_custom_error_with_an_enum_and_no_arguments(decoder):
    data = selector("AlreadyResponded(uint256,address,uint8)") + encode(
        ["uint256", "address", "uint8"], [3, ADDRESS, 2]
    )
    exc = decoder.decode(data)
    assert (type(exc), exc.error_args) == (errors.AlreadyResponded, (3, ADDRESS, 2))
    assert type(decoder.decode(selector("ZeroAmount()"))) is errors.ZeroAmount


def test_decode_an_unknown_selector(decoder):
    data = bytes.fromhex("deadbeef") + encode(["uint256"], [1])
    exc = decoder.decode("0x" + data.hex())
    assert type(exc) is UnknownRevert
    assert exc.error_args == ("0x" + data.hex(),)


@pytest.mark.parametrize(
    "data", [None, "", "0x", b"\x01\x02", "not hex"], ids=["none", "empty", "0x", "short", "junk"]
)
def test_decode_missing_or_short_data(decoder, data):
    exc = decoder.decode(data)
    assert type(exc) is UnknownRevert


def test_decode_a_reason_string_and_a_panic(decoder):
    reason = decoder.decode(selector("Error(string)") + encode(["string"], ["nope"]))
    assert (type(reason), reason.error_args) == (errors.Error, ("nope",))
    panic = decoder.decode(selector("Panic(uint256)") + encode(["uint256"], [0x11]))
    assert (type(panic), panic.error_args) == (errors.Panic, (0x11,))


def test_decode_malformed_arguments_keeps_the_name(decoder):
    data = selector("NotOwner(address)") + b"\x00" * 5
    exc = decoder.decode(data)
    assert type(exc) is errors.NotOwner
    assert exc.error_args == ("0x" + "00" * 5,)


def test_decode_node_wrapped_data(decoder):
    exc = decoder.decode({"data": "0x" + selector("ZeroPower()").hex()})
    assert type(exc) is errors.ZeroPower


def test_a_decoder_only_knows_the_abis_it_was_given():
    exc = RevertDecoder([]).decode(selector("ZeroPower()"))
    assert type(exc) is UnknownRevert
