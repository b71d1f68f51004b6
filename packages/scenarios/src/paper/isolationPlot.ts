/**
 * The isolation experiment's figure (Figure 10's analogue, Vega-Lite): each receiver's sequence
 * numbers over its own time axis, per variant, and sandbox 0's ICMP replies, with the recovery
 * shaded. Kept apart from the experiment (`isolation.ts`), which measures and states the claims.
 *
 * @module
 */
import { RECEIVERS, type IsolationRun } from "./isolation.ts"

const MS = 1_000_000
const S = 1_000_000_000

/**
 * The sequence numbers a receiver saw, unwrapped: the mailbox carries them mod 255, so each
 * observation adds its step mod 255 to the previous one (a wrap is not a fall back to 0). A
 * corrupted read (0xFF) is not a sequence number: it is kept at the previous value and marked.
 */
export const unwrapSeqs = (points: ReadonlyArray<{ readonly seq: number; readonly corrupted: boolean }>): number[] => {
  const out: number[] = []
  let last = -1
  let unwrapped = 0
  for (const p of points) {
    if (!p.corrupted) {
      unwrapped = last < 0 ? p.seq : unwrapped + ((p.seq - last + 255) % 255)
      last = p.seq
    }
    out.push(unwrapped)
  }
  return out
}

const PALETTE = ["#4c78a8", "#e45756", "#54a24b", "#f58518"]
const DASHES = [[1, 0], [5, 3], [2, 2], [8, 3, 2, 3]]

/**
 * Figure 10's analogue: one panel per receiver (its own time axis: the receivers poll at 100, 800
 * and 1000 ms, so their runs last differently), the sequence number it saw, unwrapped, per
 * variant (one colour each, the faulty run dashed over the fault-free one), corrupted reads
 * marked; then the ICMP replies of sandbox 0 per variant. Shaded: sandbox 0's recovery.
 */
export const plot = (runs: readonly IsolationRun[]): Record<string, unknown> => {
  // One colour (and dash) per variant, in variant order.
  const variants = runs.map((r) => r.variant)
  const VARIANT_COLOURS = { domain: variants, range: variants.map((_, i) => PALETTE[i % PALETTE.length]!) }
  const faults = runs.flatMap((r) => (r.recovery === null ? [] : [{ variant: r.variant, fromS: r.recovery.startNs / S, toS: r.recovery.endNs / S }]))
  const panel = (sandbox: number, pollNs: number): Record<string, unknown> => {
    const seen = runs.flatMap((r) => {
      const t = r.timelines.find((x) => x.sandbox === sandbox)
      if (t === undefined) return []
      const seqs = unwrapSeqs(t.points)
      return t.points.map((p, i) => ({ variant: r.variant, tS: p.localNs / S, seq: seqs[i]!, raw: p.seq, corrupted: p.corrupted }))
    })
    const xMax = Math.max(0.001, ...seen.map((p) => p.tS))
    const x = { field: "tS", type: "quantitative", title: "receiver's local time (s)", scale: { domain: [0, xMax] } }
    return {
      title: `receiver sandbox ${sandbox} (polls every ${pollNs / MS} ms)`,
      width: 760,
      height: 150,
      layer: [
        ...(sandbox === 0 && faults.length > 0 ? [{
          data: { values: faults },
          mark: { type: "rect", opacity: 0.15, color: "#e45756", clip: true },
          encoding: { x: { field: "fromS", type: "quantitative", scale: { domain: [0, xMax] } }, x2: { field: "toS" }, tooltip: [{ field: "variant" }, { field: "fromS", title: "recovery from (s)", format: ",.3f" }, { field: "toS", title: "to (s)", format: ",.3f" }] },
        }] : []),
        {
          data: { values: seen },
          transform: [{ filter: "!datum.corrupted" }],
          mark: { type: "line", point: { size: 14, filled: true }, strokeWidth: 1.25 },
          encoding: {
            x,
            y: { field: "seq", type: "quantitative", title: "sequence no. (unwrapped)" },
            color: { field: "variant", type: "nominal", title: "variant", scale: VARIANT_COLOURS },
            strokeDash: { field: "variant", type: "nominal", title: "variant", scale: { domain: variants, range: variants.map((_, i) => DASHES[i % DASHES.length]!) } },
            tooltip: [{ field: "variant" }, { field: "tS", title: "time (s)", format: ",.6~f" }, { field: "raw", title: "sequence no. read (mod 255)" }, { field: "seq", title: "unwrapped" }],
          },
        },
        {
          data: { values: seen },
          transform: [{ filter: "datum.corrupted" }],
          mark: { type: "point", shape: "cross", filled: true, size: 110, color: "#b00020" },
          encoding: { x, y: { field: "seq", type: "quantitative" }, tooltip: [{ field: "variant" }, { field: "tS", title: "time (s)", format: ",.6~f" }, { value: "corrupted read (0xFF)" }] },
        },
      ],
    }
  }
  const replies = runs.flatMap((r) => r.replyTimesNs.map((t) => ({ variant: r.variant, tS: t / S })))
  const rMax = Math.max(0.001, ...replies.map((p) => p.tS))
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Sandbox isolation: the sequence number each receiver saw and the ICMP replies of sandbox 0, per variant (Figure 10 analogue; × a corrupted read, shaded: sandbox 0's recovery)",
    resolve: { scale: { x: "independent" } },
    vconcat: [
      ...RECEIVERS.map((r) => panel(r.sandbox, r.pollNs)),
      {
        title: "ICMP echo replies of sandbox 0",
        width: 760,
        height: 50,
        layer: [
          ...(faults.length > 0 ? [{ data: { values: faults }, mark: { type: "rect", opacity: 0.15, color: "#e45756", clip: true }, encoding: { x: { field: "fromS", type: "quantitative", scale: { domain: [0, rMax] } }, x2: { field: "toS" } } }] : []),
          {
            data: { values: replies },
            mark: { type: "tick", thickness: 1.5 },
            encoding: {
              x: { field: "tS", type: "quantitative", title: "time (s)", scale: { domain: [0, rMax] } },
              y: { field: "variant", type: "nominal", title: null, scale: { domain: VARIANT_COLOURS.domain } },
              color: { field: "variant", type: "nominal", title: "variant", scale: VARIANT_COLOURS },
              tooltip: [{ field: "variant" }, { field: "tS", title: "reply at (s)", format: ",.6~f" }],
            },
          },
        ],
      },
    ],
  }
}

