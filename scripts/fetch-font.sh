#!/usr/bin/env bash
# Fetches the CJK font the pictures crate embeds: WenQuanYi Micro Hei 0.2.0-beta (Apache-2.0, or
# GPL-3+ with the font exception; Latin glyphs from Droid Sans, CJK from Droid Sans Fallback) from
# Debian's package fonts-wqy-microhei, checking both the package's and the font's SHA-256.
# Usage: scripts/fetch-font.sh [DEST]   (default: shared/pictures/fonts/wqy-microhei.ttc)
# Idempotent: a font already in place with the right checksum is kept.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${1:-$ROOT/shared/pictures/fonts/wqy-microhei.ttc}"
PACKAGE=fonts-wqy-microhei
VERSION=0.2.0-beta-3.1
DEB_SHA256=239163df984eea5c9da3b551aee374936222cdbd67f1a1be3cdcf3d76143ad66
TTC_SHA256=2420e8078af796b19a3f6ef13de527a1a91c1e7171eea115926c614ced1009b3
TTC_IN_DEB=usr/share/fonts/truetype/wqy/wqy-microhei.ttc

log() { printf 'fetch-font: %s\n' "$*" >&2; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$DEST" ] && [ "$(sha "$DEST")" = "$TTC_SHA256" ]; then
    exit 0
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
chmod 0777 "$WORK" # apt's download user must be able to write here

download() { apt-get download -q "$PACKAGE=$VERSION" </dev/null >/dev/null 2>&1; }
if ! download; then
    if [ "$(id -u)" = 0 ]; then
        log "updating Debian's package lists"
        apt-get update -qq </dev/null >/dev/null
    fi
    download || { log "could not download $PACKAGE=$VERSION with apt-get"; exit 1; }
fi
DEB="$(ls ./*.deb)"
[ "$(sha "$DEB")" = "$DEB_SHA256" ] || { log "checksum mismatch for $DEB"; exit 1; }
dpkg-deb -x "$DEB" extracted
[ "$(sha "extracted/$TTC_IN_DEB")" = "$TTC_SHA256" ] || { log "checksum mismatch for the font"; exit 1; }
mkdir -p "$(dirname "$DEST")"
cp "extracted/$TTC_IN_DEB" "$DEST.tmp"
mv "$DEST.tmp" "$DEST"
log "fetched $PACKAGE $VERSION → $DEST"
