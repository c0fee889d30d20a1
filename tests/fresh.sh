#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run `make test` as a new user would on a fresh Debian 12 machine: in a
# chroot made with debootstrap, whose only programs are Debian's bookworm
# minimal base (plus make, to type `make test` at all), so that every other
# program the targets run must come from tests/deps.sh (issue #11).
#
#   tests/fresh.sh [--new | --reuse] [--variant minbase|default]
#                  [--repo DIR] [--commit REV] [--at PATH] [--mirror URL] [DIR]
#
# DIR      the chroot (default /var/tmp/ksmtp-fresh); kept afterwards.
# --new    build it anew (an existing DIR made by this script is removed
#          first); the default when DIR does not exist.
# --reuse  use the existing chroot as it is: only what deps.sh finds
#          missing gets installed, the caches in its /root/.cache are warm.
#          One of --new or --reuse is required when DIR exists.
# --variant  debootstrap's variant: minbase (default) is apt and the
#          Essential packages only, a subset of every Debian 12 install,
#          so what passes here passes on any of them; "default" adds the
#          required and important packages of the installer's base system.
# --repo, --commit  what to test: a clone of REPO (default: the repository
#          this script is in) checked out at REV (default: its HEAD), put at
#          PATH in the chroot (--at; default /root/ksmtp, a root's clone in
#          its home, which is mode 0700 as on any Debian machine).
#
# The chroot gets the host's Debian apt sources (/etc/apt/sources.list.d/,
# those files that only name *.debian.org archives) and resolv.conf, and
# /proc, /sys, /dev, /dev/pts, /dev/shm (tmpfs) and /tmp (tmpfs) mounted.
# `make test` runs there as root with env -i, HOME=/root and the standard
# PATH, so nothing of this machine's environment or caches
# (~/.cache/ksmtp) is used: the guests QEMU boots see the chroot's root as
# "the host's root" over 9p. Prints how long `make test` took and its last
# line; its output and the tests' logs (the chroot's /tmp/ksmtp-*, a
# tmpfs) are kept in DIR/root/fresh-logs/<date>/. Everything mounted is
# unmounted on exit, and the processes left in the chroot ended, also on
# failure or interruption. Exits with make test's status.
set -euo pipefail
# One compound command: bash reads it whole before running any of it, so
# editing this file during a run (which lasts an hour) cannot derail that run.
{

here=$(cd "$(dirname "$0")/.." && pwd)
dir=/var/tmp/ksmtp-fresh
mode=
variant=minbase
repo=$here
commit=HEAD
at=/root/ksmtp
mirror=http://deb.debian.org/debian
suite=bookworm
std_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

usage() {
	sed -n '9,26s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--new) mode=new ;;
	--reuse) mode=reuse ;;
	--variant) variant=${2:?}; shift ;;
	--repo) repo=${2:?}; shift ;;
	--commit) commit=${2:?}; shift ;;
	--at) at=${2:?}; shift ;;
	--mirror) mirror=${2:?}; shift ;;
	-h | --help) usage ;;
	-*) echo "fresh: unknown option $1" >&2; usage ;;
	*) dir=$1 ;;
	esac
	shift
done

if [ "$(id -u)" -ne 0 ]; then
	echo "fresh: must run as root (debootstrap, chroot and mount)" >&2
	exit 1
fi
case $variant in
minbase | default) ;;
*) echo "fresh: --variant minbase or default" >&2; exit 2 ;;
esac
for p in debootstrap git chroot mount umount flock; do
	command -v "$p" > /dev/null ||
		{ echo "fresh: $p is missing on this machine (apt-get install debootstrap git)" >&2; exit 1; }
done
dir=$(realpath -m "$dir")
case $dir in
/ | /usr | /usr/* | /etc | /etc/* | /proc* | /sys* | /dev*)
	echo "fresh: refusing $dir as the chroot" >&2
	exit 2
	;;
esac
case $at in
/*/*) ;;
*) echo "fresh: --at wants an absolute path two levels deep at least, not $at" >&2; exit 2 ;;
esac
case /$at/ in
*/../* | */./* | //proc/* | //sys/* | //dev/* | //tmp/*)
	echo "fresh: refusing --at $at" >&2
	exit 2
	;;
esac
marker=$dir/.ksmtp-fresh
rev=$(git -C "$repo" rev-parse --verify "$commit^{commit}") ||
	{ echo "fresh: no commit $commit in $repo" >&2; exit 2; }

# One run per chroot at a time (the lock file sits beside it).
mkdir -p "$(dirname "$dir")"
exec 9> "$dir.lock"
flock -n 9 || { echo "fresh: $dir is in use by another run" >&2; exit 1; }

mounted_under() {	# mount points at or below DIR, deepest last
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo
}
if [ -n "$(mounted_under "$dir")" ]; then
	echo "fresh: something is still mounted under $dir (an earlier run killed?):" >&2
	mounted_under "$dir" >&2
	exit 1
fi

mounts=()
stamp=$(date +%Y%m%d-%H%M%S)
logdir=$dir/root/fresh-logs/$stamp

# shellcheck disable=SC2317 # (called from the EXIT trap)
chroot_pids() {	# the processes whose root is the chroot
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$dir" ] && echo "${p#/proc/}"
	done
	return 0
}

# shellcheck disable=SC2317 # (the EXIT trap)
cleanup() {
	local rc=$? pids i
	trap - EXIT INT TERM HUP
	set +e
	# What the run left behind in the chroot (daemons, guests): ours.
	pids=$(chroot_pids)
	if [ -n "$pids" ]; then
		echo "fresh: ending processes left in the chroot: $(tr '\n' ' ' <<<"$pids")" >&2
		# shellcheck disable=SC2086 # one pid per word
		kill -TERM $pids 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			[ -z "$(chroot_pids)" ] && break
			sleep 1
		done
		pids=$(chroot_pids)
		# shellcheck disable=SC2086
		[ -z "$pids" ] || kill -KILL $pids 2>/dev/null
		sleep 1
	fi
	# The chroot's /tmp is a tmpfs: keep the tests' logs.
	if [ -d "$logdir" ] && mountpoint -q "$dir/tmp"; then
		for i in "$dir"/tmp/ksmtp-*; do
			[ -e "$i" ] && cp -a "$i" "$logdir/" 2>/dev/null
		done
	fi
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
		umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" ||
			echo "fresh: cannot unmount ${mounts[i]}" >&2
	done
	if [ -n "$(mounted_under "$dir")" ]; then
		echo "fresh: still mounted under $dir:" >&2
		mounted_under "$dir" >&2
		rc=1
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if [ -z "$mode" ]; then
	if [ -e "$dir" ]; then
		echo "fresh: $dir exists: --reuse it or rebuild it with --new" >&2
		exit 2
	fi
	mode=new
fi
if [ "$mode" = reuse ] && [ ! -f "$marker" ]; then
	echo "fresh: $dir is not a chroot made by tests/fresh.sh (no $marker)" >&2
	exit 2
fi

if [ "$mode" = new ]; then
	if [ -e "$dir" ]; then
		[ -f "$marker" ] ||
			{ echo "fresh: $dir exists and was not made by tests/fresh.sh: not removing it" >&2; exit 2; }
		echo "fresh: removing the old chroot $dir"
		rm -rf --one-file-system "$dir"
	fi
	mkdir -p "$dir"
	echo "debootstrap --variant=$variant $suite (unfinished)" > "$marker"
	echo "fresh: debootstrap --variant=$variant --include=make $suite $dir $mirror"
	t0=$SECONDS
	debootstrap_variant=()
	[ "$variant" = default ] || debootstrap_variant=(--variant="$variant")
	# make: the one program needed to type `make test` (and the one a user
	# installs first); everything else is deps.sh's job.
	debootstrap "${debootstrap_variant[@]}" --include=make "$suite" "$dir" "$mirror"
	# No daemon starts from a package's maintainer scripts here: the chroot
	# shares this machine's network (postfix, saslauthd).
	printf '#!/bin/sh\nexit 101\n' > "$dir/usr/sbin/policy-rc.d"
	chmod 755 "$dir/usr/sbin/policy-rc.d"
	echo "debootstrap --variant=$variant --include=make $suite $mirror, $(date -R)" > "$marker"
	echo "fresh: debootstrap took $((SECONDS - t0)) s"
fi

# The host's Debian archives (the same mirrors, security and updates); other
# vendors' repositories are not part of a Debian machine and are left out.
debian_only() {	# FILE: every archive it names is *.debian.org
	local uris
	case $1 in
	*.sources) uris=$(sed -n 's/^URIs:[[:space:]]*//p' "$1" | tr -s ' \t' '\n') ;;
	*.list) uris=$(sed -n 's/^[[:space:]]*deb\(-src\)\{0,1\}[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]\+\).*/\3/p' "$1") ;;
	*) return 1 ;;
	esac
	[ -n "$uris" ] || return 1
	! grep -v -E '^$|^[a-z+]+://([a-z0-9-]+\.)*debian\.org(/|$)' <<<"$uris" | grep -q .
}
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*; do
	[ -f "$f" ] || continue
	case $f in */sources.list | *.list | *.sources) ;; *) continue ;; esac
	if debian_only "$f"; then
		sources+=("$f")
	else
		echo "fresh: apt sources: $f left out (not only Debian's archive)"
	fi
done
if [ ${#sources[@]} -gt 0 ]; then
	rm -f "$dir/etc/apt/sources.list" "$dir"/etc/apt/sources.list.d/*
	for f in "${sources[@]}"; do
		echo "fresh: apt sources: $f"
		case $f in
		*/sources.list) cp "$f" "$dir/etc/apt/sources.list" ;;
		*) cp "$f" "$dir/etc/apt/sources.list.d/" ;;
		esac
	done
else
	echo "fresh: apt sources: none of this machine's is Debian's only: keeping debootstrap's ($mirror)"
fi
cp -L /etc/resolv.conf "$dir/etc/resolv.conf"

# The repository at REV, at PATH (cloned anew every run, by this machine's
# git: the chroot has none, and needs none).
rm -rf --one-file-system "$dir$at"
mkdir -p "$(dirname "$dir$at")"
git clone -q --no-checkout "$repo" "$dir$at"
git -C "$dir$at" checkout -q --detach "$rev" 2>/dev/null || {
	git -C "$dir$at" fetch -q "$repo" "$rev"
	git -C "$dir$at" checkout -q --detach "$rev"
}
mkdir -p "$logdir"

mnt() {	# mnt TARGET MOUNT-ARGS...: mount, and remember it for the cleanup
	local t=$dir$1
	shift
	mkdir -p "$t"
	mount "$@" "$t"
	mounts+=("$t")
}
mnt /proc -t proc proc
mnt /sys -t sysfs sysfs
mnt /dev --bind /dev
mount --make-rslave "$dir/dev"
mnt /dev/pts --bind /dev/pts
mount --make-rslave "$dir/dev/pts"
mnt /dev/shm -t tmpfs -o mode=1777,nosuid,nodev tmpfs
mnt /tmp -t tmpfs -o mode=1777,nosuid,nodev tmpfs

echo "fresh: make test in $dir$at at $rev ($variant chroot, $mode)"
echo "fresh: log $logdir/make-test.log"
start=$(date +%s)
set +e
# shellcheck disable=SC2016 # $1 is the inner shell's
chroot "$dir" /usr/bin/env -i HOME=/root PATH="$std_path" TERM=dumb USER=root LOGNAME=root \
	/bin/sh -c 'cd "$1" && exec make test' sh "$at" < /dev/null 2>&1 | tee "$logdir/make-test.log"
rc=${PIPESTATUS[0]}
set -e
secs=$(($(date +%s) - start))
printf 'fresh: make test took %dh %02dm %02ds (%d s), exit %d\n' \
	$((secs / 3600)) $((secs % 3600 / 60)) $((secs % 60)) "$secs" "$rc"
echo "fresh: last line: $(tail -n 1 "$logdir/make-test.log")"
# (make's own "Error" line follows run-all.sh's on failure)
echo "fresh: result: $(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$logdir/make-test.log" | tail -n 1)"
echo "fresh: chroot kept at $dir (again, with warm caches: tests/fresh.sh --reuse $dir)"
exit "$rc"
}
