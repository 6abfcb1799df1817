#!/usr/bin/env bash
# Smoke test of the built installer (run installer/build.sh first).
#
#   installer/smoke.sh [BUNDLE_DIR]      default: dist/export-compliance-workbench
#
# With nothing but the bundle (env -i: no PATH, no Python, no venv):
#  1. the app renders its main window offscreen with the demo login
#     (--screenshot): exit 0 and a non-empty PNG;
#  2. the demo data came from the bundled resources/: the rules pack is loaded
#     and the Entity List sample produced a screening hit;
#  3. the bundled CLI `workbench check` passes on that database; an audit
#     packet exported from the app (with its QtPdf preview) verifies.
# If dist/ has a .deb, it is unpacked and the app and the CLI are run through
# its /usr/bin links (no install, nothing outside a temporary folder).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKG=export-compliance-workbench
BUNDLE="$(cd "${1:-$ROOT/dist/$PKG}" && pwd)"
APP="$BUNDLE/$PKG"
CLI="$BUNDLE/workbench"

fail() { printf 'smoke: FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'smoke: ok: %s\n' "$*" >&2; }

[ -x "$APP" ] || fail "no app at $APP (run installer/build.sh)"
[ -x "$CLI" ] || fail "no CLI at $CLI"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# timeout: a run that waits for input nobody gives fails the build, not hangs it
run() {
    local e=(HOME="$tmp" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen)
    [ -z "${SMOKE_PASSPHRASE:-}" ] || e+=(WORKBENCH_SIGNING_PASSPHRASE="$SMOKE_PASSPHRASE")
    timeout 300 env -i "${e[@]}" "$@"
}

is_png() {
    [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
}

# 1. the app
rc=0
run "$APP" --db "$tmp/x.db" --screenshot "$tmp/x.png" >"$tmp/app.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { cat "$tmp/app.out" >&2; fail "app --screenshot exited $rc"; }
is_png "$tmp/x.png" || fail "app --screenshot wrote no PNG"
ok "app rendered its main window ($(stat -c %s "$tmp/x.png") bytes of PNG)"
run "$APP" --db "$tmp/x.db" --screenshot "$tmp/parties.png" --page parties >/dev/null 2>&1 \
    || fail "app --page parties failed"
is_png "$tmp/parties.png" || fail "no PNG of the parties page"

# 2. resources/ inside the bundle
run "$CLI" --db "$tmp/x.db" rules show >"$tmp/rules.out" 2>&1 || { cat "$tmp/rules.out" >&2; fail "CLI rules show"; }
grep -q '^us-ear-advanced-computing ' "$tmp/rules.out" || { cat "$tmp/rules.out" >&2; fail "the bundled rules pack is not loaded"; }
run "$CLI" --db "$tmp/x.db" hits >"$tmp/hits.out" 2>&1 || { cat "$tmp/hits.out" >&2; fail "CLI hits"; }
grep -q 'EL:' "$tmp/hits.out" || { cat "$tmp/hits.out" >&2; fail "no Entity List hit: the bundled demo list was not loaded"; }
ok "demo data used the bundled rules pack and Entity List sample"

# 3. the CLI
run "$CLI" --db "$tmp/x.db" check >"$tmp/check.out" 2>&1 || { cat "$tmp/check.out" >&2; fail "CLI check"; }
ok "CLI check: $(tr '\n' ' ' <"$tmp/check.out")"

# 3b. an audit packet from the app (QtPdf preview, reportlab fonts, pyhanko
# signing all inside the bundle), verified by the bundled CLI
mkdir -p "$tmp/pk"
# the signing key is always encrypted: its passphrase comes from the environment here
SMOKE_PASSPHRASE="smoke-test passphrase" \
    run "$APP" --db "$tmp/x.db" --screenshot "$tmp/pk/preview.png" --packet SO-2026-0003 \
    >"$tmp/pk.out" 2>&1 || { cat "$tmp/pk.out" >&2; fail "app --packet failed"; }
is_png "$tmp/pk/preview.png" || fail "no PNG of the packet preview"
pdf="$(ls "$tmp"/pk/packet-*.pdf 2>/dev/null | head -1)"
[ -n "$pdf" ] || fail "the packet dialog wrote no PDF"
run "$CLI" --db "$tmp/x.db" packet verify "$pdf" >"$tmp/verify.out" 2>&1 \
    || { cat "$tmp/verify.out" >&2; fail "CLI packet verify"; }
ok "packet exported and previewed in the app; $(head -1 "$tmp/verify.out")"

# 4. the .deb, unpacked
deb="$(ls -t "$ROOT/dist/${PKG}_"*.deb 2>/dev/null | head -1 || true)"
if [ -n "$deb" ] && command -v dpkg-deb >/dev/null 2>&1; then
    x="$tmp/deb"
    dpkg-deb -x "$deb" "$x"
    for f in "usr/bin/$PKG" usr/bin/workbench "usr/share/applications/$PKG.desktop" \
             "usr/share/icons/hicolor/scalable/apps/$PKG.svg" \
             "usr/share/icons/hicolor/256x256/apps/$PKG.png"; do
        [ -e "$x/$f" ] || fail ".deb lacks /$f"
    done
    dpkg-deb -f "$deb" Depends | grep -q libxkbcommon0 || fail ".deb has no Depends"
    run "$x/usr/bin/$PKG" --db "$tmp/d.db" --screenshot "$tmp/d.png" >/dev/null 2>&1 \
        || fail "app from the unpacked .deb failed"
    is_png "$tmp/d.png" || fail "app from the unpacked .deb wrote no PNG"
    run "$x/usr/bin/workbench" --db "$tmp/d.db" check >/dev/null 2>&1 \
        || fail "CLI check from the unpacked .deb failed"
    ok "$(basename "$deb"): files, Depends, app and CLI through /usr/bin links"
fi
echo "smoke: all checks passed ($BUNDLE)"
