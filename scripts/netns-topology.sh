#!/bin/sh
# A three-namespace test topology: client <-> bridge <-> server.
#   PREFIX-c   client, veth "eth0" 10.77.0.1/24, fd77::1/64
#   PREFIX-b   a Linux bridge "br0" joining "vc" and "vs", br_netfilter on
#   PREFIX-s   server, veth "eth0" 10.77.0.2/24, fd77::2/64
# Usage: netns-topology.sh up|down [PREFIX]   (PREFIX defaults to imw$$)
# "up" prints the prefix; every run of a test uses its own prefix, so
# tests can run side by side. "down" removes exactly those namespaces.
set -eu
cmd=${1:?usage: netns-topology.sh up|down [PREFIX]}
P=${2:-imw$$}

in_ns() { ns=$1; shift; ip netns exec "$ns" "$@"; }

case "$cmd" in
up)
	for ns in "$P-c" "$P-b" "$P-s"; do
		if ip netns list | grep -qw "$ns"; then
			echo "netns-topology: $ns already exists" >&2
			exit 1
		fi
	done
	trap '"$0" down "$P" >/dev/null 2>&1' EXIT
	ip netns add "$P-c"
	ip netns add "$P-b"
	ip netns add "$P-s"
	ip link add "${P}c0" netns "$P-c" type veth peer name vc netns "$P-b"
	ip link add "${P}s0" netns "$P-s" type veth peer name vs netns "$P-b"
	in_ns "$P-c" ip link set "${P}c0" name eth0
	in_ns "$P-s" ip link set "${P}s0" name eth0
	in_ns "$P-b" ip link add br0 type bridge
	in_ns "$P-b" ip link set vc master br0
	in_ns "$P-b" ip link set vs master br0
	for l in lo vc vs br0; do in_ns "$P-b" ip link set "$l" up; done
	# The bridge must not answer or forward for itself on the data path.
	in_ns "$P-b" sysctl -qw net.ipv6.conf.br0.disable_ipv6=1 || true
	in_ns "$P-b" sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null ||
		{ modprobe br_netfilter 2>/dev/null; in_ns "$P-b" sysctl -qw net.bridge.bridge-nf-call-iptables=1; }
	in_ns "$P-b" sysctl -qw net.bridge.bridge-nf-call-ip6tables=1
	in_ns "$P-c" ip addr add 10.77.0.1/24 dev eth0
	in_ns "$P-s" ip addr add 10.77.0.2/24 dev eth0
	in_ns "$P-c" ip -6 addr add fd77::1/64 dev eth0 nodad
	in_ns "$P-s" ip -6 addr add fd77::2/64 dev eth0 nodad
	for ns in "$P-c" "$P-s"; do
		in_ns "$ns" ip link set lo up
		in_ns "$ns" ip link set eth0 up
	done
	trap - EXIT
	echo "$P"
	;;
down)
	for ns in "$P-c" "$P-b" "$P-s"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
	;;
*)
	echo "usage: netns-topology.sh up|down [PREFIX]" >&2
	exit 2
	;;
esac
