/**
 * The cluster tests: packages/scenarios/test-slurm/*.test.ts, against the Slurm cluster that
 * scripts/test-slurm.sh (`npm run test:slurm`) starts and stops around them; not part of
 * `npm test`. Files run one at a time (they share one small cluster).
 */
import { defineConfig } from "vitest/config"

if ((process.env["SLURM_CONF"] ?? "") === "" || (process.env["QVSIM_SLURM_DIR"] ?? "") === "") {
  throw new Error("vitest.slurm.config.ts: no test cluster (SLURM_CONF, QVSIM_SLURM_DIR unset): run the cluster tests with `npm run test:slurm`")
}

export default defineConfig({
  test: {
    name: "slurm",
    include: ["packages/scenarios/test-slurm/*.test.ts"],
    setupFiles: ["./vitest.setup.ts"],
    fileParallelism: false,
    testTimeout: 300_000,
  },
})
