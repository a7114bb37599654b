#!/usr/bin/env bash
# The test command: installs what the tests need, then runs every test.
# Namespace tests need root; they fail when they cannot run (NETLENS_SKIP_KERNEL_TESTS=1 skips).
set -euo pipefail
cd "$(dirname "$0")/.."
tests/setup.sh
cargo fmt --check
# Clippy both ways: the test hooks (`--features test-hooks`) are code of their own.
cargo clippy --all-targets --quiet -- -D warnings
cargo clippy --all-targets --features test-hooks --quiet -- -D warnings
# Some integration tests pause or crash netlens through its test hooks; without the feature
# they fail, saying so.
cargo test --all-targets --features test-hooks "$@"
