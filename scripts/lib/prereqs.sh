# Checks, on a fresh machine, the programs the test scripts need besides Rust, and says exactly
# what is missing and how to install it (Debian/Ubuntu package names) instead of failing
# halfway through a run. Sourced by scripts/test, scripts/test-model-conformance and
# plugins/openai-compat/tests/start-llm-katan.
#
#   source scripts/lib/prereqs.sh
#   require_prereqs SCRIPT_NAME ITEM...
#
# Items: jq; node (Node.js 20 or newer, and npm); python-venv (python3 with the venv module and
# ensurepip, which `python3 -m venv` needs); pip (`python3 -m pip`). Returns 1 after printing
# the list to stderr when anything is missing.

require_prereqs() {
  local who=$1 item major python=${PYTHON:-python3}
  shift
  local missing=() pkgs=() node_note=""
  for item in "$@"; do
    case $item in
      jq)
        command -v jq >/dev/null 2>&1 || { missing+=("jq"); pkgs+=(jq); }
        ;;
      node)
        if ! command -v node >/dev/null 2>&1; then
          missing+=("Node.js 20 or newer (no 'node' on PATH)"); pkgs+=(nodejs); node_note=1
        else
          major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
          if [ "${major:-0}" -lt 20 ] 2>/dev/null; then
            missing+=("Node.js 20 or newer (found $(node --version 2>/dev/null || echo 'an unknown version'))")
            node_note=1
          fi
        fi
        command -v npm >/dev/null 2>&1 || { missing+=("npm"); pkgs+=(npm); }
        ;;
      python-venv)
        if ! command -v "$python" >/dev/null 2>&1; then
          missing+=("$python"); pkgs+=(python3 python3-venv)
        elif ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
          missing+=("the venv module with ensurepip for $python ('$python -m venv' fails without it)")
          pkgs+=(python3-venv)
        fi
        ;;
      pip)
        if command -v "$python" >/dev/null 2>&1 && ! "$python" -m pip --version >/dev/null 2>&1; then
          missing+=("pip for $python ('$python -m pip')"); pkgs+=(python3-pip)
        fi
        ;;
      *) echo "require_prereqs: unknown item $item" >&2; return 2 ;;
    esac
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  {
    echo "$who: missing on this machine:"
    printf '  - %s\n' "${missing[@]}"
    if [ ${#pkgs[@]} -gt 0 ]; then
      local list
      list=$(printf '%s\n' "${pkgs[@]}" | sort -u | tr '\n' ' ')
      echo "Install on Debian/Ubuntu (as root): apt-get update && apt-get install -y ${list% }"
    fi
    if [ -n "$node_note" ]; then
      echo "Node.js must be 20 or newer: Debian 13 and Ubuntu 24.04 package it ('apt-get install nodejs npm');"
      echo "Debian 12's and Ubuntu 22.04's nodejs packages are older, so there install Node.js 20+ from"
      echo "NodeSource's Debian repository or nodejs.org."
    fi
  } >&2
  return 1
}
