# sluice: the two commands a new user runs, plus the developer targets.
#   make run    install what is missing, build, run the agent on the defaults
#   make test   install what is missing, build with ASan+UBSan, run every test
# Packages are installed with apt-get (as root) only when missing.

DEBS := build-essential meson ninja-build pkg-config python3 \
	liburing-dev librdkafka-dev libjansson-dev libcriterion-dev \
	kcat netcat-openbsd iproute2 gnuplot-nox clang \
	libdpdk-dev libpcap-dev
BUILD ?= build
SANBUILD ?= build-san
CONF ?= deploy/conf/netcat-logger.conf
AGENT ?= agent1
RUN_ARGS ?=

.PHONY: all deps build build-san run test bench soak fuzz clean

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

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

build-san: deps $(SANBUILD)/build.ninja
	ninja -C $(SANBUILD)

run: build
	./$(BUILD)/sluice agent --conf-file $(CONF) --name $(AGENT) \
		-Dflume.root.logger=INFO,console $(RUN_ARGS)

# The closing line 'N passed, N failed, N skipped' is what CI reads.
test: build-san
	@rc=0; meson test -C $(SANBUILD) --print-errorlogs --num-processes 1 \
		|| rc=$$?; \
	python3 tests/summary.py $(SANBUILD)/meson-logs/testlog.json; \
	exit $$rc

bench: build
	QUICK=$(QUICK) BUILD=$(BUILD) bench/run

clean:
	rm -rf $(BUILD) $(SANBUILD)
