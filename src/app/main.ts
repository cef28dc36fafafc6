/**
 * `npm run app -- [options]`: the same as `ts-embed app [options]` (src/cli/app.ts), in this one process, so
 * that SIGTERM reaches the server and it stops gracefully with exit status 0.
 */
import { main } from "../cli/main";

main(["app", ...process.argv.slice(2)]).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(1);
  },
);
