/**
 * A program written as an iterator instead of a generator function: `Program.Program` may return
 * a `Steps` whose `step(resumed)` gives the next request (`resumed`: what the previous request
 * returned), or undefined at the end. The kernel resumes it as it resumes a generator
 * (`next(result)`), the same requests in the same order as the generator function it stands for.
 *
 * Why: a program that steps millions of times (message-passing's two sides: 2.6 M round trips at
 * paper size) pays per step a generator's resumption and a fresh `{ value, done }`; a `Steps`
 * reuses one result object (the kernel reads a step's result before it asks for the next one:
 * `Dispatch.runCurrent`/`lookAhead`). The kernel calls `Steps.next` from a call site of its own
 * (`Thread.steps`), so that its generators' call site keeps seeing generators only.
 * NOTE: issue 15. message-passing's sides as generator functions vs as `Steps` (in-process A/B,
 * scale 0.1, 20 rounds per load order, CPU median ratios): 0.891 / 0.918 through the generators'
 * call site, 0.889 / 0.905 through this one; through one shared site, quest-linux run after
 * message-passing in the same process read 1.05 in both orders (its generator calls lost their
 * single target), about 1.0 with the sites apart.
 *
 * @module
 */
import type { Request } from "./Program.ts"

export abstract class Steps implements Generator<Request, unknown, unknown> {
  private readonly r: { value: Request | undefined; done: boolean } = { value: undefined, done: false }

  /** The next request, or undefined at the end (`resumed`: what the previous request returned). */
  protected abstract step(resumed: unknown): Request | undefined

  next(resumed?: unknown): IteratorResult<Request, unknown> {
    const r = this.r
    if (!r.done) {
      const req = this.step(resumed)
      if (req === undefined) r.done = true
      r.value = req
    }
    return r as IteratorResult<Request, unknown>
  }

  return(value?: unknown): IteratorResult<Request, unknown> {
    this.r.done = true
    this.r.value = undefined
    return { value, done: true }
  }

  throw(e?: unknown): IteratorResult<Request, unknown> {
    this.r.done = true
    this.r.value = undefined
    throw e
  }

  [Symbol.iterator](): this {
    return this
  }

  [Symbol.dispose](): void {
    this.return()
  }
}
