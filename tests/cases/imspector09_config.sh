#!/bin/sh
# `imwire check-config` on IMSpector 0.9's configuration (issue #18), no
# live peers: the sample of tests/imspector09/ passes with warnings only,
# one per key imwire cannot honour, each saying what imwire does instead
# and none "unknown key", and creates no database; a broken copy gets
# every one of its problems named (its own lines, its ACL file's lines,
# its lists and rules), not only the first, and exit status 1.
# Env: BIN, TOP.
set -u
. "$TOP/tests/lib.sh"
begin_test

sample=$TOP/tests/imspector09
cp "$sample/acl.txt" "$sample/badwords.txt" "$tmp/"
sed -e "s|/etc/imspector|$tmp|g; s|/var/lib/imspector|$tmp|g" \
	-e "s|/var/log/imspector|$tmp/log|g; s|/var/run|$tmp|g" "$sample/imspector.conf" \
	>"$tmp/imspector.conf"

"$BIN/imwire" check-config "$tmp/imspector.conf" >"$tmp/ok.out" 2>"$tmp/ok.err"
check sample_passes $? "$(head -3 "$tmp/ok.err")"
grep -q "^$tmp/imspector.conf: OK (36 settings, 14 warning(s))$" "$tmp/ok.out"
check sample_counts_settings_and_warnings $? "$(head -1 "$tmp/ok.out")"
for k in port http_port listenaddr plugin_dir ssl ssl_key ssl_cert ssl_ca_key ssl_ca_cert \
	ssl_cert_dir ssl_verify ssl_verify_dir icq_ssl https_protocol; do
	fact "sample_warns_once_for_$k" 1 "$tmp/ok.err" "imwire: warning: $tmp/imspector.conf:" \
		": $k: imwire " "; ignored"
done
[ "$(grep -vc '^imwire: warning: ' "$tmp/ok.err")" -eq 0 ]
check sample_only_warnings $? "$(grep -v '^imwire: warning: ' "$tmp/ok.err")"
[ ! -e "$tmp/responder.db" ]
check check_config_creates_no_responder_file $?

# ---- a broken copy: every problem, in the order found
cp "$tmp/imspector.conf" "$tmp/broken.conf"
cat >>"$tmp/broken.conf" <<EOF
irc_protocol=perhaps
no equals sign here
block_files=sometimes
regex_replace=/unclosed(/x/
notice_sender=icq:x chat:y
EOF
sed -i "s|^badwords_filename=.*|badwords_filename=$tmp/missing.txt|" "$tmp/broken.conf"
printf 'allow alice carol\npermit bob\ndeny\nallow all\n' >"$tmp/acl.txt"
"$BIN/imwire" check-config "$tmp/broken.conf" >"$tmp/bad.out" 2>"$tmp/bad.err"
rc=$?
[ $rc -eq 1 ]
check broken_fails $? "exit status $rc"
grep '^imwire: error: ' "$tmp/bad.err" | sed "s|$tmp/||g" >"$tmp/bad.got"
base=$(wc -l <"$tmp/imspector.conf")
cat >"$tmp/bad.want" <<EOF
imwire: error: broken.conf:$((base + 1)): irc_protocol: expected on or off, got "perhaps"
imwire: error: broken.conf:$((base + 2)): expected key=value, got "no equals sign here"
imwire: error: broken.conf:$((base + 3)): block_files: expected on or off, got "sometimes"
imwire: error: missing.txt: cannot open: No such file or directory
imwire: error: acl.txt:2: expected "allow" or "deny" first, got "permit"
imwire: error: acl.txt:3: deny: missing the local id (or "all")
imwire: error: broken.conf:$((base + 4)): regex_replace: bad pattern: Unmatched ( or \\(
imwire: error: broken.conf:$((base + 5)): notice_sender: unknown protocol "chat"
EOF
same_lines broken_every_problem_named "$tmp/bad.want" "$tmp/bad.got"
grep -q "^imwire: $tmp/broken.conf: 8 error(s), 14 warning(s)$" "$tmp/bad.err"
check broken_counts_problems $? "$(tail -1 "$tmp/bad.err")"
[ ! -s "$tmp/bad.out" ]
check broken_prints_no_ok $?
exit $failed_here
