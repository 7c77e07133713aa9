/**
 * `rpctl schema report`: the JSON Schema of the JSON report of plan, apply and drift
 * (schemas/report.schema.json in the repository is this output; `npm run schema` regenerates it).
 */
import { reportJsonSchema } from '../../report/json.js';
import type { CommandModule } from '../program.js';

export const schemaCommands: CommandModule = {
  register(program, ctx) {
    const schema = program.command('schema').description('print the JSON Schemas of what rpctl prints');
    schema
      .command('report')
      .description('the JSON Schema of the --format json report of plan, apply and drift')
      .addHelpText(
        'after',
        `
Every JSON report carries "schemaVersion"; a change that breaks readers raises it.

Examples:
  rpctl schema report > report.schema.json
  rpctl drift -i inventories/prod.yaml --format json | jq .schemaVersion`,
      )
      .action(() => {
        ctx.io.stdout.write(`${JSON.stringify(reportJsonSchema(), null, 2)}\n`);
      });
  },
};
