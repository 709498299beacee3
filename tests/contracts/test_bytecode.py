"""No PUSH0 (0x5f, Shanghai) in the deployed runtime code: Energy Web chains run London rules."""

from __future__ import annotations

import pytest

PUSH0 = 0x5F
PUSH1, PUSH32 = 0x60, 0x7F


def executable_part(code: bytes) -> bytes:
    """The code without the CBOR metadata solc appends (its length is the code's last two bytes)."""
    metadata_len = int.from_bytes(code[-2:], "big")
    assert 0 < metadata_len + 2 < len(code), "no CBOR metadata trailer where one was expected"
    return code[: len(code) - metadata_len - 2]


def opcodes(code: bytes) -> list[tuple[int, int]]:
    """(offset, opcode) for each instruction, skipping the immediates of PUSH1..PUSH32."""
    found, pc = [], 0
    while pc < len(code):
        op = code[pc]
        found.append((pc, op))
        pc += 1 + (op - PUSH1 + 1 if PUSH1 <= op <= PUSH32 else 0)
    return found


@pytest.mark.chain
@pytest.mark.parametrize("binding", ["registry", "token", "market"])
def test_deployed_code_has_no_push0(deployment, chain, binding):
    code = bytes(chain.w3.eth.get_code(getattr(deployment, binding).address))
    assert len(code) > 1_000
    metadata = code[len(executable_part(code)) : -2]
    assert metadata[:1] in (b"\xa1", b"\xa2", b"\xa3")  # a CBOR map
    assert b"solc" in metadata
    ops = opcodes(executable_part(code))
    assert len(ops) > 300
    assert [pc for pc, op in ops if op == PUSH0] == []


@pytest.mark.parametrize("name", ["Registry", "FlexToken", "FlexibilityMarket"])
def test_compiled_runtime_has_no_push0(artifacts, name):
    assert artifacts.evm_version == "london"
    code = bytes.fromhex(artifacts[name].runtime.removeprefix("0x"))
    assert [pc for pc, op in opcodes(executable_part(code)) if op == PUSH0] == []


def test_the_walker_finds_push0_and_skips_immediates():
    metadata = b"\xa1\x64solc\x43\x00\x08\x1e"
    trailer = metadata + len(metadata).to_bytes(2, "big")
    clean = bytes([0x60, PUSH0, 0x7F, *([PUSH0] * 32), 0x00]) + trailer  # PUSH0 only as push data
    dirty = bytes([0x60, 0x01, PUSH0, 0x00]) + trailer
    assert [op for _, op in opcodes(executable_part(clean))] == [0x60, 0x7F, 0x00]
    assert [pc for pc, op in opcodes(executable_part(dirty)) if op == PUSH0] == [2]
