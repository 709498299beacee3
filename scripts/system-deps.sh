#!/usr/bin/env bash
# Installs the system packages flexsim needs when they are missing: Python >= 3.11 with venv, Node.js
# and npm (for the solc and anvil npm packages), and Debian's Chromium with its driver (the console's
# browser tests drive it through Playwright's `executable_path`; Playwright's own download is not used). Uses apt-get (Debian/Ubuntu) when run as root or with
# sudo; elsewhere it only says what is missing.
set -euo pipefail

need=()
python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null || need+=(python3 python3-venv)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
[ ${#need[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing system packages: ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "flexsim needs: ${need[*]} (install them with your package manager)" >&2
  exit 1
fi
