# Shared by the lab-session scripts: where the oslab binaries are.
# OSLAB_BIN may name the directory; otherwise target/release of this checkout, built if missing.

oslab_bin_dir() {
  if [ -n "${OSLAB_BIN:-}" ]; then
    printf '%s\n' "$OSLAB_BIN"
    return
  fi
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  if [ ! -x "$root/target/release/oslab" ]; then
    echo "building the oslab binaries (cargo build --release) ..." >&2
    (cd "$root" && cargo build --release --bins >&2)
  fi
  printf '%s\n' "$root/target/release"
}
