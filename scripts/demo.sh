#!/usr/bin/env bash
# The main job on embedded defaults: builds connector-host, creates and seeds the embedded
# FlowFact-like database (SQLite through ODBC) if it is not there yet, validates connectors.yaml,
# runs one sync of every connector and shows the status.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --product connector-host
bin=$(swift build --show-bin-path)/connector-host
if [ ! -f state/flowfact.sqlite ]; then
  "$bin" flowfact init
  "$bin" flowfact seed --users 2 --addresses 40 --appointments 15 --tasks 8 --mails 6
fi
"$bin" validate connectors.yaml
"$bin" sync --once --config connectors.yaml
"$bin" status --config connectors.yaml
echo
echo "state: $(pwd)/state (connector-host.sqlite: sync state; flowfact.sqlite: the FlowFact database; demo/: the mailbox stand-in)"
