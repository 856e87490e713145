#!/usr/bin/env bash
# deps.sh -- install the Debian 12 packages gitfleet builds and tests with, if missing.
set -euo pipefail

packages=(build-essential cmake pkg-config git python3 python3-yaml openssl clang-format curl
          libnng-dev libprotobuf-c-dev protobuf-c-compiler libgit2-dev
          libcurl4-openssl-dev libyaml-dev libssl-dev libjansson-dev libsqlite3-dev)
packages+=(libmicrohttpd-dev)  # issue 13: the HTTP API server (limits, timeouts, chunked bodies, streams)
packages+=(openssh-server openssh-client)  # issue 17: fleet repositories over ssh:// in tests (sshd, ssh-keygen)
packages+=(libluajit-5.1-dev luajit lua5.1)  # issue 16: LuaJIT (Lua 5.1 + goto, as gopher-lua) runs Argo CD health scripts; luajit/lua5.1 for bench/health_lua_vm.lua
packages+=(chromium python3-websocket)  # issue 14: the dashboard tests drive headless chromium over the DevTools protocol
packages+=(libsodium-dev)  # issue 12: Ed25519 signatures (hub: two verifications and a signature per cluster and commit) in 41 us, OpenSSL 3 in 100
packages+=(libjemalloc-dev)  # issue 12: the hub's malloc (glibc's slowed down with every commit at fleet scale)
packages+=(age)  # issue 15: interoperability tests of sealed values with the standard age tool

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
