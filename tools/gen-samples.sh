#!/usr/bin/env bash
# Regenerate etc/minova/*.sample from the option and policy definitions.
set -euo pipefail
cd "$(dirname "$0")/.."
oslo-config-generator --config-file etc/minova/minova-config-generator.conf
oslopolicy-sample-generator --config-file etc/minova/minova-policy-generator.conf
oslopolicy-sample-generator --config-file etc/minova/placement-policy-generator.conf
