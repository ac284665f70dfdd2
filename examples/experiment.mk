# The make engine: every agent-step of an experiment prepared by
# examples/plan.sh is a target whose prerequisites are the files it reads,
# so `make -j N` runs whatever is ready (an agent may run ahead of agents it
# does not depend on), and a rerun after a crash or Ctrl-C redoes nothing
# that finished: every tool writes its output by rename, so a target either
# exists whole or not at all.
#
#   make -f examples/experiment.mk DIR=out/x [-j 2] [FIRST=1] [LAST=T]
#
# FIRST and LAST bound the iterations (default: all of the plan).  Files of
# iterations before FIRST-1 are not read, so a long run can go in chunks,
# deleting older iterations between them.

ifndef DIR
$(error give the experiment directory: make -f experiment.mk DIR=...)
endif
EXAMPLES_DIR := $(dir $(lastword $(MAKEFILE_LIST)))
# bash named outright: through the script's "#!/usr/bin/env bash" every
# agent-step would start env(1) too.
STEP := $(shell command -v bash) $(EXAMPLES_DIR)agent-step.sh $(DIR)
# Where the tools are, found once here rather than by every agent-step.
export CCL_BIN := $(or $(CCL_BIN),$(shell bash -c '. "$$1/ccl-bin.sh" && ccl_bin "$$1"' _ $(EXAMPLES_DIR)))
include $(DIR)/plan.mk
FIRST ?= 1
LAST ?= $(ITERATIONS)
AGENT_IDS := $(shell seq 0 $$(($(AGENTS) - 1)))
# "previous:current" iteration directory names for FIRST .. LAST, spelled
# as examples/plan.sh does.
PAIRS := $(shell seq $(FIRST) $(LAST) | awk '{printf "%06d:%06d\n", $$1 - 1, $$1}')
iter = $(DIR)/iter/$(1)

# Done when every agent's model and state of the last iteration exist (a
# step renames its model first: a model alone is a step cut short).
LAST_DIR := $(call iter,$(lastword $(subst :, ,$(lastword $(PAIRS)))))
all: $(foreach i,$(AGENT_IDS),$(LAST_DIR)/model-$(i).ccl $(LAST_DIR)/state-$(i).ccl)

# $(1) iteration, $(2) the one before, $(3) agent.
define agent_rules
$(call iter,$(1))/merged-$(3).ccl: $(call iter,$(2))/state-$(3).ccl \
		$(foreach j,$(NEIGHBOURS_$(3)),$(call iter,$(2))/model-$(j).ccl)
	$(STEP) merge $(1) $(3)

ifeq ($(METHOD),ccl)
$(foreach j,$(NEIGHBOURS_$(3)),$(call iter,$(1))/fs-$(3)-$(j).ccl) &: $(call iter,$(1))/merged-$(3).ccl \
		$(foreach j,$(NEIGHBOURS_$(3)),$(call iter,$(2))/model-$(j).ccl)
	$(STEP) featstat $(1) $(3)

$(call iter,$(1))/state-$(3).ccl $(call iter,$(1))/model-$(3).ccl &: $(call iter,$(1))/merged-$(3).ccl \
		$(foreach j,$(NEIGHBOURS_$(3)),$(call iter,$(2))/model-$(j).ccl $(call iter,$(1))/fs-$(j)-$(3).ccl)
	$(STEP) train $(1) $(3)
else
$(call iter,$(1))/state-$(3).ccl $(call iter,$(1))/model-$(3).ccl &: $(call iter,$(1))/merged-$(3).ccl
	$(STEP) train $(1) $(3)
endif
endef

$(foreach p,$(PAIRS),$(foreach i,$(AGENT_IDS), \
	$(eval $(call agent_rules,$(word 2,$(subst :, ,$(p))),$(word 1,$(subst :, ,$(p))),$(i)))))

.PHONY: all
