#!/usr/bin/env bash
# The main job on embedded defaults: builds connector-host and runs `connector-host demo`, which
# starts the Exchange simulator with two mailboxes, creates and seeds a FlowFact-like database on
# SQLite through ODBC, writes a demo connectors.yaml, runs a full two-way sync, changes records on
# both sides, syncs again and prints the summary. Everything lands in state/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --product connector-host
bin=$(swift build --show-bin-path)/connector-host
schemas="${EWS_SCHEMAS:-../shared/ews-schema}"
"$bin" demo --directory state/demo --schemas "$schemas"
