#!/bin/sh
# Installs trading-planner as a systemd service on the board (or any systemd Linux):
#   sudo ./install.sh [--binary FILE] [--config FILE] [--no-start] [--root DIR]
# Files: the binary to /usr/local/bin/trading-planner, the configuration to
# /etc/trading-planner/config.yaml (an existing one is kept; the new one goes beside it as
# config.yaml.new), the unit to /etc/systemd/system/trading-planner.service, the backtest's
# data to /usr/local/share/trading-planner/backtest. Then the service is enabled and
# (re)started. The database lives in /var/lib/trading-planner.
# --root DIR installs below DIR and skips systemctl (for images and tests).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=""
start=yes
binary=""
config=""
systemctl=${SYSTEMCTL:-systemctl}

die() { echo "install.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --binary) [ $# -ge 2 ] || die "--binary needs a file"; binary=$2; shift 2 ;;
        --config) [ $# -ge 2 ] || die "--config needs a file"; config=$2; shift 2 ;;
        --root) [ $# -ge 2 ] || die "--root needs a directory"; root=$2; shift 2 ;;
        --no-start) start=no; shift ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done

# The first file that exists: beside this script (a copied bundle), else the repository's build.
first_of() {
    for candidate in "$@"; do
        if [ -f "$candidate" ]; then echo "$candidate"; return 0; fi
    done
    return 1
}
[ -n "$binary" ] || binary=$(first_of "$here/trading-planner" \
    "$here/../target/cross/aarch64-unknown-linux-gnu/dist/trading-planner" \
    "$here/../target/dist/trading-planner" \
    "$here/../target/release/trading-planner") \
    || die "no binary found; pass --binary FILE"
[ -n "$config" ] || config=$(first_of "$here/board.yaml" "$here/../config/board.yaml") \
    || die "no configuration found; pass --config FILE"
unit=$(first_of "$here/trading-planner.service") || die "trading-planner.service is not beside install.sh"
backtest=""
for candidate in "$here/backtest" "$here/../data/backtest"; do
    if [ -f "$candidate/scenario.yaml" ]; then backtest=$candidate; break; fi
done
[ -n "$backtest" ] || die "no backtest data (backtest/ beside install.sh, or data/backtest of the repository)"
[ -f "$binary" ] || die "binary $binary does not exist"
[ -f "$config" ] || die "configuration $config does not exist"

if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
    die "run as root (sudo ./install.sh)"
fi

# A binary for another machine would only fail at start with "Exec format error"; say so now.
elf_machine() {
    # e_machine: two bytes at offset 18 of the ELF header, little-endian.
    od -An -tx1 -j18 -N2 "$1" | tr -d ' \n'
}
if [ -z "$root" ]; then
    case "$(uname -m)" in
        aarch64|arm64) want=b700 ;;
        x86_64) want=3e00 ;;
        *) want="" ;;
    esac
    got=$(elf_machine "$binary")
    if [ -n "$want" ] && [ "$got" != "$want" ]; then
        die "$binary is not built for $(uname -m) (ELF machine $got); build it with 'cargo build-aarch64' for the board"
    fi
fi

echo "installing $binary"
install -D -m 0755 "$binary" "$root/usr/local/bin/trading-planner"
install -d -m 0755 "$root/etc/trading-planner"
if [ -f "$root/etc/trading-planner/config.yaml" ]; then
    if ! cmp -s "$config" "$root/etc/trading-planner/config.yaml"; then
        install -m 0644 "$config" "$root/etc/trading-planner/config.yaml.new"
        echo "kept /etc/trading-planner/config.yaml; the shipped one is config.yaml.new"
    fi
else
    install -m 0644 "$config" "$root/etc/trading-planner/config.yaml"
fi
install -D -m 0644 "$unit" "$root/etc/systemd/system/trading-planner.service"
# Replaced whole, so a file dropped from a new version does not linger.
rm -rf "$root/usr/local/share/trading-planner/backtest"
install -d -m 0755 "$root/usr/local/share/trading-planner/backtest"
for file in "$backtest"/*; do
    install -m 0644 "$file" "$root/usr/local/share/trading-planner/backtest/"
done
for doc in "$here/../README.md" "$here/README.md"; do
    if [ -f "$doc" ]; then
        install -D -m 0644 "$doc" "$root/usr/local/share/doc/trading-planner/README.md"
        break
    fi
done

if [ -n "$root" ]; then
    echo "installed below $root; systemctl not run"
    exit 0
fi

$systemctl daemon-reload
if [ "$start" = yes ]; then
    $systemctl enable trading-planner.service
    $systemctl restart trading-planner.service
    echo "started: systemctl status trading-planner; journalctl -u trading-planner -f"
    echo "the access token is in /var/lib/trading-planner/access-token (sudo cat it)"
else
    $systemctl enable trading-planner.service
    echo "enabled; start it with: systemctl start trading-planner"
fi
