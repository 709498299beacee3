#!/bin/bash
# flexsim-docker-chain: the compose `chain` service. anvil with London rules (like Energy Web chains:
# no PUSH0), listening on all interfaces so the other containers reach it at http://chain:8545.
# (`flexsim chain` binds 127.0.0.1 only.) anvil's public development mnemonic: local chains only.
#   FLEXSIM_CHAIN_ID      31337 (Volta-like: 73799)
#   FLEXSIM_BLOCK_TIME_S  0 = a block per transaction (automine); Volta-like: 5
#   FLEXSIM_GAS_LIMIT     8000000 (Volta's block gas limit)
set -euo pipefail
args=(
  --host 0.0.0.0 --port 8545
  --hardfork london
  --chain-id "${FLEXSIM_CHAIN_ID:-31337}"
  --gas-limit "${FLEXSIM_GAS_LIMIT:-8000000}"
  --accounts 10 --balance 10000
  --mnemonic "test test test test test test test test test test test junk"
)
case "${FLEXSIM_BLOCK_TIME_S:-0}" in
  0 | 0.0 | "") ;;
  *) args+=(--block-time "$FLEXSIM_BLOCK_TIME_S") ;;
esac
exec anvil "${args[@]}" "$@"
