/**
 * How the CLI prints help, versions and usage errors: usage errors as ONE line on stderr
 * (`qvsim run: Invalid value for flag --seed: "-1". Expected ...`), no help dump, no stack trace.
 */
import { Console, Layer } from "effect"
import { CliConfig, CliError, CliOutput, GlobalFlag } from "effect/cli"

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, " ").trim()

const describe = (e: CliError.CliError): string => {
  switch (e._tag) {
    case "UnknownSubcommand":
      return `unknown command "${e.subcommand}"` + (e.suggestions.length > 0 ? ` (did you mean ${e.suggestions.join(", ")}?)` : "")
    case "UnrecognizedOption":
      return `unknown flag ${e.option}` + (e.suggestions.length > 0 ? ` (did you mean ${e.suggestions.join(", ")}?)` : "")
    default:
      return oneLine(e.message)
  }
}

const base = CliOutput.defaultFormatter({ colors: false })
const formatter: CliOutput.Formatter = { ...base, formatError: (e) => `qvsim: ${oneLine(e.message)}` }

const presenter: CliOutput.Presenter = {
  present: (event) => {
    switch (event._tag) {
      case "Help":
        return Console.log(formatter.formatHelpDoc(event.helpDoc))
      case "Version":
        return Console.log(`${event.name} ${event.version}`)
      case "InvalidInvocation":
        return Console.error(`${event.commandPath.join(" ")}: ${event.errors.map(describe).join("; ")}`)
    }
  },
}

export const layer = Layer.mergeAll(
  CliOutput.layer(formatter),
  CliOutput.layerPresenter(presenter),
  CliConfig.layer({ builtIns: [GlobalFlag.Help, GlobalFlag.Version] }),
)
