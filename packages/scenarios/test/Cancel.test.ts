/**
 * Cancelling runs (issue 11): SIGINT and SIGTERM stop a run or an experiment promptly, print how
 * far it got, remove every temporary file, leave earlier outputs untouched and exit 130/143; a
 * second Ctrl-C exits at once; npm and `timeout` leave no orphaned run; stale temporaries of a
 * killed run are removed by the next run writing there, never a live process's.
 *
 * Latency (within 100 ms) is a figure measured by `npm run bench -- cancel`, not asserted here
 * (a loaded machine would make a timed test flaky); these tests allow a few seconds.
 */
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..", "..", "..")
const main = join(import.meta.dirname, "../src/cli/main.ts")
const misuse = join(import.meta.dirname, "fixtures", "misuse")
const fresh = (): string => mkdtempSync(join(tmpdir(), "qvsim-cancel-"))

interface Ended { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; afterSignalMs: number }

/**
 * Starts `command args`, waits until its stderr or stdout matches `ready`, sends `signal` (to the
 * process, or with `group` to its whole process group), and resolves when it has ended.
 */
const interrupt = (command: string, args: string[], ready: RegExp | number, signal: NodeJS.Signals, options: { group?: boolean; env?: Record<string, string>; signalPid?: (pid: number) => number } = {}): Promise<Ended> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, detached: options.group === true, env: { ...process.env, ...options.env } })
    let stdout = "", stderr = "", sentAt = 0
    const watchdog = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`no readiness or no exit: ${stderr}`)) }, 90_000)
    const poke = () => {
      if (sentAt !== 0 || (typeof ready !== "number" && !ready.test(stdout + stderr))) return
      sentAt = performance.now()
      const pid = options.signalPid?.(child.pid!) ?? child.pid!
      process.kill(options.group === true ? -pid : pid, signal)
    }
    child.stdout.on("data", (d) => { stdout += d; poke() })
    child.stderr.on("data", (d) => { stderr += d; poke() })
    if (typeof ready === "number") setTimeout(poke, ready)
    child.on("exit", (code, sig) => {
      clearTimeout(watchdog)
      resolve({ code, signal: sig, stdout, stderr, afterSignalMs: performance.now() - sentAt })
    })
  })

const temporaries = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith(".tmp"))

describe("cancelling runs", { timeout: 120_000 }, () => {
  it("SIGINT mid-run: exit 130, one line saying how far it got, no temporaries, the earlier output untouched", async () => {
    const dir = fresh()
    const trace = join(dir, "t.jsonl")
    writeFileSync(trace, "earlier results\n")
    const r = await interrupt(process.execPath, [main, "run", "timers", "--until", "30000s", "--trace", trace, "--perfetto", join(dir, "p.json"), "--progress=always"], /events\/s/, "SIGINT")
    expect(r.code).toBe(130)
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(/^qvsim: interrupted \(SIGINT\) at [\d.]+s simulated of 30000s; nothing written$/)
    expect(r.afterSignalMs).toBeLessThan(5000)
    expect(readFileSync(trace, "utf8")).toBe("earlier results\n")
    expect(readdirSync(dir).sort()).toEqual(["t.jsonl"])
  })

  it("SIGTERM during an experiment: exit 143, the variant named, nothing written in its folder", async () => {
    const out = join(fresh(), "mp")
    const r = await interrupt(process.execPath, [main, "run", "message-passing", "--out", out, "--traces", "all", "--progress=always"], /events\/s/, "SIGTERM")
    expect(r.code).toBe(143)
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(/^qvsim: interrupted \(SIGTERM\) in variant \S+ \(\d+ of \d+ done\) at [\d.]+(?:ns|us|ms|s) simulated of [\d.]+(?:ns|us|ms|s); nothing written$/)
    expect(readdirSync(out)).toEqual([])
  })

  it("a second Ctrl-C exits at once, removing the temporaries, even when nothing checks the first", async () => {
    const dir = fresh()
    const target = join(dir, "out.jsonl")
    const child = spawn(process.execPath, [join(misuse, "hold-temporary.ts"), target], { cwd: root })
    let stderr = ""
    child.stderr.on("data", (d) => { stderr += d })
    await new Promise<void>((resolve) => child.stdout.on("data", (d) => { if (String(d).includes("ready")) resolve() }))
    expect(temporaries(dir)).toHaveLength(1)
    child.kill("SIGINT")
    await new Promise((r) => setTimeout(r, 300))
    expect(child.exitCode).toBeNull() // the first only sets the flag
    const ended = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
    child.kill("SIGINT")
    expect(await ended).toBe(130)
    expect(stderr).toMatch(/interrupted \(SIGINT, then SIGINT\); stopped at once, nothing written/)
    expect(readdirSync(dir)).toEqual([])
  })

  it("a busy-looping .ts scenario at load time is stopped by Ctrl-C", async () => {
    // 3 s: the CLI has started and is inside the module's loop.
    const r = await interrupt(process.execPath, [main, "run", join(misuse, "busy-loop.ts")], 3000, "SIGINT", { env: { QVSIM_LOAD_TIMEOUT_MS: "60000" } })
    // The signals keep their default action while inputs load: the process ends at once, by the signal.
    expect(r.signal).toBe("SIGINT")
    expect(r.afterSignalMs).toBeLessThan(5000)
  })

  it("a run started by npm ends when npm is killed (npm's shell does not pass the signal on): no orphan", async () => {
    const seed = String(1_000_000 + (process.pid % 1000))
    const r = await interrupt("npm", ["run", "--silent", "qvsim", "--", "run", "timers", "--until", "30000s", "--seed", seed, "--progress=always"], /events\/s/, "SIGTERM", { group: false })
    expect(r.code === 143 || r.signal === "SIGTERM").toBe(true)
    // The node process (grandchild of npm) must be gone within a few seconds.
    let alive = true
    for (let i = 0; i < 50 && alive; i++) {
      alive = spawnSync("pgrep", ["-f", "--", `--seed ${seed}`]).status === 0
      if (alive) await new Promise((res) => setTimeout(res, 100))
    }
    // A failure must not leave the orphan running: end it by its pid (this test started it).
    for (const pid of spawnSync("pgrep", ["-f", "--", `--seed ${seed}`], { encoding: "utf8" }).stdout.split("\n").filter((x) => x !== "")) process.kill(Number(pid), "SIGKILL")
    expect(alive).toBe(false)
  })

  it("under timeout (SIGTERM to the process group) npm run exits and leaves no qvsim process", () => {
    const seed = String(2_000_000 + (process.pid % 1000))
    // 3,000,000 s of timers: minutes of CPU, so the 6 s timeout always comes first (30,000 s now
    // runs in about 6-7 s on a quiet machine and sometimes finished before the timeout).
    const r = spawnSync("timeout", ["6", "npm", "run", "--silent", "qvsim", "--", "run", "timers", "--until", "3000000s", "--seed", seed], { cwd: root, encoding: "utf8" })
    expect(r.status).toBe(124)
    expect(r.stderr).toMatch(/qvsim: interrupted \(SIGTERM\) at .* simulated of 3000000s; nothing written/)
    expect(spawnSync("pgrep", ["-f", "--", `--seed ${seed}`]).status).toBe(1)
  })

  it("stale temporaries of a killed run are removed by the next run writing there, a live process's are kept", () => {
    const dir = fresh()
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout
    const stale = `.big.trace.jsonl.qvsim-${dead}.tmp`
    const live = `.other.jsonl.qvsim-${process.pid}.tmp`
    writeFileSync(join(dir, stale), "x".repeat(1000))
    writeFileSync(join(dir, live), "in progress")
    const r = spawnSync(process.execPath, [main, "run", "timers", "--until", "10ms", "--trace", join(dir, "t.jsonl")], { encoding: "utf8" })
    expect(r.status).toBe(0)
    expect(existsSync(join(dir, stale))).toBe(false)
    expect(existsSync(join(dir, live))).toBe(true)
    expect(readdirSync(dir).sort()).toEqual([live, "t.jsonl"])
  })
})
