#!/bin/sh
# IMIP captures: the generator still writes the committed pcaps byte for
# byte, `imwire read --format jsonl` still prints the expected events, and
# the facts that matter hold whatever the golden files say.
# Env: BIN (holds imwire and gen/gen_imip), TOP (repository root).
set -u
PCAPS="$TOP/tests/pcaps"
NAMES="imip_login imip_split imip_reorder imip_errors imip_resync imip_ipv6"
. "$TOP/tests/lib.sh"
begin_test

# 1. The generator is deterministic and matches what is committed.
regenerated gen_imip $NAMES

# 2. Decoding matches the golden files.
golden_pcaps $NAMES

# 3. Key facts, independent of the golden files.
L="$tmp/imip_login.jsonl"
# The salt and hash of the text: md5("1919833824password").
hash=$(printf '1919833824password' | md5sum | cut -c1-32)
[ "$hash" = c35900c24a82592dd2d0db27c647ff17 ]
check login_hash_is_md5_of_salt_and_password $?
grep -a -q -F "c35900c24a82592dd2d0db27c647ff17" "$PCAPS/imip_login.pcap" &&
	grep -a -q -F "1919833824" "$PCAPS/imip_login.pcap"
check login_capture_carries_salt_and_hash $?
fact login_event_has_local_id_from_LOGN 1 "$L" '"dir":"out","kind":"login","local":"1234567"'
fact login_events_all_imip 16 "$L" '"proto":"imip"'
fact login_local_known_everywhere 16 "$L" '"local":"1234567"'
fact login_client_address 16 "$L" '"client":"192.0.2.10:40001"'
fact buddy_list_from_server_LOGN 1 "$L" '"dir":"in","kind":"contacts"' '"remote":""' \
	'"text":"2345678 \"alice\",3456789 \"bob\""'
fact login_message_count 3 "$L" '"kind":"message"'
fact message_out_to_alice 1 "$L" '"dir":"out","kind":"message"' '"remote":"2345678"' \
	'"text":"Hi Alice, are you there?"'
fact message_in_from_alice_utf8 1 "$L" '"dir":"in","kind":"message"' '"remote":"2345678"' \
	'"text":"Yes! Grüße aus Köln"'
fact message_out_to_carol 1 "$L" '"dir":"out","kind":"message"' '"remote":"5678901"' \
	'"text":"Welcome, Carol!"'
fact nickname_not_in_remote 0 "$L" '"remote":"2345678 '
fact password_hash_not_logged 0 "$L" 'c35900c24a82592dd2d0db27c647ff17'
fact own_presence 1 "$L" '"dir":"out","kind":"presence"' '"text":"ONLINE"'
fact contact_presence_with_message 1 "$L" '"dir":"in","kind":"presence"' '"remote":"3456789"' \
	'"text":"AWAY: out for lunch"'
fact contact_presence_count 3 "$L" '"dir":"in","kind":"presence"'
fact list_add_out 1 "$L" '"dir":"out","kind":"contacts"' '"remote":"4567890"' \
	'"text":"add: Please add me to your list"'
fact list_add_in_uses_from 1 "$L" '"dir":"in","kind":"contacts"' '"remote":"5678901"' \
	'"text":"add: Hi, this is Carol"'
fact list_accept 1 "$L" '"dir":"out","kind":"contacts"' '"remote":"5678901"' '"text":"accept"'
fact list_remove 1 "$L" '"dir":"out","kind":"contacts"' '"remote":"3456789"' '"text":"remove"'
fact list_reject 1 "$L" '"dir":"out","kind":"contacts"' '"remote":"6789012"' '"text":"reject"'
fact logout 1 "$L" '"dir":"out","kind":"logout"'
fact no_errors_in_clean_session 0 "$L" '"kind":"error"'

S="$tmp/imip_split.jsonl"
fact split_message_in 1 "$S" '"dir":"in","kind":"message"' '"remote":"2345678"' \
	'"text":"This message arrives in three TCP segments."'
fact split_message_out 1 "$S" '"dir":"out","kind":"message"' '"remote":"2345678"' \
	'"text":"So does this reply, cut inside its body."'
fact split_message_count 2 "$S" '"kind":"message"'

R="$tmp/imip_reorder.jsonl"
fact reordered_message_once 1 "$R" '"dir":"in","kind":"message"' '"remote":"3456789"' \
	'"text":"Segments out of order, one of them twice."'
fact reordered_reply_once 1 "$R" '"dir":"out","kind":"message"' '"remote":"3456789"' \
	'"text":"Got it, Bob."'
fact reorder_message_count 2 "$R" '"kind":"message"'

E="$tmp/imip_errors.jsonl"
fact error_count 5 "$E" '"kind":"error"'
fact error_810_wrong_password 1 "$E" '"dir":"in","kind":"error"' '"text":"810 wrong password"'
fact error_811_count 2 "$E" '"kind":"error"' '"text":"811 '
fact error_811_names_failed_message_target 1 "$E" '"kind":"error"' '"remote":"alice"' \
	'"text":"811 illegal user id"'
fact error_800_bad_stat 1 "$E" '"kind":"error"' '"text":"800 '
fact error_801_bad_stat 1 "$E" '"kind":"error"' '"text":"801 '
fact error_login_attempts 3 "$E" '"dir":"out","kind":"login"'
fact errors_message_count 2 "$E" '"kind":"message"'
fact presence_with_body 1 "$E" '"dir":"out","kind":"presence"' '"text":"BUSY: in a meeting"'

Y="$tmp/imip_resync.jsonl"
fact resync_message_count 3 "$Y" '"kind":"message"'
fact resync_before 1 "$Y" '"dir":"out","kind":"message"' '"text":"before the broken block"'
fact resync_after_mid_line 1 "$Y" '"dir":"out","kind":"message"' '"text":"after the broken block"'
fact resync_server_side 1 "$Y" '"dir":"in","kind":"message"' '"remote":"2345678"' \
	'"text":"back in sync"'
fact resync_broken_blocks_not_decoded 0 "$Y" 'lost in the noise'
fact resync_absurd_size_not_decoded 0 "$Y" 'never decoded'
fact resync_later_presence 1 "$Y" '"dir":"out","kind":"presence"' '"text":"AWAY"'
grep -q 'resyncs after garbage' "$tmp/imip_resync.err"
check resync_reported_as_warning $?

V="$tmp/imip_ipv6.jsonl"
fact ipv6_client_address 4 "$V" '"client":"[2001:db8::10]:50123"'
fact ipv6_message_in 1 "$V" '"dir":"in","kind":"message"' '"local":"1234567","remote":"2345678"' \
	'"text":"Hello over IPv6"'
fact ipv6_message_out 1 "$V" '"dir":"out","kind":"message"' '"remote":"2345678"' \
	'"text":"IPv6 works here too"'
fact ipv6_midstream_presence_before_local_known 1 "$V" '"dir":"out","kind":"presence","local":""' \
	'"text":"ONLINE"'
exit 0
