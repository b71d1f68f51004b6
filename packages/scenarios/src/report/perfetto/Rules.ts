/**
 * The rule table of the Perfetto export: how each trace record kind becomes trace events (a
 * scheduler decision, an instant, a counter sample, a slice, one end of a message). A record
 * kind a model adds needs one line in {@link RULES}; kinds not in it become instant events named
 * after the kind, on their subject's track, with every field in `args`.
 *
 * Invariants: a rule names only fields of its kind (a rule that does not fit falls back to the
 * default instant, with a warning: see `Compile.ts`); templates are `{field}` placeholders.
 *
 * @module
 */

/**
 * How one record becomes trace events. Names and track names are templates: `{field}` is
 * replaced by the field's label, symbol text or number. `track` defaults to the subject's name.
 */
export type Rule =
  /**
   * A scheduler decision: ends the slice running on the PCPU's schedule track and opens one
   * named after the VCPU (unless the same VCPU and thread go on; a negative VCPU is idle). A
   * slice is written when it ends, as an `X` dated by its start, with the opening record's args. The
   * VCPU's budget counter (`<vcpu> budget ms`) takes `budget` at dispatch and `budget − time
   * held` when it leaves the CPU (S1 charges wall time). The PCPU is field `pcpu`, or the scope.
   */
  | { readonly as: "dispatch"; readonly vcpu: string; readonly thread: string; readonly budget?: string; readonly pcpu?: string }
  /** An instant event; `scope` "process" or "global" draws it across the process or the trace. */
  | { readonly as: "instant"; readonly name: string; readonly track?: string; readonly scope?: "thread" | "process" | "global" }
  /** A counter sample of field `value` (× `scale`, default 1) on the process's counter `name`. */
  | { readonly as: "counter"; readonly name: string; readonly value: string; readonly scale?: number }
  /** Opens a slice (`B`); the next `end` on the same track closes it (or the end of the trace). */
  | { readonly as: "begin"; readonly name: string; readonly track?: string }
  /** Closes the innermost open slice of the track (`E`); ignored when none is open. */
  | { readonly as: "end"; readonly track?: string }
  /**
   * A slice that ends now (`X`, dated by its start): it began at field `start` (ns), or lasted
   * field `duration` (ns).
   */
  | { readonly as: "complete"; readonly name: string; readonly start?: string; readonly duration?: string; readonly track?: string }
  /**
   * One end of a message: a 1 ns slice and a flow event bound to it (`s` for `flowOut`, `f` with
   * `"bp":"e"` for `flowIn`, the trace-event format's flow events that Perfetto, chrome://tracing
   * and the DevTools trace engine all read), drawn as an arrow from the send to its receipt. The
   * key that pairs them is field `id`, or two fields `[a, b]` (integers, `b < 2^32`) combined as
   * `a · 2^32 + b`; which send a read's arrow starts from, and its flow id, is `Flows.ts`'s rule.
   */
  | { readonly as: "flowOut" | "flowIn"; readonly name: string; readonly id: string | readonly [string, string]; readonly track?: string }
  /** Writes nothing. */
  | { readonly as: "ignore" }

/**
 * Record kind → events, one line per kind (a model's new record kind adds its line here). Kinds
 * not listed become instants named after the kind on their subject's track.
 */
export const RULES: Readonly<Record<string, Rule | ReadonlyArray<Rule>>> = {
  // vcpu-sched harness (subject pcpu<i>, scope i)
  "sched.dispatch": { as: "dispatch", vcpu: "vcpu", thread: "thread", budget: "budget" },
  "job.release": { as: "instant", name: "release {thread}", track: "jobs" },
  "job.complete": { as: "instant", name: "complete {thread}", track: "jobs" },
  // sandbox-kernel (subject sandbox<s>, scope s)
  "k.dispatch": { as: "dispatch", pcpu: "pcpu", vcpu: "vcpu", thread: "thread", budget: "budget" },
  "k.job": { as: "instant", name: "job {thread}", track: "jobs" },
  "k.thread": { as: "instant", name: "{event} {thread}", track: "threads" },
  "mon.exit": { as: "instant", name: "monitor {action}" },
  "chan.send": { as: "flowOut", name: "send ch{channel} #{seq}", id: ["channel", "seq"], track: "channels" },
  "chan.seen": { as: "flowIn", name: "seen ch{channel} #{seq}", id: ["channel", "seq"], track: "channels" },
  "recovery.phase": { as: "complete", name: "{phase}", start: "startNs", track: "recovery" },
  "recovery.done": { as: "complete", name: "outage ({mode})", duration: "outageNs", track: "recovery outage" },
  "fault.inject": { as: "instant", name: "fault {what}", scope: "process" },
  "fault.write": { as: "instant", name: "wild write" },
  "mig.request": { as: "instant", name: "migrate {thread} → sandbox {to}" },
  "mig.attach": { as: "instant", name: "attached from sandbox {from}" },
  "drv.lag": { as: "counter", name: "NIC driver lag", value: "behind" },
  "net.echo": { as: "instant", name: "echo {seq}" },
  // hardware (subject core<i>, ept<s>, or global devices)
  "irq.deliver": { as: "instant", name: "irq {vector} {source}" },
  "irq.pending": { as: "instant", name: "irq pending {vector} {source}" },
  "ipi.send": { as: "instant", name: "ipi {vector} → {destMask}" },
  "core.vmexit": { as: "instant", name: "vm exit {reason}" },
  "ept.violation": { as: "instant", name: "EPT violation", scope: "process" },
  "ept.update": { as: "instant", name: "EPT {op}" },
  "nic.rx": { as: "instant", name: "rx" },
  "nic.tx": { as: "instant", name: "tx" },
  "nic.drop": { as: "instant", name: "drop {reason}" },
  "nic.reset": { as: "instant", name: "NIC reset" },
  "nic.up": { as: "instant", name: "NIC up" },
  // scenarios' timers model (subject timer/<name>, global)
  "timer.fire": { as: "instant", name: "fire" },
}
