# imwire build. `make` builds the tools into build/bin; `make test` builds
# everything again with ASan and UBSan into build/asan and runs every test.

CC      ?= gcc
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla
INC     := -Iinclude -Idaemon/src
OPT     ?= -O2 -g
CFLAGS_ALL = $(CSTD) $(WARN) $(INC) $(OPT) $(EXTRA_CFLAGS) -MMD -MP
LIBS    := $(shell pkg-config --libs libpcap libnetfilter_queue libmnl zlib 2>/dev/null || echo -lpcap -lnetfilter_queue -lmnl -lz) -lm -lpthread
# Database sinks: SQLite, PostgreSQL (libpq), MariaDB/MySQL (libmariadb).
DB_PKGS := sqlite3 libpq libmariadb
# The review console (daemon/src/review): HTTP, password hashing, JSON lines.
DB_PKGS += libmicrohttpd libsodium jansson
INC     += $(shell pkg-config --cflags $(DB_PKGS) 2>/dev/null || echo -I/usr/include/postgresql -I/usr/include/mariadb)
LIBS    += $(shell pkg-config --libs $(DB_PKGS) 2>/dev/null || echo -lsqlite3 -lpq -lmariadb)
# File transfers (daemon/src/files): SHA-256 and SHA-1 (OpenSSL's libcrypto), MIME types (libmagic).
LIBS    += $(shell pkg-config --libs libcrypto libmagic 2>/dev/null || echo -lcrypto -lmagic)

BUILD   ?= build
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

.PHONY: all test unit-bins clean kmod bench bench-db
all: $(TOOLS)

$(OBJDIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(OBJDIR)/tests/%.o $(OBJDIR)/fuzz/%.o: INC += $(TEST_INC)

$(LIBIMW): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BINDIR)/imwire: $(OBJDIR)/daemon/src/cli/imwire.o $(LIBIMW)
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

# imwired with the test-only inserting handler, for inline_bridge.sh
# (tests/support/daemon/imwired_inject.c): the product's objects, the
# routine that builds its route table wrapped at link time.
INJECT_IMWIRED := $(BINDIR)/tests/imwired-inject
$(INJECT_IMWIRED): $(OBJDIR)/daemon/src/cli/imwired.o $(OBJDIR)/tests/support/daemon/imwired_inject.o \
		$(SUPPORT_OBJS) $(LIBIMW)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Wl,--wrap=route_table_build -o $@ $^ $(LIBS)

unit-bins: $(TOOLS) $(TEST_BINS) $(GEN_BINS) $(INJECT_IMWIRED)

$(GENDIR)/vmlinux.h:
	@mkdir -p $(dir $@)
	$(BPFTOOL) btf dump file $(BTF_VMLINUX) format c >$@.tmp && mv $@.tmp $@

$(GENDIR)/imwire.bpf.o: bpf/imwire.bpf.c $(wildcard include/imwire/*.h) $(GENDIR)/vmlinux.h
	$(BPF_CLANG) -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -Iinclude -I$(GENDIR) -c $< -o $@

$(BPF_SKEL): $(GENDIR)/imwire.bpf.o
	$(BPFTOOL) gen skeleton $< name imwire_bpf >$@.tmp && mv $@.tmp $@

$(OBJDIR)/daemon/src/classifier/classifier.o: $(BPF_SKEL)

SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

test:
	$(MAKE) --no-print-directory BUILD=build/asan OPT="$(SAN_FLAGS)" unit-bins
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		tests/run.sh build/asan/bin

# Benchmarks: never part of `make test`; they print ratios to a baseline
# of the same run (bench/README.md).
BENCH_BINS := $(BUILD)/bench/inline_peer $(BUILD)/bench/accept_queue

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBS)

bench: $(TOOLS) $(BENCH_BINS)
	bench/inline_bench.sh $(BINDIR) $(BUILD)/bench

# Database sinks against each database's raw insert rate (bench/README.md).
$(BUILD)/bench/db_bench: bench/db_bench.c $(LIBIMW)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LIBS)

bench-db: $(BUILD)/bench/db_bench
	bench/db_bench.sh $(BUILD)/bench

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
