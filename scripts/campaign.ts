/**
 * `npm run campaign -- <name> [flags]`: runs the campaign `scripts/campaign/<name>.ts` (which exports
 * `summary`, `usage` and `main(argv)` resolving to the exit code); with no name, lists them.
 * Long campaigns share the machine: run them as `nice -n 10 npm run campaign -- ...`.
 */
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"

interface Campaign {
  readonly summary: string
  readonly usage: string
  readonly main: (argv: readonly string[]) => Promise<number>
}

const dir = join(import.meta.dirname, "campaign")
const names = readdirSync(dir).filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3)).sort()
const load = async (name: string): Promise<Campaign> => (await import(pathToFileURL(join(dir, `${name}.ts`)).href)) as Campaign

const [name, ...rest] = process.argv.slice(2)
if (name === undefined || name === "--help" || name === "-h") {
  console.log("usage: npm run campaign -- <name> [flags]   (--help after a name for its flags)\n\ncampaigns:")
  for (const n of names) console.log(`  ${n.padEnd(12)} ${(await load(n)).summary}`)
} else if (!names.includes(name)) {
  console.error(`campaign: unknown campaign ${JSON.stringify(name)} (known: ${names.join(", ")})`)
  process.exitCode = 2
} else {
  const campaign = await load(name)
  if (rest.includes("--help") || rest.includes("-h")) console.log(campaign.usage)
  else process.exitCode = await campaign.main(rest)
}
