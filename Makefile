# lazaret — a thin wrapper around Meson/Ninja. See README.md.
#   make        build build/lazaretd and build/lazaretctl (dependencies must be present)
#   make run    install missing dependencies, build, run lazaretd on etc/lazaret.conf
#               (creating its store in var/ on the first run)
#   make test   install missing dependencies, build, run every test (also under ASan+UBSan)
#   make fuzz   build the libFuzzer targets with clang (build-fuzz/)
#   make bench  install the peers and run the benchmarks in bench/
#   make deb    build lazaret_VERSION_amd64.deb in $(BUILD)/deb/ (debian/, dpkg-buildpackage)

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
CONF       ?= etc/lazaret.conf

.PHONY: all build deps test-deps bench-deps deb-deps run test unit-test asan-test integration-test fuzz bench deb clean

all: build

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzzer=true -Dtests=false -Db_sanitize=address,undefined -Db_lundef=false

deps:
	scripts/install-deps.sh build

test-deps:
	scripts/install-deps.sh test

bench-deps:
	scripts/install-deps.sh bench

deb-deps:
	scripts/install-deps.sh deb

# --init-store: a fresh clone has no store yet; an existing one is opened as always
run: deps build
	exec $(BUILD)/lazaretd --init-store -c $(CONF)

unit-test: build
	meson test -C $(BUILD) --print-errorlogs

asan-test: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C $(ASAN_BUILD) --print-errorlogs
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		tests/integration/run-all.sh $(ASAN_BUILD) test_daemon test_garden test_postfix_delivery test_hostile test_store test_policy_port test_subjects test_analyze test_analyze_order test_api_access test_privsep test_analyze_names test_postfix_accounts test_corpus test_flows test_radius test_radius_coa test_dhcp_netns test_reports test_dovecot_logins test_roundcube_logins test_report_mail test_shared_store

integration-test: build
	tests/integration/run-all.sh $(BUILD)

test: test-deps
	$(MAKE) unit-test
	$(MAKE) asan-test
	$(MAKE) integration-test

fuzz: $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)

bench: bench-deps build
	bench/run.sh $(BUILD)

deb: deb-deps
	scripts/make-deb.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
