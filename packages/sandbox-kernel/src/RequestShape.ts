/**
 * The one runtime shape of every request `Program` builds (issue 15: "give requests one shape"):
 * a record with every field any request has, each at its neutral value unless the request sets
 * it. The kernel's dispatch reads `op` (and the handlers their fields) from requests of a single
 * hidden class, so those property loads stay monomorphic however many kinds of request a run mixes;
 * the typed views (`Program.Compute`, `Program.Send`, …) are what programs and handlers see.
 *
 * Invariants: every field is initialised here, in this order, with a value of its final type, so
 * setting fields after construction never changes the shape; requests are not frozen (a frozen
 * object has another hidden class); a module's own request (a registered op) may have any shape.
 *
 * NOTE: the cost is memory: a request is about 230 bytes instead of 30–60; programs build most
 * requests once and yield them many times.
 *
 * @module
 */
import type { Program, ThreadContext } from "./Program.ts"

export class RequestShape {
  op: number
  ns = 0
  localNs = 0
  cycles = 0
  gpa = 0
  size = 0
  value = 0
  length = 0
  fill = 0
  classMask = 0
  workNs = 0
  delayNs = 0
  wait = false
  channel = ""
  bytes = 0
  type = 0
  program: Program | null = null
  pages = 0
  name = ""
  code = 0
  pid = 0
  number = 0
  sandbox = 0
  costNs = 0
  fn: ((ctx: ThreadContext) => unknown) | null = null
  count = 0

  constructor(op: number) {
    this.op = op
  }
}
