/**
 * EPT-checked accesses per wall second: `Ept.translate` alone (the check), `Machine.access`
 * (check through the accessing core's loaded EPT), `Machine.write` (check + a 4-byte write into
 * the page's content hash), over pre-drawn random guest pages of a sandbox's own slice, the first
 * MiB and the 2–4 GiB region (all allowed: a violation is an exit, not a hot-path event). The EPT
 * as built (issue 15: a directory over 1024-entry tables shared copy-on-write) is compared with
 * the flat `Int32Array` of 1 Mi entries per sandbox it replaced.
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

// The flat alternative (the representation before issue 15): one Int32Array of 1 Mi entries.
const flatEntries = new Int32Array(1 << 20)
for (let g = 0; g < 1 << 20; g++) {
  const perms = ept.permsOf(g)
  if (perms !== 0) flatEntries[g] = ept.frameOf(g) * 8 + perms
}
const flat = (gpn: number, need: number): number => {
  const e = flatEntries[gpn]!
  return (e & need) === need && e !== 0 ? e >>> 3 : -1
}
for (let i = 0; i < 4096; i++) {
  if (flat(gpns[i]!, kinds[i]!) !== ept.translate(gpns[i]!, kinds[i]!)) throw new Error("flat table disagrees")
}

let sink = 0
export const rows: Array<Record<string, string | number>> = []
const bench = new Bench({ time: 1500, warmup: true })
bench
  .add("Ept.translate (two-level, shared tables, as built)", () => {
    let s = 0
    for (let i = 0; i < N; i++) s += ept.translate(gpns[i]!, kinds[i]!)
    sink += s
  })
  .add("flat 1 Mi-entry array (alternative, before issue 15)", () => {
    let s = 0
    for (let i = 0; i < N; i++) s += flat(gpns[i]!, kinds[i]!)
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
  console.log(`EPT memory per sandbox: flat 4 MiB; two-level ${ept.ownedTables()} own tables (${ept.ownedTables() * 4} KiB) + a 1024-entry directory, the rest shared, for ${ept.presentPages().toLocaleString("en-US")} present pages`)
}
