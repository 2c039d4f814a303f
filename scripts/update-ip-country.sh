#!/usr/bin/env bash
# Regenerates src/rules/geoip/cn-ranges.txt, the IP-to-country data the `ip` condition reads (compiled into
# dengbao; see docs/data.md), from the npm package @ip-location-db/geo-whois-asn-country (CC0-1.0, by
# sapics/ip-location-db, built from GeoFeed data and the five RIRs' WHOIS and ASN data, which the NRO
# publishes under CC BY 4.0).
#
#   bash scripts/update-ip-country.sh            the latest version on the npm registry
#   bash scripts/update-ip-country.sh 2.3.2026061719
#
# Keeps the mainland China (CN) ranges of both address families, merged where adjacent; Hong Kong (HK),
# Macao (MO) and Taiwan (TW) have their own codes and are not kept. Needs npm and python3; touches nothing
# but the data file. Commit the file with the version it names, and run the tests (tests/scenarios_data.rs
# pins a few addresses).
set -euo pipefail
cd "$(dirname "$0")/.."
package="@ip-location-db/geo-whois-asn-country"
version="${1:-$(npm view "$package" version)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$package@$version" >/dev/null && tar xzf ./*.tgz)
integrity="$(npm view "$package@$version" dist.integrity)"
licence="$(npm view "$package@$version" license)"
python3 - "$work/package" "$package" "$version" "$integrity" "$licence" >src/rules/geoip/cn-ranges.txt <<'PY'
import ipaddress
import sys

folder, package, version, integrity, licence = sys.argv[1:]
print(f"# Mainland China (CN) address ranges, first,last per line, merged where adjacent.")
print(f"# Source: npm {package}@{version} ({integrity}), licence {licence}, by sapics/ip-location-db;")
print("# built from GeoFeed data and the RIRs' WHOIS and ASN data published by the NRO (nro.net) under CC BY 4.0.")
print("# Regenerate with: bash scripts/update-ip-country.sh [VERSION]")
for family in ("ipv4", "ipv6"):
    ranges = []
    with open(f"{folder}/geo-whois-asn-country-{family}-num.csv") as f:
        for line in f:
            start, end, cc = line.strip().split(",")
            if cc != "CN":
                continue
            start, end = int(start), int(end)
            if ranges and ranges[-1][1] + 1 == start:
                ranges[-1][1] = end
            else:
                ranges.append([start, end])
    make = ipaddress.IPv4Address if family == "ipv4" else ipaddress.IPv6Address
    for start, end in ranges:
        print(f"{make(start)},{make(end)}")
PY
echo "wrote src/rules/geoip/cn-ranges.txt from $package@$version" >&2
