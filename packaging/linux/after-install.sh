#!/bin/sh
# .deb post-install (replaces electron-builder's default, so it does the same two things plus the CLI):
# the GUI and `dinolab` on the PATH, and Chromium's setuid sandbox helper root-owned with mode 4755
# (needed where unprivileged user namespaces are blocked, e.g. Ubuntu 23.10+/24.04 with AppArmor).
set -e
dir='/opt/DINO Lab'
ln -sf "$dir/dino-lab" /usr/bin/dino-lab
ln -sf "$dir/dinolab-cli" /usr/bin/dinolab
chown root:root "$dir/chrome-sandbox" || true
chmod 4755 "$dir/chrome-sandbox" || true
if command -v update-desktop-database >/dev/null 2>&1; then update-desktop-database -q || true; fi
