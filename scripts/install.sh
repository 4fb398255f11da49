#!/bin/sh
# Builds fsimage (release by default) and installs it under a prefix:
#
#   scripts/install.sh [--prefix DIR] [--libdir DIR] [--no-build] [--profile dev|release]
#
# Default prefix /usr/local, libdir PREFIX/lib; DESTDIR is honoured (staged
# installs). --no-build installs what the last release build made (its
# compiled-in plugin and worker paths are those of that build). Lays out:
#   LIBDIR/libfsimage.so.1.0.0, the SONAME link libfsimage.so.1.0, the link
#     names libfsimage.so and libxenfsimage.so, libfsimage.a (and
#     libxenfsimage.a)
#   PREFIX/include/fsimage.h, xenfsimage.h
#   LIBDIR/pkgconfig/fsimage.pc, xenfsimage.pc
#   LIBDIR/fsimage/libfsimage_plugin_*.so (the plugins) and, when built,
#     LIBDIR/fsimage/fsimage-worker (the sandbox worker)
#   PREFIX/bin/fsimage-cat, fsimage-ls
# after which `cc $(pkg-config --cflags --libs fsimage) prog.c` works (with
# PKG_CONFIG_PATH=LIBDIR/pkgconfig for a prefix pkg-config does not search).
set -eu

prefix=/usr/local
libdir=
build=1
profile=release
usage() {
	echo "usage: $0 [--prefix DIR] [--libdir DIR] [--no-build] [--profile dev|release]  (DESTDIR honoured)" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case "$1" in
	--prefix) [ $# -ge 2 ] || usage; prefix=$2; shift 2 ;;
	--prefix=*) prefix=${1#--prefix=}; shift ;;
	--libdir) [ $# -ge 2 ] || usage; libdir=$2; shift 2 ;;
	--libdir=*) libdir=${1#--libdir=}; shift ;;
	--no-build) build=0; shift ;;
	--profile) [ $# -ge 2 ] || usage; profile=$2; shift 2 ;;
	--profile=*) profile=${1#--profile=}; shift ;;
	-h|--help) usage ;;
	*) usage ;;
	esac
done
libdir=${libdir:-$prefix/lib}
includedir=$prefix/include
bindir=$prefix/bin
plugindir=$libdir/fsimage
dest=${DESTDIR:-}

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
case "$profile" in
dev|debug) profile=dev; rel=$target/debug ;;
release) rel=$target/release ;;
*) usage ;;
esac

if [ "$build" = 1 ]; then
	# Compiled-in install paths: the loader looks for plugins in
	# FSIMAGE_LIBDIR/fsimage, the sandbox for the worker in
	# FSIMAGE_LIBEXECDIR/fsimage (both LIBDIR/fsimage here).
	(cd "$root" && FSIMAGE_LIBDIR="$libdir" FSIMAGE_LIBEXECDIR="$libdir" \
		cargo build --profile "$profile" --workspace)
fi
[ -f "$rel/libfsimage.so" ] || { echo "$0: $rel/libfsimage.so not built" >&2; exit 1; }

version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$root/Cargo.toml" | head -n 1)

install -d "$dest$libdir" "$dest$libdir/pkgconfig" "$dest$plugindir" \
	"$dest$includedir" "$dest$bindir"

install -m 755 "$rel/libfsimage.so" "$dest$libdir/libfsimage.so.1.0.0"
ln -sf libfsimage.so.1.0.0 "$dest$libdir/libfsimage.so.1.0"
ln -sf libfsimage.so.1.0 "$dest$libdir/libfsimage.so"
ln -sf libfsimage.so.1.0 "$dest$libdir/libxenfsimage.so"
install -m 644 "$rel/libfsimage.a" "$dest$libdir/libfsimage.a"
ln -sf libfsimage.a "$dest$libdir/libxenfsimage.a"

install -m 644 "$root/include/fsimage.h" "$root/include/xenfsimage.h" "$dest$includedir/"

# Plugins (test plugins built by the workspace are not installed).
for p in "$rel"/libfsimage_plugin_*.so; do
	[ -e "$p" ] || continue
	case "$(basename "$p")" in
	*test*|*hostile*) continue ;;
	esac
	install -m 755 "$p" "$dest$plugindir/"
done
if [ -x "$rel/fsimage-worker" ]; then
	install -m 755 "$rel/fsimage-worker" "$dest$plugindir/fsimage-worker"
fi
for b in fsimage-cat fsimage-ls; do
	[ -x "$rel/$b" ] && install -m 755 "$rel/$b" "$dest$bindir/$b"
done

sed -e "s|@prefix@|$prefix|" -e "s|@libdir@|$libdir|" \
	-e "s|@includedir@|$includedir|" -e "s|@version@|$version|" \
	-e "s|@url@|https://example.invalid/fsimage|" \
	-e "s|@libs_private@|-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc|" \
	"$root/fsimage.pc.in" >"$dest$libdir/pkgconfig/fsimage.pc"
chmod 644 "$dest$libdir/pkgconfig/fsimage.pc"
# Xen's name for the same library, for callers that ask pkg-config for it.
sed -e 's/^Name: fsimage$/Name: xenfsimage/' -e 's/-lfsimage /-lxenfsimage /' \
	"$dest$libdir/pkgconfig/fsimage.pc" >"$dest$libdir/pkgconfig/xenfsimage.pc"
chmod 644 "$dest$libdir/pkgconfig/xenfsimage.pc"

echo "installed fsimage $version into $dest$prefix (libdir $libdir)"
