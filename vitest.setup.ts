/**
 * Test set-up shared by every vitest project: one fast-check seed per test file, taken from
 * `FC_SEED` when set (to replay a failure) or drawn fresh, and printed so any run can be replayed:
 *
 *   FC_SEED=123456 npm test
 *
 * fast-check also prints the seed and shrink path of every failing property.
 */
import fc from "fast-check"
import { beforeAll } from "vitest"

const fromEnv = process.env["FC_SEED"]
const seed = fromEnv !== undefined && fromEnv !== "" ? Number(fromEnv) : (Math.random() * 0x7fffffff) | 0
if (!Number.isSafeInteger(seed)) throw new Error(`FC_SEED=${fromEnv}: not an integer`)

fc.configureGlobal({ seed })

beforeAll(() => {
  console.log(`[fast-check] seed ${seed} (replay with FC_SEED=${seed})`)
})
