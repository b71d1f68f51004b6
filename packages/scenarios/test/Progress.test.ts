/**
 * The progress line (`cli/Progress.ts`): its text (simulated time against the run's end, whole
 * percent, events/s and an ETA, three significant digits) and when it draws: `never`; `auto` on a
 * terminal only; `always` off a terminal at most one line per 5 s (a fake clock drives it).
 */
import type { Simulation } from "@qvsim/sim-core"
import { describe, expect, it } from "vitest"
import * as Progress from "../src/cli/Progress.ts"

const sim = (now: number, events: number) => ({ now, events }) as unknown as Simulation.Simulation

describe("the progress line", () => {
  it("reads as a person would say it", () => {
    expect(Progress.lineText(12_345_678_901, 51_000_000_000, 2_469_135, 2_000)).toBe("12.3 s of 51 s simulated (24%), 1.23 M events/s, ETA 6 s")
    expect(Progress.lineText(4_500_000, 0, 900, 1_500)).toBe("4.5 ms simulated, 600 events/s")
    expect(Progress.lineText(1_000_000_000, 100_000_000_000, 10, 60_000)).toBe("1 s of 100 s simulated (1%), 0 events/s, ETA 1.65 h")
    expect([Progress.sig3(0.0123456), Progress.sig3(987.65), Progress.sig3(12345), Progress.eta(5_400_000 * 2)]).toEqual(["0.0123", "988", "12345", "3 h"])
  })

  const drive = (mode: Progress.Mode, tty: boolean, json = false) => {
    let t = 0
    const lines: string[] = []
    const p = Progress.make({ mode, tty, json, now: () => t, write: (s) => lines.push(s) })
    // A 60 s run, a slice every 100 ms of wall time.
    for (let i = 1; i <= 600; i++) {
      t = i * 100
      p.onSlice(sim(i * 1e8, i * 1000), 600 * 1e8)
    }
    p.done()
    return lines
  }

  it("off a terminal: always draws one line per 5 s at most; auto and never draw nothing", () => {
    const lines = drive("always", false)
    expect(lines.length).toBe(12) // from 1 s on, every 5 s: 1, 6, ..., 56 s
    expect(lines.every((l) => l.endsWith("\n") && !l.includes("\r"))).toBe(true)
    expect(lines[0]).toMatch(/^ {2}1 s of 60 s simulated \(1%\), 10 k events\/s, ETA 59 s\n$/)
    expect(drive("auto", false)).toEqual([])
    expect(drive("never", false)).toEqual([])
    expect(drive("never", true)).toEqual([])
  })

  it("on a terminal: auto redraws in place every 250 ms at most and clears the line at the end; --json silences auto only", () => {
    const lines = drive("auto", true)
    expect(lines.length).toBe(Math.floor((60_000 - 1_000) / 300) + 2) // slices every 100 ms, redraws ≥ 250 ms apart, + the clear
    expect(lines.slice(0, -1).every((l) => l.startsWith("\r") && !l.includes("\n"))).toBe(true)
    expect(lines.at(-1)!.trim()).toBe("")
    expect(drive("auto", true, true)).toEqual([])
    expect(drive("always", false, true).length).toBe(12)
  })
})
