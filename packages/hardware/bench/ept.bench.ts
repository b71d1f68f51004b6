/**
 * EPT-checked accesses per wall second: `Ept.translate` alone (the check), `Machine.access`
 * (check through the accessing core's loaded EPT), `Machine.write` (check + a 4-byte write into
 * the page's content hash), over pre-drawn random guest pages of a sandbox's own slice, the first
 * MiB and the 2–4 GiB region (all allowed: a violation is an exit, not a hot-path event). The flat
 * EPT (one `Int32Array` of 1 Mi entries per sandbox, as built) is compared with the hardware's
 * shape, a directory of 1024 entries over 1024-entry tables allocated where something is mapped
 * (the alternative the design asked to measure).
 *
 *   npx node packages/hardware/bench/ept.bench.ts
 */
import { Bench } from "tinybench"
import { Rng, Simulation } from "@qvsim/sim-core"
import { Machine } from "../src/Machine.ts"
import { Access } from "../src/Ept.ts"

const N = 1 << 20
const sim = new Simulation.Simulation(1)
const machine = new Machine(sim)
const ept = machine.epts[1]!
const rng = Rng.stream(1, "bench/ept")
const first = machine.layout.sliceFirstFrame(1)
const slicePages = machine.layout.sliceFrames(1) - machine.layout.eptAreaFrames
const gpns = new Int32Array(N)
const kinds = new Int32Array(N)
for (let i = 0; i < N; i++) {
  const r = rng.int(0, 9)
  gpns[i] = r < 7 ? first + 128 + rng.int(2, slicePages - 129) : r < 8 ? rng.int(0, 255) : rng.int(0x80000, 0x9efff)
  kinds[i] = rng.int(0, 1) === 0 ? Access.Read : Access.Write
}
const gpas = Float64Array.from(gpns, (g) => g * 4096 + 64)

// The two-level alternative: directory → offset of a 1024-entry table in one pool (-1 = empty).
const dir = new Int32Array(1024).fill(-1)
const chunks: number[] = []
for (let d = 0; d < 1024; d++) {
  for (let i = 0; i < 1024; i++) {
    if (ept.permsOf(d * 1024 + i) !== 0) {
      dir[d] = chunks.length * 1024
      chunks.push(d)
      break
    }
  }
}
const pool = new Int32Array(chunks.length * 1024)
chunks.forEach((d, k) => {
  for (let i = 0; i < 1024; i++) {
    const g = d * 1024 + i
    pool[k * 1024 + i] = ept.permsOf(g) === 0 ? 0 : ept.frameOf(g) * 8 + ept.permsOf(g)
  }
})
const twoLevel = (gpn: number, need: number): number => {
  const base = dir[gpn >>> 10]!
  if (base < 0) return -1
  const e = pool[base + (gpn & 1023)]!
  return (e & need) === need && e !== 0 ? e >>> 3 : -1
}
for (let i = 0; i < 4096; i++) {
  if (twoLevel(gpns[i]!, kinds[i]!) !== ept.translate(gpns[i]!, kinds[i]!)) throw new Error("two-level table disagrees")
}

let sink = 0
export const rows: Array<Record<string, string | number>> = []
const bench = new Bench({ time: 1500, warmup: true })
bench
  .add("Ept.translate (flat, as built)", () => {
    let s = 0
    for (let i = 0; i < N; i++) s += ept.translate(gpns[i]!, kinds[i]!)
    sink += s
  })
  .add("two-level directory + tables (alternative)", () => {
    let s = 0
    for (let i = 0; i < N; i++) s += twoLevel(gpns[i]!, kinds[i]!)
    sink += s
  })
  .add("Machine.access (core's EPT, guest-mode check)", () => {
    let s = 0
    for (let i = 0; i < N; i++) s += machine.access(1, gpas[i]!, kinds[i]!)
    sink += s
  })
  .add("Machine.write 4 B (check + content hash)", () => {
    let s = 0
    for (let i = 0; i < N; i++) s += machine.write(1, gpas[i]!, 4, i) ? 1 : 0
    sink += s
  })
await bench.run()
for (const task of bench.tasks) {
  const r = task.result
  if (r.state !== "completed") throw new Error(`${task.name}: ${r.state}`)
  rows.push({ operation: task.name, "M accesses/s": +((N / r.latency.mean) * 1000 / 1e6).toFixed(1), "ns/access": +((r.latency.mean * 1e6) / N).toFixed(2) })
}
if (machine.cores[1]!.eptViolations !== 0) throw new Error("benchmark accesses must all be allowed")

if (import.meta.main) {
  console.log(`EPT-checked accesses: ${N.toLocaleString("en-US")} random allowed accesses per sample (70 % own slice, 10 % first MiB, 20 % 2-4 GiB; reads and writes); sink ${sink !== 0}`)
  console.table(rows)
  console.log(`EPT memory per sandbox: flat 4 MiB; two-level ${((4096 + pool.byteLength) / 1024 / 1024).toFixed(1)} MiB for ${ept.presentPages().toLocaleString("en-US")} present pages`)
}
