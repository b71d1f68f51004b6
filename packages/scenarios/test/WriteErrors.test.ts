/**
 * Streamed outputs are checked for write errors (issue 11): a disk that fills up mid-run (ENOSPC,
 * simulated by failing `fs.writeSync` after some bytes, as /dev/full would) ends the run with a
 * one-line bad-input error naming the file (exit 2), and no file is left behind: neither the
 * temporary nor the target. Short writes are completed.
 */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it, vi } from "vitest"

const disk = vi.hoisted(() => ({ freeBytes: Infinity, written: 0, shortWrites: false }))

vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>()
  // Only the form the outputs use: writeSync(fd, buffer, offset, length).
  const writeSync = ((fd: number, buffer: Uint8Array, offset: number, length: number): number => {
    if (disk.written + length > disk.freeBytes) {
      throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28, syscall: "write" })
    }
    // A short write: at most 1000 bytes at a time (the caller must loop).
    const n = disk.shortWrites ? Math.min(length, 1000) : length
    disk.written += n
    return fs.writeSync(fd, buffer, offset, n)
  }) as unknown as typeof fs.writeSync
  return { ...fs, default: { ...fs, writeSync }, writeSync }
})

const { RunOutputs } = await import("../src/report/Outputs.ts")
const Runner = await import("../src/Runner.ts")
const { parseScenario } = await import("../src/Scenario.ts")
const { fromUnknown } = await import("../src/cli/Errors.ts")
const timers = (await import("../src/builtins/timers.ts")).default

const header = { type: "header" as const, qvsim: "0.1.0", scenario: { name: "timers", hash: "0000000000000000", source: "timers" }, seed: 1, options: {} }

const runWithTrace = (dir: string): unknown => {
  const scenario = parseScenario(timers, "timers")
  const outputs = RunOutputs.open({ trace: join(dir, "t.jsonl"), perfetto: join(dir, "p.json"), scenario, header })
  try {
    const prepared = Runner.prepare(scenario, { untilNs: 2_000_000_000, sinks: outputs.sinks })
    outputs.bind(prepared)
    Runner.execute(prepared)
    return undefined
  } catch (e) {
    outputs.abort()
    return e
  }
}

describe("write errors", () => {
  it("ENOSPC mid-run: exit 2, one line naming the file, nothing left behind", () => {
    const dir = mkdtempSync(join(tmpdir(), "qvsim-enospc-"))
    disk.freeBytes = 200_000
    disk.written = 0
    const e = runWithTrace(dir)
    disk.freeBytes = Infinity
    expect(e).toBeDefined()
    const exit = fromUnknown(e)
    expect(exit.code).toBe(2)
    expect(exit.message).toMatch(/^cannot write .*\/(t\.jsonl|p\.json): no space left on the device \(ENOSPC\)$/)
    expect(readdirSync(dir)).toEqual([])
  })

  it("short writes are completed: the trace is whole", () => {
    const dir = mkdtempSync(join(tmpdir(), "qvsim-short-"))
    disk.shortWrites = true
    const scenario = parseScenario(timers, "timers")
    const outputs = RunOutputs.open({ trace: join(dir, "t.jsonl"), scenario, header })
    const prepared = Runner.prepare(scenario, { untilNs: 200_000_000, sinks: outputs.sinks })
    outputs.bind(prepared)
    const summary = Runner.execute(prepared)
    disk.shortWrites = false
    return outputs.finish(summary).then(() => {
      const lines = readFileSync(join(dir, "t.jsonl"), "utf8").trim().split("\n")
      expect(lines).toHaveLength(summary.records + 1)
      for (const l of lines) JSON.parse(l)
    })
  })
})
