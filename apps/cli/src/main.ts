/** Entry of the CLI bundle (dist/apps/cli/main.js): runs the command line it was started with. */
import { formatError } from './format';
import { main } from './program';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`${formatError(e)}\n`);
    process.exitCode = 1;
  },
);
