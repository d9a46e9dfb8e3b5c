#!/usr/bin/env bash
# Installs the Debian packages the integration tests start (mosquitto, victoria-metrics, influxdb, socat,
# prometheus-alertmanager with amtool, chromium, nftables)
# when they are missing. Fails loudly when they are missing and cannot be installed.
set -euo pipefail
need=()
command -v mosquitto        >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v victoria-metrics >/dev/null 2>&1 || [ -x /usr/bin/victoria-metrics ] || need+=(victoria-metrics)
command -v influxd          >/dev/null 2>&1 || [ -x /usr/bin/influxd ] || need+=(influxdb)
command -v socat            >/dev/null 2>&1 || need+=(socat)
command -v prometheus-alertmanager >/dev/null 2>&1 && command -v amtool >/dev/null 2>&1 \
  || need+=(prometheus-alertmanager)
command -v openssl          >/dev/null 2>&1 || need+=(openssl)
command -v systemd-analyze  >/dev/null 2>&1 || need+=(systemd)
# a device that loses power, as the kernel sees it: nftables drops its port's packets (tests/support/blackhole.py)
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || need+=(nftables)
# the status page's browser test (tests/edge/status/test_page.py) drives Debian's headless chromium
command -v chromium         >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
  echo "services: mosquitto, victoria-metrics, influxd, socat, alertmanager, chromium, nft present"
  exit 0
fi
echo "services: installing ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "services: missing ${need[*]} and not root (no sudo): install them with apt-get" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
# Debian's packages start their own daemons on the default ports; the tests start private instances on
# free loopback ports, so the system copies are stopped where a service manager runs them.
for svc in mosquitto influxdb victoria-metrics prometheus-alertmanager; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    $SUDO systemctl stop "$svc" || true
  fi
done
echo "services: installed ${need[*]}"
