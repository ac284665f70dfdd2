# Sourced by the example scripts: ccl_bin DIR prints where the ccl tools
# are, DIR being the script's own directory: $CCL_BIN when set; else the
# build directory of the source tree the script lies in; else, for the
# examples installed by `make install` (PREFIX/share/ccl/examples), the
# directory of the ccl-init on PATH.
ccl_bin() {
	local tree found
	if [ -n "${CCL_BIN:-}" ]; then echo "$CCL_BIN"; return; fi
	tree=$(cd "$1/.." && pwd)/build/bin
	if [ ! -x "$tree/ccl-init" ] && found=$(command -v ccl-init); then tree=$(dirname "$found"); fi
	echo "$tree"
}
