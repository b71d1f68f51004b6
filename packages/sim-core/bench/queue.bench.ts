/**
 * Push+pop pairs per second ("hold" model: pop the earliest event, push one a random integer
 * time later) at 1,000 and 100,000 pending events, for the qvsim EventQueue against heap-js and
 * flatqueue. Batched: each sample is HOLDS operations.
 *
 * Fairness notes: qvsim and heap-js keep the full (time, priority, seq) total order (heap-js with
 * an object per event and a comparator, which is how one would get that order from it);
 * flatqueue orders by a single number and breaks ties arbitrarily, so it does strictly less.
 *
 *   npx node packages/sim-core/bench/queue.bench.ts
 */
import FlatQueue from "flatqueue"
import { Heap } from "heap-js"
import { Bench } from "tinybench"
import { EventQueue } from "../src/EventQueue.ts"
import { Rng } from "../src/index.ts"

const HOLDS = 10_000
const rng = Rng.stream(1, "bench/queue")
const increments = Float64Array.from({ length: 1 << 16 }, () => rng.int(1, 1_000_000))
let sink = 0

interface Ev { time: number; priority: number; seq: number }
const byKey = (a: Ev, b: Ev): number => a.time - b.time || a.priority - b.priority || a.seq - b.seq

export const rows: Array<Record<string, string | number>> = []

for (const pending of [1_000, 100_000]) {
  const qv = new EventQueue(pending * 2)
  const hp = new Heap<Ev>(byKey)
  const fq = new FlatQueue<number>()
  let seq = 0
  for (let i = 0; i < pending; i++) {
    const t = increments[i & 0xffff]!
    qv.push(t, i & 3, 1, i)
    hp.push({ time: t, priority: i & 3, seq: seq++ })
    fq.push(i, t)
  }
  let k = 0
  const bench = new Bench({ time: 1000, warmup: true })
  bench
    .add(`qvsim EventQueue`, () => {
      for (let i = 0; i < HOLDS; i++) {
        qv.pop()
        qv.push(qv.time + increments[k++ & 0xffff]!, k & 3, qv.handler, qv.a0)
      }
      sink += qv.time
    })
    .add(`heap-js (object + comparator)`, () => {
      for (let i = 0; i < HOLDS; i++) {
        const e = hp.pop()!
        hp.push({ time: e.time + increments[k++ & 0xffff]!, priority: k & 3, seq: seq++ })
      }
      sink += hp.peek()!.time
    })
    .add(`flatqueue (time only, no tie order)`, () => {
      for (let i = 0; i < HOLDS; i++) {
        const t = fq.peekValue()!
        const id = fq.pop()!
        fq.push(id, t + increments[k++ & 0xffff]!)
      }
      sink += fq.peekValue()!
    })
  await bench.run()
  for (const task of bench.tasks) {
    const r = task.result
    if (r.state !== "completed") throw new Error(`${task.name}: ${r.state}`)
    rows.push({ pending, queue: task.name, "M pairs/s": +((HOLDS / r.latency.mean) * 1000 / 1e6).toFixed(2), "ns/pair": +((r.latency.mean * 1e6) / HOLDS).toFixed(1), samples: r.latency.samplesCount })
  }
}

if (import.meta.main) {
  console.log("EventQueue: push+pop pairs per second (hold model)")
  console.table(rows)
  if (sink === 42) console.log("")
}
