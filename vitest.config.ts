import { defineConfig } from "vitest/config"

const packages = ["sim-core", "hardware", "vcpu-sched", "sandbox-kernel", "scenarios"]

export default defineConfig({
  test: {
    projects: packages.map((name) => ({
      test: {
        name,
        root: `packages/${name}`,
        include: ["test/**/*.test.ts"],
        setupFiles: ["../../vitest.setup.ts"],
      },
    })),
  },
})
