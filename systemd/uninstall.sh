#!/bin/sh
# Removes the trading-planner service installed by install.sh:
#   sudo ./uninstall.sh [--purge] [--root DIR]
# Stops and disables the service and removes the binary, the unit and the backtest's data. The configuration in
# /etc/trading-planner and the database in /var/lib/trading-planner are kept, so a later
# install picks up where this one stopped; --purge removes them too (the plans, the ledger
# and the access token are then gone).
# --root DIR removes below DIR and skips systemctl (for images and tests).
set -eu

root=""
purge=no
systemctl=${SYSTEMCTL:-systemctl}

die() { echo "uninstall.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --purge) purge=yes; shift ;;
        --root) [ $# -ge 2 ] || die "--root needs a directory"; root=$2; shift 2 ;;
        -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
    die "run as root (sudo ./uninstall.sh)"
fi

if [ -z "$root" ]; then
    # Absent or already stopped is fine: uninstalling twice must not fail.
    $systemctl disable --now trading-planner.service 2>/dev/null || true
fi
rm -f "$root/etc/systemd/system/trading-planner.service" \
      "$root/usr/local/bin/trading-planner"
rm -rf "$root/usr/local/share/doc/trading-planner" "$root/usr/local/share/trading-planner"
if [ -z "$root" ]; then
    $systemctl daemon-reload
    $systemctl reset-failed trading-planner.service 2>/dev/null || true
fi

if [ "$purge" = yes ]; then
    # DynamicUser keeps the state under /var/lib/private with a link in /var/lib.
    rm -rf "$root/etc/trading-planner" "$root/var/lib/trading-planner" \
           "$root/var/lib/private/trading-planner"
    echo "removed trading-planner, its configuration and its data"
else
    echo "removed trading-planner; kept /etc/trading-planner and /var/lib/trading-planner (--purge removes them)"
fi
