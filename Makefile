# imwire build. `make` builds the tools into build/bin; `make test` builds
# everything again with ASan and UBSan into build/asan and runs every test.

CC      ?= gcc
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla
INC     := -Iinclude -Idaemon/src
OPT     ?= -O2 -g
CFLAGS_ALL = $(CSTD) $(WARN) $(INC) $(OPT) $(EXTRA_CFLAGS) -MMD -MP
LIBS    := $(shell pkg-config --libs libpcap libnetfilter_queue libmnl zlib libdeflate 2>/dev/null || echo -lpcap -lnetfilter_queue -lmnl -lz -ldeflate) -lm -lpthread
# Database sinks: SQLite, PostgreSQL (libpq), MariaDB/MySQL (libmariadb).
DB_PKGS := sqlite3 libpq libmariadb
# The review console (daemon/src/review): HTTP, password hashing, JSON lines.
DB_PKGS += libmicrohttpd libsodium jansson
INC     += $(shell pkg-config --cflags $(DB_PKGS) 2>/dev/null || echo -I/usr/include/postgresql -I/usr/include/mariadb)
LIBS    += $(shell pkg-config --libs $(DB_PKGS) 2>/dev/null || echo -lsqlite3 -lpq -lmariadb)
# The archive (daemon/src/archive): SHA-1 for Community IDs (libcrypto),
# SHA-256 chains and Ed25519 checkpoints (libsodium), webhooks (libcurl).
ARCHIVE_PKGS := libcrypto libsodium libcurl
LIBS    += $(shell pkg-config --libs $(ARCHIVE_PKGS) 2>/dev/null || echo -lcrypto -lsodium -lcurl)
# File transfers (daemon/src/files): SHA-256 and SHA-1 (OpenSSL's libcrypto), MIME types (libmagic).
LIBS    += $(shell pkg-config --libs libcrypto libmagic 2>/dev/null || echo -lcrypto -lmagic)
# Operation: metrics over HTTP (libmicrohttpd), sd_notify (libsystemd).
# The sandbox after start-up: seccomp (libseccomp); Landlock needs no library.
OPS_PKGS := libmicrohttpd libsystemd libseccomp
INC     += $(shell pkg-config --cflags $(OPS_PKGS) 2>/dev/null)
LIBS    += $(shell pkg-config --libs $(OPS_PKGS) 2>/dev/null || echo -lmicrohttpd -lsystemd -lseccomp)

BUILD   ?= build

# Installation (make install): GNU names. The daemon's default
# configuration is $(sysconfdir)/imwire/imwire.conf, built in; like most
# network daemons, /etc whatever the prefix unless told otherwise.
PREFIX        ?= /usr/local
prefix        ?= $(PREFIX)
exec_prefix   ?= $(prefix)
sbindir       ?= $(exec_prefix)/sbin
libdir        ?= $(exec_prefix)/lib
datarootdir   ?= $(prefix)/share
mandir        ?= $(datarootdir)/man
docdir        ?= $(datarootdir)/doc/imwire
sysconfdir    ?= /etc
localstatedir ?= /var
runstatedir   ?= /run
# systemd's directories: the package's own, whatever the prefix.
unitdir       ?= $(if $(filter /usr,$(prefix)),/lib/systemd/system,$(prefix)/lib/systemd/system)
tmpfilesdir   ?= $(if $(filter /usr,$(prefix)),/usr/lib/tmpfiles.d,$(prefix)/lib/tmpfiles.d)
logrotatedir  ?= $(sysconfdir)/logrotate.d
OBJDIR  := $(BUILD)/obj
BINDIR  := $(BUILD)/bin

# The tc classifier: clang for the BPF target against a vmlinux.h made
# from this machine's BTF, embedded in the loader through a libbpf skeleton.
BPF_CLANG ?= clang
BPFTOOL   ?= bpftool
BTF_VMLINUX ?= /sys/kernel/btf/vmlinux
GENDIR    := $(BUILD)/gen
BPF_SKEL  := $(GENDIR)/imwire.skel.h
INC       += -I$(GENDIR)
LIBS      += $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)

# Every stage's sources; mains live in daemon/src/cli.
LIB_SRCS  := $(sort $(shell find daemon/src -name '*.c' ! -path 'daemon/src/cli/*' \
		! -path 'daemon/src/proto/template/*'))
CLI_SRCS  := $(sort $(wildcard daemon/src/cli/*.c))
TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c))
# Test-only code linked into the unit test binaries, never into
# libimwire.a: the protocol test harness and the template module.
TESTLIB_SRCS := tests/unit/harness.c $(sort $(wildcard daemon/src/proto/template/*.c))
GEN_SRCS  := $(sort $(wildcard tests/gen/gen_*.c))
GENLIB_SRCS := $(sort $(wildcard tests/gen/lib/*.c))
# Test-only code (tests/support/): linked into unit tests and fuzz targets,
# never into the product; so is the include path of the test helpers.
SUPPORT_SRCS := $(sort $(wildcard tests/support/*.c))
SUPPORT_OBJS := $(SUPPORT_SRCS:%.c=$(OBJDIR)/%.o)
TEST_INC  := -Itests/support -Itests/gen/lib

LIB_OBJS  := $(LIB_SRCS:%.c=$(OBJDIR)/%.o)
LIBIMW    := $(OBJDIR)/libimwire.a
LIBTEST   := $(OBJDIR)/libimwtest.a
TOOLS     := $(BINDIR)/imwire $(BINDIR)/imwired
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BINDIR)/tests/%)
GEN_BINS  := $(GEN_SRCS:tests/gen/%.c=$(BINDIR)/gen/%)

.PHONY: all test unit-bins clean kmod bench bench-db bench-writer bench-sizing
all: $(TOOLS)

$(OBJDIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(OBJDIR)/tests/%.o $(OBJDIR)/fuzz/%.o: INC += $(TEST_INC)

$(LIBIMW): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BINDIR)/imwire: $(OBJDIR)/daemon/src/cli/imwire.o $(OBJDIR)/daemon/src/cli/ops.o $(LIBIMW)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LIBS)

$(BINDIR)/imwired: $(OBJDIR)/daemon/src/cli/imwired.o $(LIBIMW)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LIBS)

$(LIBTEST): $(TESTLIB_SRCS:%.c=$(OBJDIR)/%.o)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BINDIR)/tests/%: $(OBJDIR)/tests/unit/%.o $(SUPPORT_OBJS) $(LIBTEST) $(LIBIMW)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LIBS)

$(BINDIR)/gen/%: $(OBJDIR)/tests/gen/%.o $(GENLIB_SRCS:%.c=$(OBJDIR)/%.o) $(LIBIMW)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LIBS)

# bench/inline_peer also drives the live fault tests (tests/cases/faults_writer*.sh).
TEST_PEER_BINS := $(BINDIR)/bench/inline_peer

$(BINDIR)/bench/inline_peer: bench/inline_peer.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $<

# imwired with the test-only inserting handler, for inline_bridge.sh
# (tests/support/daemon/imwired_inject.c): the product's objects, the
# routine that builds its route table wrapped at link time.
INJECT_IMWIRED := $(BINDIR)/tests/imwired-inject
$(INJECT_IMWIRED): $(OBJDIR)/daemon/src/cli/imwired.o $(OBJDIR)/tests/support/daemon/imwired_inject.o \
		$(SUPPORT_OBJS) $(LIBIMW)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Wl,--wrap=route_table_build -o $@ $^ $(LIBS)

unit-bins: $(TOOLS) $(TEST_BINS) $(GEN_BINS) $(INJECT_IMWIRED) $(TEST_PEER_BINS)

$(GENDIR)/vmlinux.h:
	@mkdir -p $(dir $@)
	$(BPFTOOL) btf dump file $(BTF_VMLINUX) format c >$@.tmp && mv $@.tmp $@

$(GENDIR)/imwire.bpf.o: bpf/imwire.bpf.c $(wildcard include/imwire/*.h) $(GENDIR)/vmlinux.h
	$(BPF_CLANG) -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -Iinclude -I$(GENDIR) -c $< -o $@

$(BPF_SKEL): $(GENDIR)/imwire.bpf.o
	$(BPFTOOL) gen skeleton $< name imwire_bpf >$@.tmp && mv $@.tmp $@

$(OBJDIR)/daemon/src/classifier/classifier.o: $(BPF_SKEL)
$(OBJDIR)/tests/unit/test_bpf_publish.o: $(BPF_SKEL)

# The version (scripts/version.sh) and the configuration directory,
# rewritten only when they change so that only util/version.o is rebuilt.
VERSION_H := $(GENDIR)/imwire_version.h
$(VERSION_H): FORCE
	@mkdir -p $(dir $@)
	@{ printf '#define IMW_VERSION "%s"\n' "$$(scripts/version.sh)"; \
	   printf '#define IMW_SYSCONFDIR "%s"\n' "$(sysconfdir)"; } >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(OBJDIR)/daemon/src/util/version.o: $(VERSION_H)
.PHONY: FORCE
FORCE:

SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# The test servers and tools first (idempotent; nothing to do when present).
test:
	scripts/install-deps.sh --test
	$(MAKE) --no-print-directory BUILD=build/asan OPT="$(SAN_FLAGS)" unit-bins
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		tests/run.sh build/asan/bin

# Benchmarks: never part of `make test`; they print ratios to a baseline
# of the same run (bench/README.md).
BENCH_BINS := $(BUILD)/bench/inline_peer $(BUILD)/bench/accept_queue

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBS)

# The message-heavy capture (bench/gen_messages.c): imwire read on it
# against tcpdump, tshark and Suricata (bench/message_bench.sh), and the
# writer's cost through the write-ahead log (bench/writer_bench.sh);
# bench/README.md.
$(BUILD)/bench/gen_messages: INC += $(TEST_INC)
$(BUILD)/bench/gen_messages: bench/gen_messages.c $(GENLIB_SRCS:%.c=$(OBJDIR)/%.o) $(LIBIMW)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $(filter %.c %.o %.a,$^) $(LIBS)

.PHONY: bench-messages
bench-messages: $(TOOLS) $(BUILD)/bench/gen_messages
	bench/message_bench.sh $(BINDIR) $(BUILD)/bench

bench-writer: $(TOOLS) $(BUILD)/bench/gen_messages
	bench/writer_bench.sh $(BINDIR) $(BUILD)/bench

bench: $(TOOLS) $(BENCH_BINS)
	bench/inline_bench.sh $(BINDIR) $(BUILD)/bench

# Database sinks against each database's raw insert rate (bench/README.md).
$(BUILD)/bench/db_bench: bench/db_bench.c $(LIBIMW)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $(filter %.c %.a,$^) $(LIBS)

bench-db: $(BUILD)/bench/db_bench
	bench/db_bench.sh $(BUILD)/bench

# The PostgreSQL archive's sizing note (bench/archive_sizing.sh; root).
bench-sizing: $(TOOLS) $(BUILD)/bench/gen_messages
	bench/archive_sizing.sh $(BINDIR) $(BUILD)/bench

# Fuzzing (libFuzzer): clang with ASan and UBSan, everything under
# build/fuzz; `make fuzz-smoke` runs each target for FUZZ_SECONDS on its
# seed corpus in fuzz/corpus/ (tests/cases/fuzz_smoke.sh, part of make test).
# clang's -Wformat-nonliteral also fires on vprintf-style wrappers (libbpf's
# print callback) that gcc accepts. pointer-overflow stays recoverable only
# so fuzz/ubsan.supp can name known findings; halt_on_error stops on others.
FUZZ_SRCS  := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BINS  := $(FUZZ_SRCS:fuzz/%.c=$(BINDIR)/fuzz/%)
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined -fsanitize-recover=pointer-overflow

$(BINDIR)/fuzz/%: $(OBJDIR)/fuzz/%.o $(SUPPORT_OBJS) $(LIBIMW)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fsanitize=fuzzer -o $@ $^ $(LIBS)

.PHONY: fuzz fuzz-bins fuzz-smoke
fuzz-bins: $(FUZZ_BINS)

fuzz:
	$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang OPT="$(FUZZ_FLAGS)" \
		EXTRA_CFLAGS="$(EXTRA_CFLAGS) -Wno-format-nonliteral" fuzz-bins

fuzz-smoke:
	sh tests/cases/fuzz_smoke.sh

# imwire read against tshark and tcpdump on a large capture, and memory
# per idle tracked flow (bench/README.md). Inputs are built under build/.
$(BUILD)/bench/make_capture: bench/make_capture.c $(LIBIMW)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LIBS)

$(BUILD)/bench/flow_sizes: bench/flow_sizes.c $(LIBIMW)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LIBS)

.PHONY: bench-read bench-flows
bench-read: $(TOOLS) $(BUILD)/bench/make_capture
	bench/read_bench.sh $(BINDIR) $(BUILD)/bench

bench-flows: $(BUILD)/bench/flow_sizes
	bench/flow_memory.sh $(BINDIR) $(BUILD)/bench

# What publishing an edited flow to the classifier costs per verdict, and
# what translating costs the classifier per packet (root: BPF).
$(BUILD)/bench/xlate_cost: bench/xlate_cost.c $(LIBIMW) $(BPF_SKEL)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ bench/xlate_cost.c $(LIBIMW) $(LIBS)

.PHONY: bench-xlate
bench-xlate: $(BUILD)/bench/xlate_cost
	$(BUILD)/bench/xlate_cost

# make install [PREFIX=/usr/local] [DESTDIR=...] [sysconfdir=/etc]: the
# tools, the BPF object, the manual, the systemd units, tmpfiles.d and
# logrotate files, the documentation, and the configuration from the
# example, which never replaces one that is there. Without DESTDIR the
# directories of tmpfiles.d (/run/imwire, /var/lib/imwire, /var/log/imwire)
# are made with systemd-tmpfiles when it is there.
INSTALL  ?= install
MANPAGES := man/imwire.8 man/imwired.8 man/imwire.conf.5
UNITS    := dist/systemd/imwired.service dist/systemd/imwired@.service
DOCS     := README.md CHANGELOG.md LICENSE imwire.conf.example

.PHONY: install uninstall
install: all
	$(INSTALL) -d $(DESTDIR)$(sbindir) $(DESTDIR)$(libdir)/imwire $(DESTDIR)$(mandir)/man8 \
		$(DESTDIR)$(mandir)/man5 $(DESTDIR)$(unitdir) $(DESTDIR)$(tmpfilesdir) \
		$(DESTDIR)$(logrotatedir) $(DESTDIR)$(docdir) $(DESTDIR)$(sysconfdir)/imwire
	$(INSTALL) -m 0755 $(BINDIR)/imwire $(BINDIR)/imwired $(DESTDIR)$(sbindir)/
	$(INSTALL) -m 0644 $(GENDIR)/imwire.bpf.o $(DESTDIR)$(libdir)/imwire/
	$(INSTALL) -m 0644 man/imwire.8 man/imwired.8 $(DESTDIR)$(mandir)/man8/
	$(INSTALL) -m 0644 man/imwire.conf.5 $(DESTDIR)$(mandir)/man5/
	for u in $(UNITS); do \
		sed -e 's|@sbindir@|$(sbindir)|g' -e 's|@sysconfdir@|$(sysconfdir)|g' $$u \
			>$(DESTDIR)$(unitdir)/$${u##*/} && chmod 0644 $(DESTDIR)$(unitdir)/$${u##*/} || exit 1; \
	done
	$(INSTALL) -m 0644 dist/tmpfiles.d/imwire.conf $(DESTDIR)$(tmpfilesdir)/imwire.conf
	$(INSTALL) -m 0644 dist/logrotate/imwire $(DESTDIR)$(logrotatedir)/imwire
	$(INSTALL) -m 0644 $(DOCS) $(DESTDIR)$(docdir)/
	@if [ -e $(DESTDIR)$(sysconfdir)/imwire/imwire.conf ]; then \
		echo "keeping $(DESTDIR)$(sysconfdir)/imwire/imwire.conf (the example is $(docdir)/imwire.conf.example)"; \
	else \
		echo "$(INSTALL) -m 0640 imwire.conf.example $(DESTDIR)$(sysconfdir)/imwire/imwire.conf"; \
		$(INSTALL) -m 0640 imwire.conf.example $(DESTDIR)$(sysconfdir)/imwire/imwire.conf; \
	fi
	@if [ -z "$(DESTDIR)" ] && command -v systemd-tmpfiles >/dev/null; then \
		echo "systemd-tmpfiles --create $(tmpfilesdir)/imwire.conf"; \
		systemd-tmpfiles --create $(tmpfilesdir)/imwire.conf; \
	fi

# Everything install put there but the configuration (kept when it differs
# from the example: it is the operator's) and the data and logs under
# /var/lib/imwire and /var/log/imwire.
uninstall:
	rm -f $(DESTDIR)$(sbindir)/imwire $(DESTDIR)$(sbindir)/imwired
	rm -f $(DESTDIR)$(libdir)/imwire/imwire.bpf.o
	-rmdir $(DESTDIR)$(libdir)/imwire
	rm -f $(DESTDIR)$(mandir)/man8/imwire.8 $(DESTDIR)$(mandir)/man8/imwired.8
	rm -f $(DESTDIR)$(mandir)/man5/imwire.conf.5
	rm -f $(DESTDIR)$(unitdir)/imwired.service $(DESTDIR)$(unitdir)/imwired@.service
	rm -f $(DESTDIR)$(tmpfilesdir)/imwire.conf $(DESTDIR)$(logrotatedir)/imwire
	rm -f $(addprefix $(DESTDIR)$(docdir)/,$(notdir $(DOCS)))
	-rmdir $(DESTDIR)$(docdir)
	@if cmp -s imwire.conf.example $(DESTDIR)$(sysconfdir)/imwire/imwire.conf; then \
		rm -f $(DESTDIR)$(sysconfdir)/imwire/imwire.conf; \
		rmdir $(DESTDIR)$(sysconfdir)/imwire 2>/dev/null || true; \
	elif [ -e $(DESTDIR)$(sysconfdir)/imwire/imwire.conf ]; then \
		echo "keeping $(DESTDIR)$(sysconfdir)/imwire/imwire.conf: changed by its operator"; \
	fi

# Review console searches over a million-message archive (bench/README.md).
$(BUILD)/bench/review_bench: bench/review_bench.c $(LIBIMW)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $(filter %.c %.a,$^) $(LIBS)

.PHONY: bench-review
bench-review: $(BUILD)/bench/review_bench
	$(BUILD)/bench/review_bench $(BUILD)/bench/review.db $${REVIEW_BENCH_ROWS:-1000000}

kmod:
	$(MAKE) -C $${KDIR:-/lib/modules/$$(uname -r)/build} M=$(CURDIR) modules

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
