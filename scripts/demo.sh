#!/usr/bin/env bash
# The main job on embedded defaults: builds connector-host, validates the example deployment in
# connectors.yaml and prints the plan of a first sync.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --product connector-host
bin=$(swift build --show-bin-path)/connector-host
"$bin" validate connectors.yaml
"$bin" sync --once --dry-run --config connectors.yaml
