#!/usr/bin/env bash
# The cluster tests (`npm run test:slurm`), kept out of `npm test` because they need a service npm
# does not install: starts a real single-node Slurm cluster on this machine with Debian's slurmctld,
# slurmd and munged (scripts/slurm-local.sh; packages slurm-wlm and munge, which .ci/run installs),
# runs vitest.slurm.config.ts over packages/scenarios/test-slurm/*.test.ts, and stops the daemons
# (by PID) whatever the tests did. Extra arguments go to vitest (e.g. a test file, -t NAME).
# Exit status: vitest's; 1 if the cluster cannot start (with the failing daemon's log).
#
# What a test file in packages/scenarios/test-slurm/ can rely on (its process environment; jobs
# submitted with sbatch's default --export=ALL inherit it too):
# - SLURM_CONF          the cluster's slurm.conf: `sbatch`, `squeue`, `scontrol`, `sinfo`, `scancel`
#                       from PATH (/usr/bin) talk to this cluster and no other.
# - QVSIM_SLURM_DIR     the cluster's directory (mode 700, removed after a green run, kept with
#                       its logs in log/ after a red one): put job scripts and outputs under it.
# - PATH                node_modules/.bin first, so `node` (in the test and in jobs) is the
#                       project's Node 24 and `.ts` runs as in `npm test`.
# - the working directory is the checkout's root (jobs: pass `--chdir` or use absolute paths).
# The cluster: one node `qvsim1` with this machine's CPUs (2 here), one partition `qvsim` (the
# default), no time limit; tasks beyond the CPUs wait in the queue. No accounting: `sacct` does
# not work; use `sbatch --wait` (its exit status is the highest of an array's tasks) or `squeue`.
# Test files run one at a time (they share the cluster); each test may take up to 5 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

dir=$(mktemp -d "${TMPDIR:-/tmp}/qvsim-slurm-XXXXXX")
finish() {
  local status=$?
  scripts/slurm-local.sh stop "$dir" || status=1
  if [ "$status" -eq 0 ]; then
    rm -rf "$dir"
  else
    echo "test-slurm: failed (status $status); the cluster's files and logs are in $dir" >&2
  fi
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

scripts/slurm-local.sh start "$dir"
# shellcheck source=/dev/null
source "$dir/env"
vitest run --config vitest.slurm.config.ts "$@"
