#!/usr/bin/env bash
# Build the Export Compliance Workbench installer on Linux.
#
#   installer/build.sh            bundle + .deb
#   installer/build.sh --no-deb   bundle only
#
# 1. ./dev setup (.venv, system libraries), then pip install -e '.[installer]'
#    (PyInstaller, pinned range in pyproject.toml).
# 2. PyInstaller one-folder bundle from installer/workbench.spec:
#      dist/export-compliance-workbench/export-compliance-workbench   the app
#      dist/export-compliance-workbench/workbench                     the CLI
# 3. dist/export-compliance-workbench_VERSION_ARCH.deb (dpkg-deb, zstd): the bundle
#    in /opt/export-compliance-workbench, /usr/bin symlinks for both commands,
#    a desktop entry and the icon (SVG + 256 px PNG) in hicolor.
# 4. Prints build time, bundle size, .deb size and start-up time
#    (`--screenshot` under `env -i`, the bundle alone).
#
# Environment: DEV_SKIP_SYSTEM=1 is passed on to ./dev setup.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PKG=export-compliance-workbench
DIST="$ROOT/dist"
BUNDLE="$DIST/$PKG"
WORK="$ROOT/build/pyinstaller"
VPY="$ROOT/.venv/bin/python"
MAKE_DEB=1
[ "${1:-}" = "--no-deb" ] && MAKE_DEB=0

say() { printf '%s\n' "build: $*" >&2; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

export PIP_DISABLE_PIP_VERSION_CHECK=1
case "${LANG:-}" in ""|C|POSIX) export LANG=C.UTF-8 ;; esac

t0=$(now)
./dev setup
# PyInstaller on Linux needs binutils (objdump) besides ldd; dpkg-deb is in dpkg.
if ! command -v objdump >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing binutils (PyInstaller needs objdump)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends binutils \
            || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends binutils; }
    else
        say "PyInstaller needs objdump: sudo apt-get install binutils"; exit 1
    fi
fi
say "installing PyInstaller (pip install -e '.[installer]')"
"$VPY" -m pip install -q -e '.[installer]' 2> >(grep -v "^WARNING: Location" >&2)
t1=$(now)

say "building the bundle with $("$VPY" -m PyInstaller --version 2>/dev/null | sed 's/^/PyInstaller /')"
rm -rf "$BUNDLE" "$WORK"
"$VPY" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$DIST" --workpath "$WORK" installer/workbench.spec \
    2> >(grep -vE "Library (ole32|shell32|user32) required via ctypes|libg[dt]k-3\.so\.0" >&2)
t2=$(now)
[ -x "$BUNDLE/$PKG" ] && [ -x "$BUNDLE/workbench" ] || { say "bundle is incomplete"; exit 1; }

DEB=""
if [ "$MAKE_DEB" = 1 ]; then
    if ! command -v dpkg-deb >/dev/null 2>&1; then
        say "dpkg-deb not found: skipping the .deb (not a Debian/Ubuntu system)"
    else
        VERSION="$("$VPY" -c 'import workbench; print(workbench.__version__)')"
        ARCH="$(dpkg --print-architecture)"
        DEB="$DIST/${PKG}_${VERSION}_${ARCH}.deb"
        STAGE="$ROOT/build/deb/root"
        rm -rf "$ROOT/build/deb" "$DIST/${PKG}_"*.deb
        mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" \
                 "$STAGE/usr/share/applications" \
                 "$STAGE/usr/share/icons/hicolor/scalable/apps" \
                 "$STAGE/usr/share/icons/hicolor/256x256/apps"
        cp -a "$BUNDLE" "$STAGE/opt/$PKG"
        # Relative links: they work installed and in an extracted .deb
        # (installer/smoke.sh runs the app through them). The bootloader
        # resolves its own path, so it finds _internal/ through a symlink.
        ln -s "../../opt/$PKG/$PKG" "$STAGE/usr/bin/$PKG"
        ln -s "../../opt/$PKG/workbench" "$STAGE/usr/bin/workbench"
        cp resources/icons/workbench.svg "$STAGE/usr/share/icons/hicolor/scalable/apps/$PKG.svg"
        QT_QPA_PLATFORM=offscreen "$VPY" - "resources/icons/workbench.svg" \
            "$STAGE/usr/share/icons/hicolor/256x256/apps/$PKG.png" <<'EOF'
import sys
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer
app = QGuiApplication([])
img = QImage(256, 256, QImage.Format.Format_ARGB32)
img.fill(Qt.GlobalColor.transparent)
p = QPainter(img)
QSvgRenderer(sys.argv[1]).render(p)
p.end()
sys.exit(0 if img.save(sys.argv[2]) else 1)
EOF
        cat >"$STAGE/usr/share/applications/$PKG.desktop" <<EOF
[Desktop Entry]
Type=Application
Name=Export Compliance Workbench
GenericName=Export compliance records
Comment=Screening, licence determination and audit trail for exports of AI chips
Exec=$PKG
Icon=$PKG
Terminal=false
Categories=Office;Database;
StartupWMClass=$PKG
EOF
        # Depends: what Qt needs from the system (shared/domain/platform-notes.md)
        # plus the xcb libraries for a real X display. The bundle carries
        # copies of some, but listing them keeps the system consistent.
        # libc6: the newest GLIBC_ symbol version the bundle uses (built on
        # Debian 12); Ubuntu 24.04 names GLib libglib2.0-0t64.
        glibc="$(find "$BUNDLE" -type f \( -name '*.so*' -o -perm -u+x \) \
                   -exec objdump -T {} + 2>/dev/null | grep -oE 'GLIBC_[0-9.]+' \
                   | sed 's/GLIBC_//' | sort -uV | tail -1 || true)"
        DEPENDS="libc6 (>= ${glibc:-2.36}), libglib2.0-0t64 | libglib2.0-0, libzstd1, zlib1g, libegl1, libgl1, libx11-6, libxkbcommon0, libfreetype6, libfontconfig1, libdbus-1-3, fonts-dejavu-core, libxkbcommon-x11-0, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxcb-image0, libxcb-randr0, libxcb-render-util0, libxcb-shape0, libxcb-shm0, libxcb-sync1, libxcb-xfixes0, libxcb-xkb1, libxcb-util1, libx11-xcb1"
        cat >"$STAGE/DEBIAN/control" <<EOF
Package: $PKG
Version: $VERSION
Architecture: $ARCH
Maintainer: Export Compliance Workbench maintainers <maintainers@export-compliance-workbench.invalid>
Installed-Size: $(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
Depends: $DEPENDS
Recommends: fonts-noto-cjk
Section: utils
Priority: optional
Homepage: https://export-compliance-workbench.invalid/
Description: offline desktop workbench for export-control compliance
 Keeps customers, items, shipments and export licences of an exporter of
 advanced chips in a local SQLite database, screens parties against
 restricted-party lists, determines licence requirements from a rules pack
 and records every change in a verifiable, hash-chained audit log.
 .
 Commands: export-compliance-workbench (the desktop app) and workbench
 (the command line). Self-contained: no Python needed on the machine.
EOF
        dpkg-deb -Zzstd --root-owner-group --build "$STAGE" "$DEB" >/dev/null
    fi
fi
t3=$(now)

# Start-up time: the bundle alone, empty environment, offscreen. The first run
# creates the database and fills it with demo data; the second opens it.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
startup() {
    local s e
    s=$(now)
    env -i HOME="$tmp" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
        "$BUNDLE/$PKG" --db "$tmp/x.db" --screenshot "$tmp/x.png" >/dev/null 2>"$tmp/err" \
        || { cat "$tmp/err" >&2; say "the bundle failed to start"; exit 1; }
    e=$(now)
    secs "$s" "$e"
}
first=$(startup)
second=$(startup)

echo
echo "Export Compliance Workbench installer build"
echo "  bundle:        $BUNDLE ($(du -sh "$BUNDLE" | cut -f1), $(find "$BUNDLE" -type f | wc -l) files)"
if [ -n "$DEB" ]; then
    echo "  .deb:          $DEB ($(du -h "$DEB" | cut -f1))"
fi
echo "  time:          setup $(secs "$t0" "$t1") s, PyInstaller $(secs "$t1" "$t2") s, .deb $(secs "$t2" "$t3") s"
echo "  start-up:      ${first} s to --screenshot with a new demo database, ${second} s with an existing one (env -i, offscreen)"
