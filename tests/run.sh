#!/usr/bin/env bash
# The test command: installs what the tests need, then runs every test.
# Namespace tests need root; they fail when they cannot run (NETLENS_SKIP_KERNEL_TESTS=1 skips).
set -euo pipefail
cd "$(dirname "$0")/.."
tests/setup.sh
cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --all-targets "$@"
