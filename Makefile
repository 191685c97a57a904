# Sambat: the two commands a city IT person needs are `make demo` and `make test`.
# Both install what is missing (Debian packages), then build.

SWIFT ?= swift
# Debian packages needed to build and run the tests.
# protobuf-compiler, python3-zmq and python3-protobuf run the foreign-client test (/usr/bin/python3);
# gammu-smsd (dummy phone, SQLite backend through libdbd-sqlite3) and sqlite3 the SMS gateway test;
# curl posts to central's webhook in the process tests; chromium (driven over its DevTools
# protocol by python3-websocket) uses the mayor's dashboard as a person would.
SYSTEM_PACKAGES := libzmq3-dev libsqlite3-dev zlib1g-dev pkg-config protobuf-compiler python3-zmq python3-protobuf \
	gammu gammu-smsd libdbd-sqlite3 sqlite3 curl chromium python3-websocket fonts-dejavu-core

.PHONY: all deps build test test-long test-only lint format demo bench bench-store profile scale fuzz tsan clean

all: build

deps:
	@scripts/ensure-system-packages.sh $(SYSTEM_PACKAGES)

build: deps
	$(SWIFT) build

## make test: install what is missing, build once (debug), lint, run every test. The suite
## that counts threads, the one that times nodes' shutdown, the month-offline one (20,000
## ops, which would starve the parallel run's sync tests of the two cores) and the store's
## kill test (60 SIGKILLs of a writing child; 31 s alone, 117-282 s inside the parallel run,
## against its 5-minute limit) each run in a process of their own, away from the load of the
## parallel run. The real-process chaos test (CHAOS_SECONDS of faults, about 3 minutes in
## all) and then the deterministic simulation (SIM_SEEDS worlds) run after the rest, one at a
## time, so neither competes for the two cores with the other multi-process tests.
SIM_SEEDS ?= 1000
CHAOS_SECONDS ?= 70
test: deps lint
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-xctest --skip SimulationTests --skip ChaosTests --skip NodeLifetimeTests \
		--skip GracefulShutdownTests --skip MonthOfflineTests --skip StoreCrashTests
	$(SWIFT) test --skip-build --disable-xctest --filter NodeLifetimeTests
	$(SWIFT) test --skip-build --disable-xctest --filter GracefulShutdownTests
	$(SWIFT) test --skip-build --disable-xctest --filter MonthOfflineTests
	$(SWIFT) test --skip-build --disable-xctest --filter StoreCrashTests
	SAMBAT_CHAOS_SECONDS=$(CHAOS_SECONDS) $(SWIFT) test --skip-build --disable-xctest --filter ChaosTests
	SAMBAT_SIM_SEEDS=$(SIM_SEEDS) $(SWIFT) test --skip-build --disable-xctest --filter SimulationTests

## make test-long: everything in make test, with 10 minutes of chaos and 10,000 simulated worlds.
test-long:
	$(MAKE) test SIM_SEEDS=10000 CHAOS_SECONDS=600

## make test-only: run the tests without reinstalling or linting (for quick iterations).
test-only:
	$(SWIFT) test --disable-xctest

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift Benchmarks/Package.swift Benchmarks/Benchmarks

format:
	$(SWIFT) format --in-place --recursive Sources Tests Package.swift Benchmarks/Package.swift Benchmarks/Benchmarks

## make demo: central, four offices and the mayor as separate processes on loopback, with
## fresh keys and temporary data, fed the demo complaints; Ctrl-C stops them all.
## make demo ARGS=--exit runs the same story non-interactively and exits 0 only if every
## node converged.
demo: build
	@scripts/demo.sh $(ARGS)

## make bench: the package-benchmark suite (release build in Benchmarks/, never part of make test).
bench: deps
	cd Benchmarks && $(SWIFT) package --disable-sandbox benchmark

## make scale: a year of a city (1,000,000 cases, 10,000,000 ops) on this machine as separate
## processes, central, 60 offices and the mayor (release build; about half an hour; never part of
## make test). ARGS passes options to scripts/scale.py, e.g. ARGS="--cases 20000 --offices 6".
scale: deps
	$(SWIFT) build -c release --product sambat
	/usr/bin/python3 scripts/scale.py $(ARGS)

## make fuzz: a million mutated inputs (or FUZZ_ITERATIONS) for each target: the op, vector
## and envelope decoders and the config/reference YAML checks (release build); make test
## replays Tests/FuzzCorpus.
FUZZ_ITERATIONS ?= 1000000
fuzz: deps
	$(SWIFT) build -c release --product sambat-fuzz
	.build/release/sambat-fuzz run Tests/FuzzCorpus $(FUZZ_ITERATIONS) $(FUZZ_SEED)

## make bench-store: the store benchmark of docs/benchmarks.md (release build).
bench-store: deps
	$(SWIFT) build -c release --product sambat
	.build/release/sambat bench store $(ARGS)

## make profile ARGS="store --ops 20000 --cases 2000 --rounds 1": a callgrind profile of one `sambat bench`
## run (release build), in .build/callgrind.out, with the top functions by inclusive cost.
## Debian 12's valgrind reads neither the DWARF 5 that Swift writes nor an async main (see
## docs/benchmarks.md), so it runs a copy without debug info: functions keep their names,
## SQLite's included; lines do not. Instruction counts are exact and repeatable, unlike the
## wall-clock figures on this shared machine. Never part of make test.
PROFILE_ARGS ?= store --ops 20000 --cases 2000 --rounds 1
profile: deps
	@scripts/ensure-system-packages.sh valgrind
	$(SWIFT) build -c release --product sambat
	objcopy --strip-debug .build/release/sambat .build/sambat-profile
	valgrind --tool=callgrind --callgrind-out-file=.build/callgrind.out .build/sambat-profile bench $(or $(ARGS),$(PROFILE_ARGS))
	callgrind_annotate --inclusive=yes .build/callgrind.out | $(SWIFT) demangle --simplified | head -80

## make tsan: unit tests under ThreadSanitizer; run before submitting concurrency changes.
## On Linux TSan does not see Synchronization.Mutex (a futex it does not intercept): every
## access under such a lock is reported as a race, even in a trivially correct program
## (checked 2026-12-04). Read the reports for stacks outside Mutex.withLock.
tsan: deps
	$(SWIFT) test --disable-xctest --sanitize=thread --scratch-path .build-tsan

clean:
	rm -rf .build .build-tsan Benchmarks/.build
