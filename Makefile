# sluice: the two commands a new user runs, plus the developer targets.
#   make run    install what is missing, build, run the agent on the defaults
#   make test   install what is missing, build with ASan+UBSan, run every test
# Packages are installed with apt-get (as root) only when missing.

DEBS := build-essential meson ninja-build pkg-config python3 \
	liburing-dev librdkafka-dev libjansson-dev libcriterion-dev libisal-dev \
	kcat netcat-openbsd iproute2 gnuplot-nox clang \
	libdpdk-dev libpcap-dev ethtool iputils-ping
BUILD ?= build
SANBUILD ?= build-san
FUZZBUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
CONF ?= deploy/conf/netcat-kafka.conf
# brokers of the embedded Kafka `make run` starts; empty: use the conf's own
KAFKA_MOCK ?= 3
AGENT ?= agent1
RUN_ARGS ?=

.PHONY: all deps build build-san run test bench bench-dpdk soak fuzz tsan clean

all: build

deps:
	@missing=$$(for p in $(DEBS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
		grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		if [ "$$(id -u)" != 0 ]; then SUDO=sudo; fi; \
		$$SUDO apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q \
			--no-install-recommends $$missing; \
	fi

$(BUILD)/build.ninja:
	meson setup $(BUILD) -Dwerror=true

$(SANBUILD)/build.ninja:
	meson setup $(SANBUILD) -Dwerror=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dtests=enabled

# build/sluice is the program (meson builds it as build/control/sluice).
build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)
	ln -sfn control/sluice $(BUILD)/sluice

build-san: deps $(SANBUILD)/build.ninja
	ninja -C $(SANBUILD)
	ln -sfn control/sluice $(SANBUILD)/sluice

run: build
	./$(BUILD)/sluice agent --conf-file $(CONF) --name $(AGENT) \
		-Dflume.root.logger=INFO,console \
		$(if $(KAFKA_MOCK),--kafka-mock $(KAFKA_MOCK)) $(RUN_ARGS)

# The closing line 'N passed, N failed, N skipped' is what CI reads.
test: build-san
	@rc=0; meson test -C $(SANBUILD) --print-errorlogs --num-processes 1 \
		|| rc=$$?; \
	python3 tests/summary.py $(SANBUILD)/meson-logs/testlog.json; \
	exit $$rc

# libFuzzer: every tests/fuzz/fuzz_<name>.c (listed in tests/fuzz/meson.build)
# runs for FUZZ_SECONDS, seeded from tests/fuzz/corpus/<name>; what it
# finds collects in $(FUZZBUILD)/corpus/<name>, crashes in $(FUZZBUILD)/.
# `make test` runs each target as a bounded smoke test instead (no clang).
$(FUZZBUILD)/build.ninja:
	CC=clang meson setup $(FUZZBUILD) -Dtests=disabled -Dfuzz=enabled \
		-Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=-fsanitize=fuzzer-no-link

fuzz: deps $(FUZZBUILD)/build.ninja
	ninja -C $(FUZZBUILD)
	@set -e; for src in tests/fuzz/fuzz_*.c; do \
		name=$$(basename $$src .c); bin=$(FUZZBUILD)/tests/fuzz/$$name; \
		if [ ! -x $$bin ]; then \
			echo "$$src: not built; list it in tests/fuzz/meson.build"; \
			exit 1; \
		fi; \
		mkdir -p $(FUZZBUILD)/corpus/$$name; \
		seeds=; [ -d tests/fuzz/corpus/$$name ] && \
			seeds=tests/fuzz/corpus/$$name; \
		echo "== $$name: $(FUZZ_SECONDS) s"; \
		$$bin -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-print_final_stats=1 \
			-artifact_prefix=$(FUZZBUILD)/$$name- \
			$(FUZZBUILD)/corpus/$$name $$seeds; \
	done

bench: build
	QUICK=$(QUICK) BUILD=$(BUILD) bench/run

# The DPDK dataplane: net_pcap replay per lcore and kernel vs dataplane on a
# veth pair (root).
bench-dpdk: build
	BUILD=$(BUILD) bench/dp_run

# Long runs: the file channel's kill -9 loops (logger, Kafka) with SOAK_ROUNDS kills; the
# Kafka sink's load and fault tests at full size (100,000 x 1 KiB).
SOAK_ROUNDS ?= 300
soak: build-san
	SL_KILL9_ROUNDS=$(SOAK_ROUNDS) SLUICE=$(SANBUILD)/control/sluice \
		SLUICE_SRC=. python3 tests/integration/test_file_channel_kill9.py
	SL_KILL9_ROUNDS=$(SOAK_ROUNDS) SLUICE=$(SANBUILD)/control/sluice \
		SLUICE_SRC=. python3 tests/integration/test_file_channel_kafka_kill9.py
	SLUICE_DPDK_LINES=100000 SLUICE=$(SANBUILD)/control/sluice \
		SLUICE_SRC=. python3 tests/integration/test_dpdk_netcat.py
	SLUICE_SOAK=1 meson test -C $(SANBUILD) --print-errorlogs \
		--num-processes 1 --timeout-multiplier 10 \
		sinks/test_kafka_sink test_kafka_agent

# ThreadSanitizer over the file channel's threads (producers copying into
# the group, the writer, the sync thread, sinks) under netcat load with a
# null sink, directIO on and off (tests/tsan/file_channel_load.py). TSan
# does not model atomic_thread_fence (-Wtsan): the wakeup handshakes that
# pair a store, a fence and a load are outside what it checks.
TSANBUILD ?= build-tsan
$(TSANBUILD)/build.ninja:
	meson setup $(TSANBUILD) -Dwerror=true -Db_sanitize=thread -Dc_args=-Wno-tsan \
		-Db_lundef=false -Dtests=disabled

tsan: build $(TSANBUILD)/build.ninja
	ninja -C $(TSANBUILD) control/sluice
	SLUICE=$(TSANBUILD)/control/sluice SLUICE_BUILD=$(BUILD) \
		python3 tests/tsan/file_channel_load.py

clean:
	rm -rf $(BUILD) $(SANBUILD) $(FUZZBUILD) $(TSANBUILD)
