#!/usr/bin/env bash
# The soak (Benchmarks/soak): the service under a throttling storm with SIGKILLs while records
# change on both sides, compared with an undisturbed reference run. Builds in release mode; options
# go to the soak program, e.g.
#   scripts/soak.sh                                   (20 mailboxes, 120 s, 3 kills)
#   scripts/soak.sh --seconds 40 --kills 2            (the short form CI runs)
# Exits 1 when anything was lost or duplicated, a failure is left open or a mailbox was disabled.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product exchange-sim
swift build -c release --product connector-host
swift build -c release --product soak
bin=$(swift build -c release --show-bin-path)
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
exec "$bin/soak" --schemas "${EWS_SCHEMAS:-../shared/ews-schema}" "$@"
