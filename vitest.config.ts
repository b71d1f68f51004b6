import { defineConfig } from "vitest/config"

const packages = ["sim-core", "hardware", "vcpu-sched", "sandbox-kernel", "scenarios"]

export default defineConfig({
  test: {
    projects: [...packages.map((name) => ({
      test: {
        name,
        root: `packages/${name}`,
        include: ["test/**/*.test.ts"],
        setupFiles: ["../../vitest.setup.ts"],
        // Property tests run hundreds of simulations; on a loaded 2-core machine (CI) a few take
        // well over vitest's 5 s default. A hang still fails, after a minute.
        testTimeout: 60_000,
      },
    })), {
      // The repository's scripts (the campaigns); campaign fixtures are *.fixture.ts, never run here.
      test: { name: "scripts", root: "scripts", include: ["test/**/*.test.ts"], setupFiles: ["../vitest.setup.ts"], testTimeout: 60_000 },
    }],
  },
})
