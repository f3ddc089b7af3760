#!/usr/bin/env bash
# The no_std proof: builds and runs core/nostd-check without and with feature `alloc`.
#
# The check crate is #![no_std] with its own #[panic_handler]; if overdue-core or one of
# its dependencies linked std (an `extern crate std`, a dependency's `std` feature), the
# build fails with a duplicate `panic_impl` lang item. The binary exits non-zero if the
# wheel or the packed event misbehaves. Run from anywhere; uses the toolchain pinned by the
# repository.
set -euo pipefail
cd "$(dirname "$0")/../.."
manifest=core/nostd-check/Cargo.toml

echo "nostd-check: overdue-core, default features off (fixed-capacity wheel and engine)"
cargo run --release --locked --manifest-path "$manifest"

echo "nostd-check: overdue-core with feature alloc (fixed and growable wheel)"
cargo run --release --locked --manifest-path "$manifest" --features alloc

echo "nostd-check: ok"
