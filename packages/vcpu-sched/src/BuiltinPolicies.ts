/**
 * The built-in Main-VCPU policies, registered in this order (the schema enums list them so):
 * `sporadic` (Quest's corrected sporadic server, the default), `posixNaive` (§B.1, for the
 * defects of §B.2), `deferrable` (deferrable server). A new built-in is one file exporting its
 * `policy` and one line here; a user's own policy registers itself from a scenario file
 * (`Policy.register`, or a scenario's `policies` field).
 *
 * @module
 */
import { policy as deferrable } from "./DeferrableServer.ts"
import { policy as sporadic } from "./MainVcpu.ts"
import { registerBuiltin } from "./Policy.ts"
import { policy as posixNaive } from "./PosixSporadicServer.ts"

registerBuiltin(sporadic)
registerBuiltin(posixNaive)
registerBuiltin(deferrable)
