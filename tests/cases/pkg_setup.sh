#!/bin/sh
# `imwire setup`, `attach` and `detach` check what they do (issue 21, item 6;
# issue 17, item 8), on the netns topology (prefix imwps<pid>, always removed):
#  - setup refuses a bridge that does not exist, an interface that is no
#    bridge, and net.bridge.bridge-nf-call-iptables=0; --fix sets it;
#  - the backend is said: nftables where the kernel has `nft queue`, else
#    iptables (CONFIG_NFT_QUEUE is off on the test machines); the nftables
#    rules of --dry-run pass `nft -c` except, where the kernel lacks it, for
#    the queue statement itself;
#  - setup -c CONFIG takes bridge=, queues=, steer_ports=, classifier=;
#    --remove -c CONFIG removes that bridge's rules and nothing else;
#  - classifier=on attaches the classifier to every port of the bridge and
#    steers by mark; --remove detaches it, its clsact and its maps;
#  - detach removes the filter, the clsact qdisc (kept when another filter
#    uses it) and the pinned maps once no interface has the classifier.
# Needs root, BPF and bpffs.
set -u
BIN=${BIN:?} TOP=${TOP:?}
. "$TOP/tests/lib.sh"
begin_test
live_test pkg_setup "imwps$$" iptables ip6tables nft tc bpftool nsenter
bpf_pins

rules() { # every imwire rule of the bridge namespace, iptables -S style
	for t in iptables ip6tables; do
		$B $t -w -t raw -S PREROUTING
		$B $t -w -t filter -S FORWARD
	done | grep -- '--comment imwire' | sort
}

# ---- the bridge check -------------------------------------------------------
$B "$BIN/imwire" setup --bridge nosuch0 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && grep -q "no bridge nosuch0" "$tmp/err" && [ -z "$(rules)" ]
check setup_refuses_missing_bridge $? "rc $rc: $(cat "$tmp/err")"

$B "$BIN/imwire" setup --bridge vc >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && grep -q "vc is not a bridge" "$tmp/err" && [ -z "$(rules)" ]
check setup_refuses_non_bridge $? "rc $rc: $(cat "$tmp/err")"

$B sysctl -qw net.bridge.bridge-nf-call-iptables=0
$B "$BIN/imwire" setup --bridge br0 --ports 6667 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && grep -q "bridge-nf-call-iptables is not 1" "$tmp/err" && [ -z "$(rules)" ]
check setup_refuses_bridge_nf_call_iptables_0 $? "rc $rc: $(cat "$tmp/err")"

$B "$BIN/imwire" setup --bridge br0 --ports 6667 --fix >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && [ "$($B sysctl -n net.bridge.bridge-nf-call-iptables)" = 1 ] &&
	grep -q "sysctl -w net.bridge.bridge-nf-call-iptables=1" "$tmp/out" &&
	[ "$(rules | grep -c NFQUEUE)" -eq 2 ]
check setup_fix_sets_bridge_nf_call_iptables $? "rc $rc: $(cat "$tmp/out" "$tmp/err")"
$B "$BIN/imwire" setup --remove >/dev/null 2>&1

# ---- the backend --------------------------------------------------------------
probe='add table inet imwps_probe
add chain inet imwps_probe c
add rule inet imwps_probe c queue num 0 bypass'
if echo "$probe" | $B nft -c -f - 2>/dev/null; then have_queue=yes; else have_queue=no; fi
$B "$BIN/imwire" setup --bridge br0 --ports 6667 >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $have_queue = no ]; then
	[ $rc -eq 0 ] && grep -q "iptables backend (nftables: this kernel has no nft queue" "$tmp/err" &&
		[ "$(rules | grep -c NFQUEUE)" -eq 2 ]
	check setup_auto_falls_back_to_iptables_and_says_so $? "rc $rc: $(cat "$tmp/err")"
	$B "$BIN/imwire" setup --bridge br0 --backend nftables >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 1 ] && grep -q "nftables backend: this kernel has no nft queue" "$tmp/err"
	check setup_nftables_refused_without_nft_queue $? "rc $rc: $(cat "$tmp/err")"
else
	[ $rc -eq 0 ] && grep -q "nftables backend: table inet imwire_br0" "$tmp/err" &&
		$B nft list table inet imwire_br0 | grep -q "queue"
	check setup_auto_uses_nftables_and_says_so $? "rc $rc: $(cat "$tmp/err")"
fi
$B "$BIN/imwire" setup --remove >/dev/null 2>&1
[ -z "$(rules)" ] && ! $B nft list tables | grep -q imwire_
check setup_remove_leaves_nothing $? "$(rules)"

# The nftables rules, checked by the kernel without being applied.
for mode in ports by-mark; do
	if [ $mode = ports ]; then opt="--ports 6667,5222"; else opt="--by-mark"; fi
	$B "$BIN/imwire" setup --bridge br0 --queue 2-3 $opt --backend nftables --dry-run \
		>"$tmp/nft.$mode" 2>"$tmp/err"
	rc=$?
	grep -q 'iifname "br0" oifname "br0" .* queue num 2-3 bypass' "$tmp/nft.$mode" &&
		grep -q 'iifname "br0" .* notrack' "$tmp/nft.$mode"
	check "setup_nft_dry_run_${mode}_prints_the_table" $? "rc $rc: $(cat "$tmp/nft.$mode" "$tmp/err")"
	# everything but the queue statement passes nft -c here ...
	sed 's/queue num [0-9-]* bypass/accept/' "$tmp/nft.$mode" >"$tmp/nft.noqueue"
	$B nft -c -f "$tmp/nft.noqueue" >"$tmp/nftc" 2>&1
	check "setup_nft_rules_${mode}_pass_nft_check" $? "$(cat "$tmp/nftc")"
	# ... and the queue statements fail only for want of the kernel's expression
	$B nft -c -f "$tmp/nft.$mode" >"$tmp/nftc" 2>&1
	rc=$?
	if [ $have_queue = yes ]; then
		check "setup_nft_rules_${mode}_with_queue_pass_nft_check" $rc "$(cat "$tmp/nftc")"
	else
		# one error per queue rule, each the kernel's, each under "queue"
		[ $rc -ne 0 ] && ! grep -q "syntax error" "$tmp/nftc" &&
			[ "$(grep -c 'Error:' "$tmp/nftc")" -eq "$(grep -c 'queue num' "$tmp/nft.$mode")" ] &&
			[ "$(grep 'Error:' "$tmp/nftc" | sed 's/.*Error: //' | sort -u)" = \
				"Could not process rule: No such file or directory" ] &&
			[ "$(grep -c '\^\^\^\^\^$' "$tmp/nftc")" -eq "$(grep -c 'Error:' "$tmp/nftc")" ] &&
			[ "$(grep -B1 '\^\^\^\^\^$' "$tmp/nftc" | grep -c 'queue num')" -eq "$(grep -c 'Error:' "$tmp/nftc")" ]
		check "setup_nft_rules_${mode}_fail_only_for_nft_queue" $? "$(cat "$tmp/nftc")"
	fi
done

# ---- from the configuration, per bridge ---------------------------------------
$B ip link add br1 type bridge
$B ip link set br1 up
$B "$BIN/imwire" setup --bridge br1 --ports 6667 >/dev/null 2>&1
printf 'bridge=br0\nqueues=4-5\nsteer_ports=6667, 5222\nfirewall_backend=iptables\n' >"$tmp/br0.conf"
"$BIN/imwire" check-config "$tmp/br0.conf" >/dev/null 2>&1
check setup_keys_pass_check_config $?
$B "$BIN/imwire" setup -c "$tmp/br0.conf" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && [ "$(rules | grep -c -- '-i br0 -o br0 .*--ports 6667,5222 .*--queue-balance 4:5')" -eq 2 ]
check setup_from_config $? "rc $rc: $(cat "$tmp/err")" "$(rules)"
$B "$BIN/imwire" setup -c "$tmp/br0.conf" >/dev/null 2>&1
[ "$(rules | grep -c -- '-i br0')" -eq 4 ]
check setup_from_config_idempotent $? "$(rules)"
$B "$BIN/imwire" setup --remove -c "$tmp/br0.conf" >/dev/null 2>"$tmp/err"
[ "$(rules | grep -c -- '-i br0')" -eq 0 ] && [ "$(rules | grep -c -- '-i br1')" -eq 4 ]
check setup_remove_takes_only_its_bridge $? "$(rules)"
$B "$BIN/imwire" setup --remove >/dev/null 2>&1
printf 'bridge=br0\nqueues=1-\n' >"$tmp/bad.conf"
"$BIN/imwire" setup -c "$tmp/bad.conf" --dry-run >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && grep -q "queues: expected N or N-M" "$tmp/err"
check setup_bad_queues_key_refused $? "rc $rc: $(cat "$tmp/err")"

# ---- the classifier from the configuration ------------------------------------
printf 'bridge=br0\nclassifier=on\nbpf_pin_dir=%s\nfirewall_backend=iptables\n' "$PIN" >"$tmp/cls.conf"
$BPF_B "$BIN/imwire" setup -c "$tmp/cls.conf" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && grep -q "^imwire attach vc vs$\|^imwire attach vs vc$" "$tmp/out" &&
	$BPF_B tc filter show dev vc ingress | grep -q imwire_classify &&
	$BPF_B tc filter show dev vs ingress | grep -q imwire_classify &&
	[ -e "$PIN/protocols" ] && [ "$(rules | grep -c -- '--mark 0x1000000/0x1000000')" -eq 4 ]
check setup_classifier_attaches_bridge_ports $? "rc $rc: $(cat "$tmp/out" "$tmp/err")"
$BPF_B "$BIN/imwire" setup --remove -c "$tmp/cls.conf" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && [ -z "$(rules)" ] && ! $BPF_B tc qdisc show dev vc | grep -q clsact &&
	! $BPF_B tc qdisc show dev vs | grep -q clsact && [ ! -e "$PIN" ]
check setup_remove_detaches_classifier $? "rc $rc: $(cat "$tmp/out" "$tmp/err")" \
	"$($BPF_B tc qdisc show dev vc)" "$(ls "$PIN" 2>&1)"

# ---- detach ---------------------------------------------------------------------
$BPF_B "$BIN/imwire" attach vc vs >/dev/null 2>&1
$BPF_B "$BIN/imwire" detach vc >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && ! $BPF_B tc qdisc show dev vc | grep -q clsact &&
	$BPF_B tc filter show dev vs ingress | grep -q imwire_classify && [ -e "$PIN/flows" ] &&
	grep -q "maps kept" "$tmp/err"
check detach_one_port_keeps_maps_for_the_other $? "rc $rc: $(cat "$tmp/err")"
$BPF_B "$BIN/imwire" detach vs >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && ! $BPF_B tc qdisc show dev vs | grep -q clsact && [ ! -e "$PIN" ] &&
	grep -q "maps removed" "$tmp/err"
check detach_last_port_removes_qdisc_and_maps $? "rc $rc: $(cat "$tmp/err")" "$(ls "$PIN" 2>&1)"

# a clsact someone else uses stays, with their filter (classic BPF: cls_bpf is there)
$BPF_B tc qdisc add dev vc clsact
$BPF_B tc filter add dev vc egress bpf bytecode '1,6 0 0 4294967295,'
$BPF_B "$BIN/imwire" attach vc >/dev/null 2>&1
$BPF_B "$BIN/imwire" detach vc >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && $BPF_B tc qdisc show dev vc | grep -q clsact &&
	$BPF_B tc filter show dev vc egress | grep -q bytecode &&
	! $BPF_B tc filter show dev vc ingress | grep -q imwire && [ ! -e "$PIN" ]
check detach_keeps_a_clsact_others_use $? "rc $rc: $(cat "$tmp/err")"
$BPF_B tc qdisc del dev vc clsact
