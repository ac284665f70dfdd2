# Makefile for the ccl toolkit.  Plain GNU make; flags come from pkg-config.
# `make help` lists the targets.

PREFIX  ?= /usr/local
VERSION := 0.1.0
CC      ?= cc
PKGS    := openblas libarchive yaml-0.1 jansson

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)

# The tools are linked statically, the C library included: a tool runs once
# per training step, and the dynamic loader's work at each start (mapping
# libc and libm, relocating them, and OpenBLAS's tables of kernels for every
# CPU) costs more than the rest of a small step's overhead.  --gc-sections
# drops the archive formats libarchive would otherwise drag in (xar, 7zip:
# libxml2) and the tools never use; the zip format ccl-npz reads brings its
# decompressors and decryption (lzma, bzip2, zstd, nettle), into that tool
# alone.  LINK=dynamic links the
# usual way (the sanitizers need it).
LINK ?= static
ifeq ($(LINK),static)
PKG_LIBS := -static -Wl,--gc-sections -larchive -lyaml -ljansson -lz -llzma -lbz2 -lzstd -lnettle \
            $(shell pkg-config --variable=libdir openblas 2>/dev/null)/libopenblas.a -lpthread
else
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
endif

# CFLAGS and LDFLAGS are the user's (optimisation, sanitizers); the flags the
# project needs are always added.
CFLAGS  ?= -O2 -march=x86-64-v2 -g
ALL_CFLAGS = $(CFLAGS) -std=c17 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L \
             -DCCL_VERSION='"$(VERSION)"' -Ilib $(PKG_CFLAGS)
LDLIBS  += $(PKG_LIBS) -lm

BUILD   ?= build
LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(LIB_SRC:lib/%.c=$(BUILD)/lib/%.o)
LIBCCL  := $(BUILD)/libccl.a
TOOLS   := $(patsubst cmd/%.c,$(BUILD)/bin/%,$(wildcard cmd/ccl-*.c))
# ccl-batch runs the other tools' main functions in one process: each tool
# is compiled a second time with its main renamed (ccl-train-step's to
# ccl_train_step_main), so the code that runs is the tool's own.
MULTICALL := $(patsubst cmd/%.c,$(BUILD)/multicall/%.o,$(filter-out cmd/ccl-batch.c,$(wildcard cmd/ccl-*.c)))
UNITS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c tests/unit/verify_*.c tests/unit/fixture_*.c))
BENCHES := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(wildcard tests/bench/*.c))
MANS    := $(wildcard man/*.[1-8])

DEBIAN_PACKAGES := build-essential pkg-config libopenblas-dev libarchive-dev clang libclang-rt-14-dev \
                   libyaml-dev libjansson-dev bats bats-assert bats-support bats-file \
                   zlib1g-dev dataset-fashion-mnist mandoc bash-completion time \
                   parallel openssh-server openssh-client slurm-wlm munge \
                   iproute2 procps strace python3-torch python3-numpy liblzma-dev libbz2-dev libzstd-dev \
                   nettle-dev gnuplot-nox

.PHONY: all help test unit check-asan bench install deps check-deps demo clean lint-man fuzz

all: $(TOOLS) $(UNITS)

help:
	@echo 'make               build libccl and every tool into $(BUILD)/'
	@echo 'make demo          the short demo on Fashion-MNIST (examples/demo.sh)'
	@echo 'make test          run the C unit tests and the bats tests'
	@echo 'make unit          run the C unit tests only'
	@echo 'make check-asan    the same tests, built with ASan and UBSan'
	@echo 'make bench         speed of partitioning and training (see tests/bench)'
	@echo 'make fuzz          the libFuzzer harnesses, FUZZ_SECONDS (default 60) each (clang)'
	@echo 'make install       install tools, man pages, completions and examples (share/ccl/examples) under PREFIX ($(PREFIX))'
	@echo 'make deps          install the Debian packages the project needs (root), or print the command'
	@echo 'make lint-man      check the man pages with mandoc'
	@echo 'make clean         remove $(BUILD)/'

$(BUILD)/lib/%.o: lib/%.c $(wildcard lib/*.h) | $(BUILD)/lib
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBCCL): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/%: cmd/%.c $(LIBCCL) $(wildcard lib/*.h) | $(BUILD)/bin
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBCCL) $(LDLIBS)

$(BUILD)/multicall/%.o: cmd/%.c $(wildcard lib/*.h) | $(BUILD)/multicall
	$(CC) $(ALL_CFLAGS) -Dmain=$(subst -,_,$*)_main -c -o $@ $<

$(BUILD)/bin/ccl-batch: cmd/ccl-batch.c $(MULTICALL) $(LIBCCL) $(wildcard lib/*.h) | $(BUILD)/bin
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(MULTICALL) $(LIBCCL) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(LIBCCL) | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBCCL) $(LDLIBS)

$(BUILD)/bench/%: tests/bench/%.c $(LIBCCL) | $(BUILD)/bench
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBCCL) $(LDLIBS)

$(BUILD)/lib $(BUILD)/bin $(BUILD)/tests $(BUILD)/bench $(BUILD)/multicall:
	mkdir -p $@

# What the build and the tests need, checked before `make test` and
# `make demo`.  Anything missing is installed when that can be done without
# a question (as root, or through sudo without a password), saying so;
# otherwise the exact command is printed.
LIBDIR := $(shell pkg-config --variable=libdir libarchive 2>/dev/null || echo /usr/lib/x86_64-linux-gnu)
MISSING = missing=; \
	pkg-config --exists $(PKGS) || missing="$$missing libraries"; \
	for a in lzma bz2 zstd nettle; do [ -f $(LIBDIR)/lib$$a.a ] || missing="$$missing lib$$a.a"; done; \
	command -v bats >/dev/null || missing="$$missing bats"; \
	[ -d /usr/lib/bats/bats-assert ] || missing="$$missing bats-assert"; \
	[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || missing="$$missing fashion-mnist"; \
	for p in parallel sshd slurmctld munged ss gnuplot; do \
	  command -v $$p >/dev/null || [ -x /usr/sbin/$$p ] || missing="$$missing $$p"; done

check-deps:
	@$(MISSING); \
	if [ -n "$$missing" ]; then \
	  echo "missing:$$missing"; \
	  if [ "$$(id -u)" = 0 ] || sudo -n true 2>/dev/null; then \
	    echo "installing them: apt-get install -y $(DEBIAN_PACKAGES)"; \
	    $(AS_ROOT) $(MAKE) --no-print-directory deps || exit 1; \
	    $(MISSING); [ -z "$$missing" ] || { echo "still missing:$$missing"; exit 1; }; \
	  else \
	    echo 'install with:  sudo make deps   (or: apt-get install -y $(DEBIAN_PACKAGES))'; exit 1; fi; fi

AS_ROOT = $$([ "$$(id -u)" = 0 ] || echo sudo -n)

test: check-deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/run

unit: $(UNITS)
	@BUILD=$(BUILD) tests/run --unit-only

check-asan: check-deps
	ASAN_OPTIONS=detect_leaks=1 $(MAKE) BUILD=build-asan LINK=dynamic CFLAGS='-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all' \
	        LDFLAGS='-fsanitize=address,undefined' test

bench: all $(BENCHES)
	@BUILD=$(BUILD) tests/bench/run

lint-man:
	mandoc -Tlint -Wwarning $(MANS)

# The fuzz harnesses (tests/fuzz): the library rebuilt with clang, libFuzzer,
# ASan and UBSan, and with checksums not verified (that flag exists for the
# harnesses only), each harness run FUZZ_SECONDS from seed corpora that
# tests/fuzz/seeds.sh makes with the real tools.  A crash, leak or
# sanitizer report fails the target and leaves the input in $(FUZZ_BUILD).
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build-fuzz
FUZZERS      := artifact manifest idx cifar npz
FUZZ_CFLAGS  := -O1 -g -std=c17 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -DCCL_VERSION='"$(VERSION)"' \
                -DCCL_FUZZ_SKIP_CHECKSUMS -Ilib $(PKG_CFLAGS) -msse4.2 -fsanitize=fuzzer,address,undefined
FUZZ_LIB_OBJ := $(LIB_SRC:lib/%.c=$(FUZZ_BUILD)/lib/%.o)

$(FUZZ_BUILD)/lib/%.o: lib/%.c $(wildcard lib/*.h) | $(FUZZ_BUILD)/lib
	clang $(subst -fsanitize=fuzzer$(COMMA),-fsanitize=fuzzer-no-link$(COMMA),$(FUZZ_CFLAGS)) -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_LIB_OBJ)
	clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIB_OBJ) $(shell pkg-config --libs $(PKGS)) -lm

$(FUZZ_BUILD)/lib:
	mkdir -p $@

.SECONDARY: $(FUZZ_LIB_OBJ)

COMMA := ,
fuzz: all $(FUZZERS:%=$(FUZZ_BUILD)/fuzz_%)
	@rm -rf $(FUZZ_BUILD)/seeds $(FUZZ_BUILD)/tmp && mkdir -p $(FUZZ_BUILD)/tmp && \
	  CCL_BIN=$(BUILD)/bin tests/fuzz/seeds.sh $(FUZZ_BUILD)/seeds
	@for f in $(FUZZERS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$f && \
	  echo "fuzz_$$f: $(FUZZ_SECONDS) s" && \
	  TMPDIR=$(FUZZ_BUILD)/tmp $(FUZZ_BUILD)/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -max_len=600000 -rss_limit_mb=2048 -timeout=10 \
	    -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/crash-$$f- \
	    $(FUZZ_BUILD)/corpus/$$f $(FUZZ_BUILD)/seeds/$$f 2> $(FUZZ_BUILD)/fuzz_$$f.log || \
	    { tail -40 $(FUZZ_BUILD)/fuzz_$$f.log; exit 1; }; \
	  grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)|cov:' $(FUZZ_BUILD)/fuzz_$$f.log | tail -4; \
	done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	           $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7 \
	           $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	           $(DESTDIR)$(PREFIX)/share/zsh/site-functions
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	for m in $(MANS); do s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done
	for t in $(notdir $(TOOLS)); do \
	  install -m 644 completions/ccl.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$t; done
	install -m 644 completions/_ccl $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_ccl
	install -d $(DESTDIR)$(PREFIX)/share/ccl/examples
	install -m 755 examples/*.sh $(DESTDIR)$(PREFIX)/share/ccl/examples/
	install -m 644 examples/experiment.mk $(DESTDIR)$(PREFIX)/share/ccl/examples/

deps:
	@if [ "$$(id -u)" = 0 ]; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y $(DEBIAN_PACKAGES); \
	else \
	  echo 'run as root:  apt-get update && apt-get install -y $(DEBIAN_PACKAGES)'; fi

demo: check-deps
	@$(MAKE) --no-print-directory all
	@CCL_BIN=$(BUILD)/bin examples/demo.sh

clean:
	rm -rf build build-asan build-fuzz out
