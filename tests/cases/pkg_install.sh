#!/bin/sh
# make install and uninstall (issue 17, items 2-3), into DESTDIR trees under
# $tmp, with the binaries the suite already built (BUILD is BIN's parent):
#  - the layout with PREFIX=/usr: every file where Debian expects it, the
#    configuration from the example, mode 0640;
#  - an existing configuration is never overwritten;
#  - the systemd units name the installed paths and pass
#    `systemd-analyze verify` without a word; the tmpfiles.d file makes
#    /run/imwire, /var/lib/imwire and /var/log/imwire (systemd-tmpfiles
#    --root); logrotate takes the logrotate file;
#  - PREFIX=/usr/local and sysconfdir= move the files, the units' paths and
#    the daemon's built-in default configuration;
#  - uninstall removes everything but a configuration its operator changed.
set -u
BIN=${BIN:?} TOP=${TOP:?}
. "$TOP/tests/lib.sh"
begin_test
require install_prerequisites systemd-analyze systemd-tmpfiles logrotate man || exit 1
BUILD=$(dirname "$BIN")
D=$tmp/d
# anything install rebuilds (the version header, a changed source) takes the
# flags the suite's build had: the sanitizers' for build/asan
opt="-O2 -g"
if nm "$BIN/imwired" 2>/dev/null | grep -q __asan_init; then
	opt=$(sed -n 's/^SAN_FLAGS := //p' "$TOP/Makefile")
fi

mk() { # make TARGET [VAR=VALUE...], quietly, in the top directory
	make -s --no-print-directory -C "$TOP" "$@" >"$tmp/make.log" 2>&1
}

mk install BUILD="$BUILD" DESTDIR="$D" PREFIX=/usr OPT="$opt"
check install_runs $? "$(tail -5 "$tmp/make.log")"
(cd "$D" && find . ! -type d | sort) >"$tmp/files"
cat >"$tmp/want" <<'EOF'
./etc/imwire/imwire.conf
./etc/logrotate.d/imwire
./lib/systemd/system/imwired.service
./lib/systemd/system/imwired@.service
./usr/lib/imwire/imwire.bpf.o
./usr/lib/tmpfiles.d/imwire.conf
./usr/sbin/imwire
./usr/sbin/imwired
./usr/share/doc/imwire/CHANGELOG.md
./usr/share/doc/imwire/LICENSE
./usr/share/doc/imwire/README.md
./usr/share/doc/imwire/imwire.conf.example
./usr/share/man/man5/imwire.conf.5
./usr/share/man/man8/imwire.8
./usr/share/man/man8/imwired.8
EOF
same_lines install_layout_prefix_usr "$tmp/want" "$tmp/files"
cmp -s "$TOP/imwire.conf.example" "$D/etc/imwire/imwire.conf" &&
	[ "$(stat -c %a "$D/etc/imwire/imwire.conf")" = 640 ]
check install_config_from_example_0640 $? "$(stat -c %a "$D/etc/imwire/imwire.conf")"
file "$D/usr/lib/imwire/imwire.bpf.o" 2>/dev/null | grep -q "eBPF" ||
	od -An -tx1 -j18 -N2 "$D/usr/lib/imwire/imwire.bpf.o" | grep -q "f7 00"
check install_bpf_object_is_bpf_elf $?
"$D/usr/sbin/imwire" --version | grep -q "^imwire [0-9]"
check install_binaries_run $?

# the operator's configuration stays
echo "bridge=br9" >>"$D/etc/imwire/imwire.conf"
cp "$D/etc/imwire/imwire.conf" "$tmp/changed.conf"
mk install BUILD="$BUILD" DESTDIR="$D" PREFIX=/usr OPT="$opt"
cmp -s "$tmp/changed.conf" "$D/etc/imwire/imwire.conf" && grep -q "keeping $D/etc/imwire/imwire.conf" "$tmp/make.log"
check install_never_overwrites_config $? "$(cat "$tmp/make.log")"

# the units: installed paths, and systemd-analyze verify says nothing
U=$D/lib/systemd/system
grep -qx 'ExecStart=/usr/sbin/imwired -d -c /etc/imwire/imwire.conf' "$U/imwired.service" &&
	grep -qx 'ExecStartPre=+/usr/sbin/imwire setup -c /etc/imwire/imwire.conf' "$U/imwired.service" &&
	grep -qx 'ExecStopPost=+/usr/sbin/imwire setup --remove -c /etc/imwire/imwire.conf' "$U/imwired.service" &&
	grep -qx 'ExecStart=/usr/sbin/imwired -d -c /etc/imwire/%i.conf' "$U/imwired@.service" &&
	grep -qx 'Type=notify' "$U/imwired@.service" && ! grep -q '@[a-z]*dir@' "$U/imwired.service" "$U/imwired@.service"
check install_units_name_installed_paths $? "$(grep ^Exec "$U/imwired.service")"
# verify needs the commands to exist: the same units, pointed into DESTDIR
mkdir -p "$tmp/v"
for u in imwired.service imwired@.service; do
	sed "s|/usr/sbin/|$D/usr/sbin/|g" "$U/$u" >"$tmp/v/$u"
done
MANPATH=$D/usr/share/man: systemd-analyze verify "$tmp/v/imwired.service" "$tmp/v/imwired@br0.service" \
	>"$tmp/verify" 2>&1
rc=$?
[ $rc -eq 0 ] && [ ! -s "$tmp/verify" ]
check install_units_pass_systemd_analyze_verify $? "rc $rc" "$(cat "$tmp/verify")"
# and verify does catch a wrong directive (so silence above means something)
sed 's/^ProtectSystem=strict/ProtectSystem=stric/' "$tmp/v/imwired.service" >"$tmp/v/broken.service"
MANPATH=$D/usr/share/man: systemd-analyze verify "$tmp/v/broken.service" >"$tmp/verify" 2>&1
grep -q "stric" "$tmp/verify"
check install_verify_would_catch_a_bad_unit $? "$(cat "$tmp/verify")"

# --root resolves users and groups in the root's own files
cp /etc/passwd /etc/group "$D/etc/"
systemd-tmpfiles --root="$D" --create "$D/usr/lib/tmpfiles.d/imwire.conf" >"$tmp/tmpfiles" 2>&1
[ "$(stat -c %a "$D/run/imwire" 2>/dev/null)" = 755 ] && [ "$(stat -c %a "$D/var/lib/imwire" 2>/dev/null)" = 750 ] &&
	[ "$(stat -c '%a %G' "$D/var/log/imwire" 2>/dev/null)" = "750 adm" ]
check install_tmpfiles_makes_run_state_and_log_dirs $? "$(cat "$tmp/tmpfiles")" "$(ls -ld "$D/run/imwire" "$D/var/lib/imwire" "$D/var/log/imwire" 2>&1)"
rm -rf "$D/run" "$D/var" "$D/etc/passwd" "$D/etc/group"

printf 'include %s\n' "$D/etc/logrotate.d/imwire" >"$tmp/lr.conf"
logrotate -d -s "$tmp/lr.state" "$tmp/lr.conf" >"$tmp/lr.log" 2>&1
rc=$?
[ $rc -eq 0 ] && ! grep -qi "error" "$tmp/lr.log" && grep -q "/var/log/imwire/\*.jsonl" "$tmp/lr.log"
check install_logrotate_file_parses $? "rc $rc" "$(head -5 "$tmp/lr.log")"

MANWIDTH=80 man --warnings -l "$D/usr/share/man/man5/imwire.conf.5" 2>&1 >/dev/null | grep -q . 
check install_man_pages_render "$([ $? -ne 0 ]; echo $?)"

# uninstall: only the operator's configuration is left
mk uninstall DESTDIR="$D" PREFIX=/usr
(cd "$D" && find . ! -type d | sort) >"$tmp/left"
echo ./etc/imwire/imwire.conf >"$tmp/want"
same_lines uninstall_keeps_only_changed_config "$tmp/want" "$tmp/left"
cp "$TOP/imwire.conf.example" "$D/etc/imwire/imwire.conf"
mk uninstall DESTDIR="$D" PREFIX=/usr
[ -z "$(cd "$D" && find . ! -type d)" ]
check uninstall_removes_unchanged_config $? "$(cd "$D" && find . ! -type d)"

# another prefix and configuration directory: a copy of the build, so the
# suite's binaries keep their built-in /etc
cp -a "$BUILD" "$tmp/build"
D2=$tmp/d2
mk install BUILD="$tmp/build" DESTDIR="$D2" PREFIX=/usr/local sysconfdir=/opt/imw/etc OPT="$opt"
check install_prefix_usr_local_runs $? "$(tail -5 "$tmp/make.log")"
[ -x "$D2/usr/local/sbin/imwired" ] && [ -f "$D2/opt/imw/etc/imwire/imwire.conf" ] &&
	[ -f "$D2/usr/local/share/man/man8/imwired.8" ] &&
	grep -qx 'ExecStart=/usr/local/sbin/imwired -d -c /opt/imw/etc/imwire/imwire.conf' \
		"$D2/usr/local/lib/systemd/system/imwired.service" &&
	"$D2/usr/local/sbin/imwired" --help | grep -q "default /opt/imw/etc/imwire/imwire.conf"
check install_prefix_and_sysconfdir_move_everything $? "$(cd "$D2" && find . ! -type d | head -20)"
