# Sourced by ./start and .ci/test: make sure .venv exists, built on Python 3.11 or newer.

venv_ensure() {
  if [ -x .venv/bin/python ]; then
    return
  fi
  if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Backroom needs Python 3.11 or newer as python3, found: $(python3 --version 2>&1)" >&2
    exit 1
  fi
  if ! python3 -m venv .venv; then
    # Debian ships venv and ensurepip in a package of their own.
    rm -rf .venv
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update
      apt-get install -y python3-venv
      python3 -m venv .venv
    else
      echo "Creating .venv failed. On Debian run 'sudo apt-get install python3-venv' and retry." >&2
      exit 1
    fi
  fi
}
