/**
 * The human-readable run summary printed by `qvsim run` (the `--json` form is the object itself).
 */
import { Time } from "@qvsim/sim-core"
import type { Summary } from "./Runner.ts"

const flatten = (value: unknown, prefix: string, out: Array<[string, string]>): void => {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix === "" ? k : `${prefix}.${k}`, out)
  } else {
    out.push([prefix, Array.isArray(value) ? JSON.stringify(value) : String(value)])
  }
}

/** Metric rows, `a.b.c  value`, in insertion order. */
export const metricRows = (metrics: Record<string, unknown>): Array<[string, string]> => {
  const out: Array<[string, string]> = []
  flatten(metrics, "", out)
  return out
}

export const format = (s: Summary & { readonly wallMs: number }): string => {
  const rate = s.wallMs > 0 ? Math.round(s.events / (s.wallMs / 1000)) : 0
  const rows = metricRows(s.metrics)
  const width = Math.max(0, ...rows.map(([k]) => k.length))
  return [
    `scenario     ${s.scenario} (seed ${s.seed})`,
    `simulated    ${Time.show(s.simTimeNs)} in ${s.wallMs.toFixed(0)} ms wall (${s.events.toLocaleString("en-US")} events, ${rate.toLocaleString("en-US")} events/s)`,
    `stopped by   ${s.stopReason}`,
    `fingerprint  ${s.fingerprint}`,
    ...(rows.length > 0 ? ["metrics", ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)] : []),
  ].join("\n")
}
