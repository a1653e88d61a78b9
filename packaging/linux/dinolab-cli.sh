#!/bin/sh
# `dinolab` from the installed package: the CLI run by the packaged Electron as Node (its RunAsNode fuse
# stays on for this and for the job processes). The engine finds better-sqlite3's Electron build in
# resources/native.
here=$(dirname "$(readlink -f "$0")")
export DINOLAB_SQLITE_BINDING="${DINOLAB_SQLITE_BINDING:-$here/resources/native/better_sqlite3.node}"
ELECTRON_RUN_AS_NODE=1 exec "$here/dino-lab" "$here/resources/app.asar/out/main/cli.js" "$@"
