# measured — build, test, run. See README.md.
#
#   make            library, daemon (build/measured), client (build/measurectl)
#   make test       install missing packages, build, run every test
#   make run        install missing packages, build, start the daemon
#   make asan       the test suite under AddressSanitizer + UBSan (build-asan/)
#   make tsan       the server tests under ThreadSanitizer (build-tsan/)
#   make fuzz       libFuzzer targets (tests/fuzz/), FUZZ_TIME seconds each
#   make docker-test  build and run the Docker image with a private engine
#   make soak       bench/soak.sh: mixed load for SOAK_MIN minutes (default 3)
#   make bench      benchmarks against the references (bench/README.md);
#                   BENCH=name runs only bench/name.sh
#   make format / format-check
#
# Portable by default; NATIVE=1 adds -march=native. Fast paths are chosen at
# run time for the CPU (lib/ms_simd_internal.h).

BUILD    ?= build
CC       ?= cc
NATIVE   ?= 0
SANITIZE ?=

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wvla
# Error fields and messages are fixed-size on purpose (ms_err never
# allocates); truncating a very long path is the intended behaviour.
WARN    += -Wno-format-truncation
# clang (the fuzz build): gcc's option above is unknown to it; an `omp simd`
# loop that instrumentation keeps from vectorising is not an error.
ifneq ($(findstring clang,$(CC)),)
WARN    := $(filter-out -Wno-format-truncation,$(WARN)) -Wno-pass-failed
endif
OPT     ?= -O2
CFLAGS  ?=
CFLAGS  += -std=c11 $(OPT) -g $(WARN) -fopenmp -D_GNU_SOURCE -MMD -MP
ifeq ($(NATIVE),1)
CFLAGS  += -march=native
endif
ifneq ($(SANITIZE),)
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif
LDFLAGS += -fopenmp

LIB_LIBS    := -lopenblas -llapacke -lm
SERVER_LIBS := -lmicrohttpd -lcjson -luv -lsqlite3 -lpthread
CLIENT_LIBS := -lcurl -lcjson -lm
TEST_LIBS   := -lcmocka -lcurl

LIB_SRC    := $(sort $(wildcard lib/*.c))
SERVER_SRC := $(sort $(filter-out server/main.c,$(wildcard server/*.c)))
CTL_SRC    := $(sort $(wildcard clients/measurectl/*.c))
TEST_SRC   := $(sort $(wildcard tests/test_*.c))
TEST_SUPPORT_SRC := $(sort $(filter-out $(TEST_SRC),$(wildcard tests/*.c)))

LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
# The dashboard (web/) is compiled into the daemon: web/embed.sh turns its
# files into $(BUILD)/gen/web_assets.c, linked with the server objects.
WEB_SRC    := $(sort $(filter-out web/embed.sh,$(wildcard web/*)))
WEB_OBJ    := $(BUILD)/obj/gen/web_assets.o
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/obj/%.o) $(WEB_OBJ)
CTL_OBJ    := $(CTL_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SUPPORT_OBJ := $(TEST_SUPPORT_SRC:%.c=$(BUILD)/obj/%.o)
# Tests link the fault-injecting allocator ahead of the library's own.
FI_OBJ     := $(BUILD)/obj/lib/ms_alloc_fi.o
TEST_BIN   := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
# Benchmark drivers: bench/<name>.c → build/bench/<name>, linked like tests
# (library + server objects) but without cmocka or fault injection.
BENCH_SRC  := $(sort $(wildcard bench/*.c))
BENCH_BIN  := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

LIBA := $(BUILD)/libmeasured.a
BINS := $(BUILD)/measured $(BUILD)/measurectl

.PHONY: all deps deps-test test unit run asan tsan bench bench-bin format format-check clean tests \
        fuzz fuzz-bin docker-test soak
all: $(LIBA) $(BINS)

deps:
	@deploy/install-deps.sh

# The tests also need Chromium (the dashboard's browser test).
deps-test:
	@deploy/install-deps.sh --browser

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ilib -Iserver -c $< -o $@

# Test sources see the fault-injection hook's declarations.
$(BUILD)/obj/tests/%.o: CFLAGS += -DMS_FAULT_INJECTION

$(FI_OBJ): lib/ms_alloc.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DMS_FAULT_INJECTION -Ilib -c $< -o $@

$(BUILD)/gen/web_assets.c: web/embed.sh $(WEB_SRC)
	@mkdir -p $(dir $@)
	sh web/embed.sh $(WEB_SRC) >$@.tmp && mv $@.tmp $@

$(WEB_OBJ): $(BUILD)/gen/web_assets.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iserver -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/measured: $(BUILD)/obj/server/main.o $(SERVER_OBJ) $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $^ $(SERVER_LIBS) $(LIB_LIBS)

$(BUILD)/measurectl: $(CTL_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(FI_OBJ) $(TEST_SUPPORT_OBJ) $(SERVER_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(SERVER_LIBS) $(LIB_LIBS)

# The mixed client load of daemon_faults.sh and bench/soak.sh: libcurl only.
LOAD_BIN := $(BUILD)/bench/mixed_load
$(LOAD_BIN): $(BUILD)/obj/bench/mixed_load.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcurl -lpthread

tests: $(TEST_BIN) $(BINS) $(LOAD_BIN)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(SERVER_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(SERVER_LIBS) $(LIB_LIBS) -lcurl

bench-bin: $(BENCH_BIN)

# Everything `make test` runs: unit suites, then integration scripts.
unit: tests
	@BUILD=$(BUILD) tests/run.sh

test: deps-test
	@$(MAKE) --no-print-directory all tests
	@BUILD=$(BUILD) tests/run.sh

run: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/measured $(ARGS)

asan: deps-test
	@$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=address,undefined OPT=-O1 all tests
	@BUILD=build-asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 tests/run.sh

tsan: deps
	@$(MAKE) --no-print-directory BUILD=build-tsan SANITIZE=thread OPT=-O1 all tests
	@BUILD=build-tsan TSAN_OPTIONS=halt_on_error=1 tests/run.sh --server-only

# libFuzzer: clang with coverage, ASan and UBSan (build-fuzz/); each target
# links only the codec and the library. tests/fuzz/run.sh runs each one for
# FUZZ_TIME seconds from the committed seed corpus (FUZZ=name: one target).
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
CODEC_OBJ := $(addprefix $(BUILD)/obj/server/,codec.o codec_value.o codec_schema.o \
             codec_openapi.o sbuf.o runner.o)
FUZZ_TIME ?= 60

$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(CODEC_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ -lcjson $(LIB_LIBS)

fuzz-bin: $(FUZZ_BIN)
.SECONDARY: $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/obj/tests/fuzz/%.o)

fuzz: deps
	@deploy/install-deps.sh --fuzz
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang OPT=-O1 \
	  SANITIZE=fuzzer-no-link,address,undefined fuzz-bin
	@BUILD=build-fuzz FUZZ_TIME=$(FUZZ_TIME) tests/fuzz/run.sh $(FUZZ)

SOAK_MIN ?= 3
soak: all $(LOAD_BIN)
	@BUILD=$(BUILD) sh bench/soak.sh $(SOAK_MIN)

# The image built and run with a private Docker engine (deploy/docker-test.sh).
docker-test:
	@BUILD=$(BUILD) deploy/docker-test.sh

bench: deps
	@deploy/install-deps.sh --bench
	@$(MAKE) --no-print-directory all bench-bin
	@BUILD=$(BUILD) bench/run.sh $(BENCH)

FORMAT_SRC = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	@deploy/install-deps.sh --format
	clang-format -i $(FORMAT_SRC)
format-check:
	@deploy/install-deps.sh --format
	@clang-format --dry-run --Werror $(FORMAT_SRC) && echo "format: clean"

clean:
	rm -rf build build-asan build-tsan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
