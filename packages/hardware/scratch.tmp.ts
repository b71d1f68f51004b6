import { Rng, Simulation } from "@qvsim/sim-core"
import { Machine } from "./src/Machine.ts"
const N = 1 << 20
const machine = new Machine(new Simulation.Simulation(1))
const rng = Rng.stream(1, "x")
const first = machine.layout.sliceFirstFrame(1)
const gpas = new Float64Array(N), kinds = new Int32Array(N), gpns = new Int32Array(N)
for (let i = 0; i < N; i++) { gpns[i] = first + 130 + rng.int(0, 30000); gpas[i] = gpns[i]! * 4096 + 64; kinds[i] = rng.int(1, 2) }
const ept = machine.epts[1]!
const cores = machine.cores
const v1 = (core: number, gpa: number, kind: number) => cores[core]!.ept!.translate(gpa >>> 12, kind)
const v2 = (core: number, gpa: number, kind: number) => { const c = cores[core]!; if (c.inVmxRoot) throw 1; return c.ept!.translate(gpa >>> 12, kind) }
const v3 = (core: number, gpa: number, kind: number) => ept.translate(Math.floor(gpa / 4096), kind)
for (let k = 0; k < 6; k++) {
  let s = 0; let t = performance.now()
  for (let i = 0; i < N; i++) s += ept.translate(gpns[i]!, kinds[i]!)
  const a = performance.now() - t; t = performance.now()
  for (let i = 0; i < N; i++) s += v1(1, gpas[i]!, kinds[i]!)
  const b = performance.now() - t; t = performance.now()
  for (let i = 0; i < N; i++) s += v2(1, gpas[i]!, kinds[i]!)
  const c = performance.now() - t; t = performance.now()
  for (let i = 0; i < N; i++) s += v3(1, gpas[i]!, kinds[i]!)
  const d = performance.now() - t; t = performance.now()
  for (let i = 0; i < N; i++) s += machine.access(1, gpas[i]!, kinds[i]!)
  const e = performance.now() - t
  console.log([a, b, c, d, e].map((x) => (x * 1e6 / N).toFixed(1)).join(" "), s > 0)
}
const AS = 2 ** 32
const m = machine as any
const v4 = (core: number, gpa: number, kind: number) => {
  const c = m.cores[core]
  const e = c.guestEpt
  if (e === null || !(gpa >= 0 && gpa < AS)) throw new Error("x")
  const frame = e.translate(gpa >>> 12, kind)
  if (frame < 0) throw new Error("y")
  return frame
}
for (let k = 0; k < 6; k++) {
  let s = 0; let t = performance.now()
  for (let i = 0; i < N; i++) s += v4(1, gpas[i]!, kinds[i]!)
  const a = performance.now() - t; t = performance.now()
  for (let i = 0; i < N; i++) s += machine.access(1, gpas[i]!, kinds[i]!)
  const b = performance.now() - t
  console.log("v4", (a * 1e6 / N).toFixed(1), "access", (b * 1e6 / N).toFixed(1))
}
