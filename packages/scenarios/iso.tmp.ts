import { runAll } from "./src/paper/Experiment.ts"
import { isolation } from "./src/paper/isolation.ts"
const { result } = runAll(isolation, { scale: Number(process.argv[2] ?? 0.2), checkInvariants: true })
for (const c of result.claims) console.log(c.holds ? "✓" : "✗", c.text.slice(0, 90), "\n   ", c.detail)
const t = result.tables.find((t) => t.title.startsWith("SMP Quest"))!
console.table(t.rows)
console.table(result.tables[0]!.rows.map(r => ({v: r["variant"], rc: r["receiver"], obs: r["observations"], steps: r["steps seen (step×count)"]})))
