#!/usr/bin/env bash
# Installs what the tests in a real VS Code need (test/vscode, test/ui): Debian's chromium (driven
# by playwright-core) and code-server 4.100.3 (VS Code 1.100.3, the last release on Node 20) from
# npm into the ignored folder .tools/code-server. Idempotent: a second run only checks versions.
# Facts behind each workaround: docs/testing-vscode.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
CODE_SERVER_VERSION=4.100.3
TOOLS="$ROOT/.tools"
CODE_SERVER_DIR="$TOOLS/code-server"
CODE_SERVER_BIN="$CODE_SERVER_DIR/node_modules/.bin/code-server"

# Debian packages: chromium for the workbench; the rest build code-server's native modules
# (kerberos needs gssapi.h from libkrb5-dev; node-pty and argon2 need a compiler and python3).
packages=(chromium ripgrep libkrb5-dev build-essential python3 pkg-config)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "install-vscode-test-deps: missing Debian packages ${missing[*]} and no apt-get here" >&2
    exit 1
  fi
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  echo "install-vscode-test-deps: apt-get install ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

installed_version() {
  [ -x "$CODE_SERVER_BIN" ] || return 0
  # The first run on a machine may log a line before the version ("Wrote default config file").
  "$CODE_SERVER_BIN" --version 2>/dev/null | grep -m1 -E '^[0-9]+\.[0-9]+\.[0-9]+ ' | cut -d' ' -f1
}
if [ "$(installed_version)" = "$CODE_SERVER_VERSION" ]; then
  echo "install-vscode-test-deps: code-server $CODE_SERVER_VERSION and chromium are installed"
  exit 0
fi

echo "install-vscode-test-deps: installing code-server $CODE_SERVER_VERSION into .tools/code-server (about a minute)"
rm -rf "$CODE_SERVER_DIR"
mkdir -p "$CODE_SERVER_DIR" "$TOOLS/tmp" "$TOOLS/node-gyp"
# @vscode/ripgrep's postinstall downloads rg from api.github.com, which is out of reach: seed its
# download cache (under os.tmpdir(), pointed into .tools so /tmp stays clean) with Debian's rg.
case "$(uname -m)" in
  x86_64) ripgrep_target=x86_64-unknown-linux-musl ;;
  *) echo "install-vscode-test-deps: no ripgrep seed for $(uname -m)" >&2; exit 1 ;;
esac
ripgrep_cache="$TOOLS/tmp/vscode-ripgrep-cache-1.15.11"
mkdir -p "$ripgrep_cache"
staging="$(mktemp -d "$TOOLS/tmp/rg-XXXXXX")"
cp "$(command -v rg)" "$staging/rg"
tar czf "$ripgrep_cache/ripgrep-v13.0.0-10-$ripgrep_target.tar.gz" -C "$staging" rg
rm -rf "$staging"

cd "$CODE_SERVER_DIR"
printf '{ "name": "ringside-code-server", "private": true }\n' > package.json
# npm_config_unsafe_perm: code-server's postinstall refuses to run as root without it.
# npm_config_yes: node-pty's postinstall runs `npx node-gyp`, which would ask for a TTY.
# npm_config_devdir: node-gyp's header cache goes into .tools, not $HOME.
TMPDIR="$TOOLS/tmp" npm_config_unsafe_perm=true npm_config_yes=true npm_config_devdir="$TOOLS/node-gyp" \
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
  npm install --no-audit --no-fund --no-save "code-server@$CODE_SERVER_VERSION"
cd "$ROOT"
version="$(installed_version)"
if [ "$version" != "$CODE_SERVER_VERSION" ]; then
  echo "install-vscode-test-deps: code-server did not install (got '$version')" >&2
  exit 1
fi
echo "install-vscode-test-deps: code-server $version installed"
