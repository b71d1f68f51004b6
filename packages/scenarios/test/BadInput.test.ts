/**
 * Every mistake is caught at load time (issue 11): each input below once passed validation and
 * ended in an "internal error", an "invariant violated" (exit 3), a hang or a crash. Each must now
 * be refused with ONE line naming the field path and the offending value (exit 2). In-process
 * through `parseScenario` (what `qvsim run` does first), and through the CLI for files that are
 * not files, programs that misbehave and modules that never finish loading.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { parseScenario } from "../src/Scenario.ts"

const main = join(import.meta.dirname, "../src/cli/main.ts")
const misuse = join(import.meta.dirname, "fixtures", "misuse")

const qvsim = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 60_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}
const fresh = (): string => mkdtempSync(join(tmpdir(), "qvsim-bad-"))

/** The one-line message `parseScenario` refuses `input` with. */
const refusal = (input: unknown): string => {
  try {
    parseScenario(input, "x.json")
  } catch (e) {
    return (e as Error).message
  }
  throw new Error(`accepted: ${JSON.stringify(input).slice(0, 200)}`)
}

const system = (s: Record<string, unknown>) => ({ name: "p", duration: "1s", system: s })
const mailbox = { kind: "mailbox", name: "c", between: [0, 1] }
const sendJob = (bytes: number) => ({ name: "t", vcpu: 0, job: { steps: [{ send: { channel: "c", bytes } }] } })

describe("bad inputs are refused at load time, naming the field and the value", () => {
  it.each([
    ["a ping host's intervalNs: 0", system({ hosts: [{ kind: "ping", target: 0, intervalNs: 0 }] }), "system.hosts[0].intervalNs: must be greater than 0 (got 0)"],
    ["a misspelt key of a ping host", system({ hosts: [{ kind: "ping", target: 0, intervalNss: 5 }] }), 'system.hosts[0]: unknown key "intervalNss" (did you mean "interval"?)'],
    ["a flood ping that would exhaust the frame store", system({ hosts: [{ kind: "ping", target: 0, mode: "flood", floodIntervalNs: 1 }] }), "system.hosts[0].floodIntervalNs: 1 ns is shorter than one 98-byte frame on the wire"],
    ["a job step naming a channel its sandbox is not on", system({ channels: [mailbox], sandboxes: [{}, {}, { threads: [sendJob(10)] }, {}] }), 'system.sandboxes[2].threads[0].job.steps[0].send.channel: channel "c" is between sandboxes "sandbox0" and "sandbox1", not "sandbox2"'],
    ["bytes above a mailbox's 64", system({ channels: [mailbox], sandboxes: [{ threads: [sendJob(100)] }, {}, {}, {}] }), 'system.sandboxes[0].threads[0].job.steps[0].send.bytes: 100 bytes do not fit mailbox "c" (64 bytes)'],
    ["a job step naming no channel at all", system({ sandboxes: [{ threads: [sendJob(10)] }, {}, {}, {}] }), 'send.channel: no channel named "c" (the system has no channels)'],
    ["a period of 2^53−1 (system)", system({ sandboxes: [{ vcpus: [{ budgetNs: 1000, periodNs: 2 ** 53 - 1 }] }, {}, {}, {}] }), "system.sandboxes[0].vcpus[0].periodNs: 9007199254740991 ns is beyond the time range"],
    ["a period of 2^53−1 (PCPUs)", { name: "p", duration: "1s", pcpus: [{ vcpus: [{ name: "a", budget: "1ms", period: 2 ** 53 - 1 }] }] }, "pcpus[0].vcpus[0].period: 9007199254740991 ns is beyond the time range"],
    ["unsorted explicit arrivals", { name: "p", duration: "1s", pcpus: [{ vcpus: [{ name: "a", budget: "1ms", period: "10ms" }], threads: [{ name: "t", vcpu: "a", arrivals: { kind: "explicit", at: ["5ms", "1ms"] }, job: [{ compute: "1ms" }] }] }] }, "pcpus[0].threads[0].arrivals.at[1]: 1000000 ns is before the previous release (5000000 ns)"],
    ["a wild write past 4 GiB", system({ faults: [{ kind: "wildWrite", sandbox: 0, atNs: 1000, writes: [{ gpa: 2 ** 32 - 1, bytes: 8 }] }] }), "system.faults[0].writes[0].bytes: 8 bytes at gpa 4294967295 end past the 32-bit guest-physical space"],
    ["a wild write into a slice, past 4 GiB", system({ faults: [{ kind: "wildWrite", sandbox: 0, atNs: 1000, writes: [{ sandbox: 1, offset: 2 ** 32 - 1, bytes: 8 }] }] }), "system.faults[0].writes[0].offset: 8 bytes at offset 4294967295 of sandbox 1's slice"],
    ["a misspelt key in system.scheduler", system({ scheduler: { quantumz: 5 } }), 'system.scheduler: unknown key "quantumz" (did you mean "quantum'],
    ["a bad value in system.scheduler", system({ scheduler: { quantumNs: 0 } }), "system.scheduler.quantumNs: must be ≥ 1 (got 0)"],
    ["a misspelt key in system.machine", system({ machine: { corez: 2 } }), 'system.machine: unknown key "corez" (did you mean "cores"?)'],
    ["a misspelt key at the top", { name: "p", duration: "1s", sytem: {} }, '(root): unknown key "sytem" (did you mean "system"?)'],
    ["two ping hosts with the same name", system({ hosts: [{ kind: "ping", name: "a", target: 0 }, { kind: "ping", name: "a", target: 1 }] }), 'system.hosts[1].name: duplicate host name "a" (hosts.0 has it)'],
    ["two VCPUs of a sandbox with the same name", system({ sandboxes: [{ vcpus: [{ name: "v", budgetNs: 1, periodNs: 10 }, { name: "v", budgetNs: 1, periodNs: 10 }] }, {}, {}, {}] }), 'system.sandboxes[0].vcpus[1].name: duplicate VCPU name "v"'],
    ["two threads of a PCPU with the same name", { name: "p", duration: "1s", pcpus: [{ vcpus: [{ name: "a", budget: "1ms", period: "10ms" }], threads: [{ name: "t", vcpu: "a", arrivals: { kind: "periodic", period: "10ms" }, job: [{ compute: "1ms" }] }, { name: "t", vcpu: "a", arrivals: { kind: "periodic", period: "20ms" }, job: [{ compute: "1ms" }] }] }] }, 'pcpus[0].threads[1].name: duplicate thread name "t" (threads[0] has it)'],
    ["a scenario duration beyond the time range", { name: "p", duration: 2 ** 51, sources: [] }, "duration: 2251799813685248 ns is beyond the time range"],
    ["20,000-deep nesting", { name: "p", duration: "1s", description: JSON.parse(`${"[".repeat(20_000)}${"]".repeat(20_000)}`) }, "expected string"],
  ])("%s", (_what, input, expected) => {
    const message = refusal(input)
    expect(message.split("\n")).toHaveLength(1)
    expect(message).toContain(expected)
  })

  it("a cyclic or 20,000-deep value is refused before it is hashed or validated (no stack overflow)", async () => {
    const { checkShape } = await import("../src/Input.ts")
    const deep = JSON.parse(`${"[".repeat(20_000)}${"]".repeat(20_000)}`)
    expect(checkShape({ a: deep })).toMatch(/^a\[0\]\[0\].*: nested more than 64 levels deep$/)
    const cyclic: Record<string, unknown> = { name: "x" }
    cyclic["self"] = { back: cyclic }
    expect(checkShape(cyclic)).toBe("self.back: refers back to itself (a cycle)")
    // Shared (acyclic) references are fine.
    const shared = { x: 1 }
    expect(checkShape({ a: shared, b: [shared, shared] })).toBeUndefined()
  })
})

describe("through the CLI: exit 2, one line", { timeout: 120_000 }, () => {
  const oneLine = (r: { code: number | null; stderr: string }, code: number, pattern: RegExp) => {
    // The whole standard error in the message: a second line seen once under load (full npm test,
    // load ~4) could not be reproduced, so a failure must show it.
    expect(r.stderr.trim().split("\n"), `stderr:\n${r.stderr}`).toHaveLength(1)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(r.stderr.trim()).toMatch(pattern)
    expect(r.code).toBe(code)
  }

  it("a FIFO or a device as a scenario or a trace is refused before a byte is read (no hang, no out-of-memory)", () => {
    const dir = fresh()
    const fifo = join(dir, "fifo.json")
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0)
    oneLine(qvsim(["run", fifo]), 2, /scenario file .*fifo\.json is a FIFO \(named pipe\); give a regular file$/)
    symlinkSync("/dev/zero", join(dir, "zero.json"))
    oneLine(qvsim(["run", join(dir, "zero.json")]), 2, /zero\.json is a device; give a regular file$/)
    oneLine(qvsim(["replay", "/dev/zero"]), 2, /trace file \/dev\/zero is a device; give a regular file$/)
    oneLine(qvsim(["replay", fifo]), 2, /is a FIFO/)
  })

  it("files above the size limit, and trace lines above the line limit, are refused", () => {
    const dir = fresh()
    const big = join(dir, "big.json")
    writeFileSync(big, JSON.stringify({ name: "big", duration: "1s", description: "x".repeat(5000) }))
    oneLine(qvsim(["run", big], { QVSIM_MAX_SCENARIO_BYTES: "1000" }), 2, /big\.json is 5\d{3} bytes, above the limit of 1000 bytes \(set QVSIM_MAX_SCENARIO_BYTES to raise it\)$/)
    const deep = join(dir, "deep.json")
    writeFileSync(deep, `{"name":"deep","duration":"1s","x":${"[".repeat(20_000)}${"]".repeat(20_000)}}`)
    oneLine(qvsim(["run", deep]), 2, /invalid scenario .*deep\.json: x\[0\]\[0\].*: nested more than 64 levels deep$/)
    const noNewline = join(dir, "t.jsonl")
    writeFileSync(noNewline, "x".repeat(3000))
    oneLine(qvsim(["replay", noNewline], { QVSIM_MAX_LINE_BYTES: "1000" }), 2, /t\.jsonl:1: a line longer than 1000 bytes/)
  })

  it("a .ts scenario that does not finish loading is reported, not waited on forever", () => {
    const r = qvsim(["run", join(misuse, "busy-loop.ts")], { QVSIM_LOAD_TIMEOUT_MS: "1500" })
    oneLine(r, 2, /busy-loop\.ts did not finish loading within 1\.5 s/)
  })

  it("a program's misuse is exit 2 naming the thread: an async program at load time, a null request at run time", () => {
    oneLine(qvsim(["run", join(misuse, "async-program.ts")]), 2, /system\.sandboxes\[0\]\.threads\[0\]\.program: must be a generator function \(function\*\), not an async one/)
    oneLine(qvsim(["run", join(misuse, "yields-null.ts")]), 2, /sandbox 0 thread "confused": yielded null, which is not a request .*\(at t=\d+ns\)$/)
  })

  it("a misspelt ping host key through the CLI names the field (the detail is no longer lost)", () => {
    const dir = fresh()
    const f = join(dir, "p.json")
    writeFileSync(f, JSON.stringify(system({ hosts: [{ kind: "ping", target: 0, intervalNs: 0 }] })))
    oneLine(qvsim(["run", f]), 2, /system\.hosts\[0\]\.intervalNs: must be greater than 0 \(got 0\)$/)
  })
})
